"""Stock moves as single conditional UPDATEs, so two buyers can never take the same unit."""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlmodel.ext.asyncio.session import AsyncSession

from shop.adapters.prepared import Prepared, Statements
from shop.adapters.tables import Product, table_of


_products = table_of(Product)
_RESERVE = Prepared(
    update(_products)
    .where(_products.c.sku == bindparam("b_sku"),
           _products.c.on_hand - _products.c.reserved >= bindparam("b_quantity"))
    .values(reserved=_products.c.reserved + bindparam("b_quantity"))
)  # prepared once on the Core table: the order path only binds values


async def reserve(db: Statements, sku: str, quantity: int) -> bool:
    """Hold `quantity` units for an order; False when fewer are free (RS-V.5.6)."""
    return await db.execute(_RESERVE, b_sku=sku, b_quantity=quantity) == 1


async def release(session: AsyncSession, sku: str, quantity: int) -> None:
    """Give back units held by a line that will not ship (cancelled, unavailable)."""
    await session.exec(
        update(Product).where(Product.sku == sku).values(reserved=Product.reserved - quantity)
    )


async def ship(session: AsyncSession, sku: str, quantity: int) -> None:
    """Held units leave the warehouse."""
    await session.exec(
        update(Product)
        .where(Product.sku == sku)
        .values(reserved=Product.reserved - quantity, on_hand=Product.on_hand - quantity)
    )
