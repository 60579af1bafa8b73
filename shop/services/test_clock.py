"""The test clock of STOREFRONT-API.md (SHOP_ENV=test only): one row, read by the server and the
make tasks alike (shop.adapters.stores.clock)."""

from __future__ import annotations

from datetime import datetime

from shop.adapters.stores import clock
from shop.services.context import ShopContext


async def set_test_clock(ctx: ShopContext, now: datetime) -> None:
    await ctx.db.transaction(lambda uow: clock.set_test_clock(uow.connection, now))


async def clear_test_clock(ctx: ShopContext) -> None:
    await ctx.db.transaction(lambda uow: clock.clear_test_clock(uow.connection))
