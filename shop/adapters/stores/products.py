"""The one writer of the catalogue's products and their stock. Stock moves as single conditional
UPDATEs, so two buyers can never take the same unit (RS-V.5.6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from shop.adapters.tables import Product, table_of

_products = table_of(Product)
_RESERVE = (update(_products)
            .where(_products.c.sku == bindparam("b_sku"),
                   _products.c.on_hand - _products.c.reserved >= bindparam("b_quantity"))
            .values(reserved=_products.c.reserved + bindparam("b_quantity")))
_RELEASE = (update(_products).where(_products.c.sku == bindparam("b_sku"))
            .values(reserved=_products.c.reserved - bindparam("b_quantity")))
_SHIP = (update(_products).where(_products.c.sku == bindparam("b_sku"))
         .values(reserved=_products.c.reserved - bindparam("b_quantity"),
                 on_hand=_products.c.on_hand - bindparam("b_quantity")))


class ProductStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def reserve(self, sku: str, quantity: int) -> bool:
        """Hold `quantity` units for an order; False when fewer are free (RS-V.5.6)."""
        return self._db.execute(_RESERVE, {"b_sku": sku, "b_quantity": quantity}).rowcount == 1

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

    def add_missing(self, products: Sequence[dict[str, Any]]) -> tuple[int, int]:  # (added by actions)
        """Products (rows of `products`) whose SKU is not there yet, in one statement: (added, already there)."""
        existing = set(self._db.execute(select(_products.c.sku)).scalars())
        missing = [product for product in products if product["sku"] not in existing]
        if missing:
            self._db.execute(insert(_products), missing)
        return len(missing), len(existing)
