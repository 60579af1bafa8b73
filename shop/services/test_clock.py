"""The test clock of STOREFRONT-API.md (SHOP_ENV=test only)."""

from __future__ import annotations

from datetime import datetime

from shop.adapters.tables import TestClock
from shop.services.context import ShopContext


async def set_test_clock(ctx: ShopContext, now: datetime) -> None:
    async with ctx.sessions() as session, session.begin():
        row = await session.get(TestClock, 1, with_for_update=True)
        if row is None:
            session.add(TestClock(id=1, now=now))
        else:
            row.now = now
            session.add(row)


async def clear_test_clock(ctx: ShopContext) -> None:
    async with ctx.sessions() as session, session.begin():
        row = await session.get(TestClock, 1)
        if row is not None:
            await session.delete(row)
