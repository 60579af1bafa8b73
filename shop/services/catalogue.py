"""The catalogue and its stock (RS-III.1, RS-V.5.5, RS-V.5.8, RS-VII.13, RS-VII.14)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import bindparam, case
from sqlmodel import select

from shop.adapters.prepared import Prepared, Row, driver_reads
from shop.adapters.tables import Product, table_of
from shop.domain.errors import Conflict, InvalidInput, NotFound
from shop.domain.markets import Market
from shop.services.context import ShopContext


_products = table_of(Product)
_free_units = _products.c.on_hand - _products.c.reserved
_CATALOGUE = Prepared(
    select(*(column for column in _products.c if column.key not in ("on_hand", "reserved", "requires_imei")),
           case((_free_units > 0, _free_units), else_=0).label("available"))
    .where(_products.c.market == bindparam("market")).order_by(_products.c.sku))


async def list_products(ctx: ShopContext, market: Market) -> list[Row]:
    """The market's products with their free units as `available`, as they stand now (RS-V.5.6:
    what the catalogue shows is what an order can hold). On SQLite the rows are kept and served
    again while the database is unchanged: the process's one connection counts its own writes
    (`total_changes`, committed or not) and SQLite counts every other connection's commits, other
    processes' too (`PRAGMA data_version`); both are read on the event loop's thread, where every
    statement of that connection runs, without taking it from the pool. On PostgreSQL, one
    prepared statement on the driver each time."""
    key = (id(ctx.engine), market.value)
    kept = _kept.get(key)
    if kept is not None and kept[0] == _unchanged_since(kept[2]):
        return kept[1]
    async with driver_reads(ctx.engine) as db:
        version = _unchanged_since(db.sqlite)  # before the read: a write after it changes the version
        rows = await db.fetch(_CATALOGUE, market=market.value)
    if version is not None:
        _kept[key] = (version, rows, db.sqlite)
    return rows


_kept: dict[tuple[int, str], tuple[tuple[int, int], list[Row], sqlite3.Connection | None]] = {}


def _unchanged_since(connection: sqlite3.Connection | None) -> tuple[int, int] | None:
    """What changes whenever the SQLite database does: its other connections' commits, this
    connection's writes. None on PostgreSQL, or once the connection is closed."""
    if connection is None:
        return None
    try:
        (data_version,) = connection.execute("PRAGMA data_version").fetchone()
    except sqlite3.Error:  # closed (the pool replaced it): read afresh
        return None
    return data_version, connection.total_changes


async def set_stock(ctx: ShopContext, sku: str, on_hand: int) -> Product:
    """Staff count the units on hand; units reserved by open orders are never given away twice,
    so a count below them is refused until those orders are settled."""
    if on_hand < 0:
        raise InvalidInput("invalid_stock", "in_stock must not be negative", field="in_stock")
    async with ctx.sessions() as session, session.begin():
        product = (await session.exec(select(Product).where(Product.sku == sku).with_for_update())).one_or_none()
        if product is None:
            raise NotFound("product_not_found", f"no product {sku!r}")
        if on_hand < product.reserved:
            raise Conflict("stock_below_reserved",
                           f"{product.reserved} units are reserved by open orders; count at least that many "
                           "or settle those orders first", clause="RS-V.5.6")
        product.on_hand = on_hand
        session.add(product)
    return product
