"""The catalogue and its stock (RS-III.1, RS-V.5.5, RS-V.5.8, RS-VII.13, RS-VII.14)."""

from __future__ import annotations

from typing import Any

from shop.adapters.kept_reads import KeptReads
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.errors import Conflict, InvalidInput, NotFound
from shop.domain.markets import Market
from shop.services.context import ShopContext

_catalogues = KeptReads()


async def list_products(ctx: ShopContext, market: Market) -> list[Any]:
    """The market's products with their free units as `available`, as they stand now (RS-V.5.6:
    what the catalogue shows is what an order can hold); on SQLite served again while the database
    is unchanged (shop.adapters.kept_reads)."""
    return await _catalogues.read(ctx.db, market.value, lambda uow: uow.products.catalogue(market.value))


async def set_stock(ctx: ShopContext, sku: str, on_hand: int) -> Any:
    """Staff count the units on hand; the product's row as written."""
    if on_hand < 0:
        raise InvalidInput("invalid_stock", "in_stock must not be negative", field="in_stock")
    return await ctx.db.transaction(lambda uow: _count(uow, sku, on_hand))


def _count(uow: UnitOfWork, sku: str, on_hand: int) -> Any:
    """Units reserved by open orders are never given away twice (RS-V.5.6), so a count below them
    is refused until those orders are settled."""
    product = uow.products.to_count(sku)
    if product is None:
        raise NotFound("product_not_found", f"no product {sku!r}")
    if on_hand < product.reserved:
        raise Conflict("stock_below_reserved",
                       f"{product.reserved} units are reserved by open orders; count at least that many "
                       "or settle those orders first", clause="RS-V.5.6")
    return uow.products.count(sku, on_hand)
