"""The catalogue and its stock (RS-III.1, RS-V.5.5, RS-V.5.8, RS-VII.13, RS-VII.14)."""

from __future__ import annotations

from sqlalchemy import bindparam, case
from sqlmodel import select

from shop.adapters.kept_reads import KeptReads
from shop.adapters.prepared import Prepared, Row
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
    what the catalogue shows is what an order can hold); on SQLite served again while the database
    is unchanged (shop.adapters.kept_reads)."""
    return await _catalogues.read(ctx.engine, market.value,
                                  lambda db: db.fetch(_CATALOGUE, market=market.value))


_catalogues = KeptReads()


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
