"""The one writer of the catalogue's products and their stock. Stock moves as single conditional
UPDATEs, so two buyers can never take the same unit (RS-V.5.6). The catalogue's reads, and the facts
a quote is priced with (RS-III.3); an order's, with the customer's units (RS-V.5.5), are read by
shop.adapters.stores.offers.

Statements are built once, here: building a SQLAlchemy expression costs more (about 150 µs) than
SQLite takes to run it. One statement per SKU, not `IN (…)`: an order has one or a few SKUs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.engine import Connection, Row

from shop.adapters.stores import fast
from shop.adapters.tables import Product, table_of

_products = table_of(Product)
_free_units = _products.c.on_hand - _products.c.reserved
available_units = case((_free_units > 0, _free_units), else_=0).label("available")
"""A product's free units, never below 0 (also read by shop.adapters.stores.offers)."""
# The order path's and the catalogue's statements run on the driver (shop.adapters.stores.fast).
_CATALOGUE = fast.Statement(
    select(*(column for column in _products.c if column.key not in ("on_hand", "reserved", "requires_imei")),
           available_units)
    .where(_products.c.market == bindparam("market")).order_by(_products.c.sku))
_FACTS = fast.Statement(select(*_products.c, available_units).where(_products.c.sku == bindparam("sku")))
_TO_COUNT = select(_products).where(_products.c.sku == bindparam("sku")).with_for_update()
_COUNTED = (update(_products).where(_products.c.sku == bindparam("b_sku"))
            .values(on_hand=bindparam("b_on_hand")).returning(*_products.c))
_RESERVE = fast.Statement(
    update(_products)
    .where(_products.c.sku == bindparam("b_sku"), _products.c.on_hand - _products.c.reserved >= bindparam("b_quantity"))
    .values(reserved=_products.c.reserved + bindparam("b_quantity")))
_RELEASE = (update(_products).where(_products.c.sku == bindparam("b_sku"))
            .values(reserved=_products.c.reserved - bindparam("b_quantity")))
_SHIP = (update(_products).where(_products.c.sku == bindparam("b_sku"))
         .values(reserved=_products.c.reserved - bindparam("b_quantity"),
                 on_hand=_products.c.on_hand - bindparam("b_quantity")))
_RESTOCK = (update(_products).where(_products.c.sku == bindparam("b_sku"))
            .values(on_hand=_products.c.on_hand + bindparam("b_quantity")))


class ProductStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def reserve(self, sku: str, quantity: int) -> bool:
        """Hold `quantity` units for an order; False when fewer are free (RS-V.5.6)."""
        return fast.run(self._db, _RESERVE, {"b_sku": sku, "b_quantity": quantity}).rowcount == 1

    def release(self, units: Mapping[str, int]) -> None:
        """Give back units held by lines that will not ship (cancelled, unavailable), by SKU; in a
        fixed order, so two transactions never wait for each other in a circle."""
        for sku in sorted(units):
            if units[sku]:
                self._db.execute(_RELEASE, {"b_sku": sku, "b_quantity": units[sku]})

    def ship(self, units: Mapping[str, int]) -> None:
        """Held units leave the warehouse."""
        for sku in sorted(units):
            self._db.execute(_SHIP, {"b_sku": sku, "b_quantity": units[sku]})

    def restock(self, units: Mapping[str, int]) -> None:
        """Units come back to the warehouse, resaleable (a return received, RS-VII.8)."""
        for sku in sorted(units):
            if units[sku]:
                self._db.execute(_RESTOCK, {"b_sku": sku, "b_quantity": units[sku]})

    # --- the catalogue, and the facts an order is checked with -----------------------------------
    def catalogue(self, market: str) -> list[Row[Any]]:
        """The market's products with their free units as `available` (no stock counts)."""
        return fast.run(self._db, _CATALOGUE, {"market": market})

    def facts(self, skus: Iterable[str]) -> dict[str, Row[Any]]:
        """The rows of these SKUs that exist, each with its free units as `available` (a quote's; an
        order's, with the customer's units, are shop.adapters.stores.offers')."""
        found: dict[str, Row[Any]] = {}
        for sku in dict.fromkeys(skus):
            row = fast.run(self._db, _FACTS, {"sku": sku}).first()
            if row is not None:
                found[sku] = row
        return found

    def to_count(self, sku: str) -> Row[Any] | None:
        """The product, locked until the staff's count is written (or None)."""
        return self._db.execute(_TO_COUNT, {"sku": sku}).first()

    def count(self, sku: str, on_hand: int) -> Row[Any]:
        """Staff's count of the units on hand; the row as written."""
        return self._db.execute(_COUNTED, {"b_sku": sku, "b_on_hand": on_hand}).one()

    def add_missing(self, products: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """Products (rows of `products`) whose SKU is not there yet, in one statement: (added, already there)."""
        existing = set(self._db.execute(select(_products.c.sku)).scalars())
        missing = [product for product in products if product["sku"] not in existing]
        if missing:
            self._db.execute(insert(_products), missing)
        return len(missing), len(existing)
