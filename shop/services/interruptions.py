"""Announced technical interruptions (RS-IV.4): staff announce a market's interruption, call it off
before it begins or end it early; the storefront reads the ones to show. The rule for new orders is
in shop.domain.interruptions, applied by shop.services.checkout with the offer's read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.interruptions import (
    INTERRUPTION, InterruptionState, check_announcement, check_call_off, check_end,
)
from shop.domain.markets import Market
from shop.services.context import ShopContext
from shop.services.pages import cut, unknown_cursor


async def announce(ctx: ShopContext, market: Market, *, starts_at: datetime | None, ends_at: datetime, notice: str,
                   actor: str) -> Any:
    """RS-IV.4: from `starts_at` (now when None) to `ends_at`, the market takes no new orders."""
    def work(uow: UnitOfWork) -> Any:
        now = uow.now()
        begins = now if starts_at is None else starts_at
        check_announcement(begins, ends_at, now, overlapping=uow.interruptions.overlaps(market.value, begins, ends_at))
        transition = INTERRUPTION.start("announce", InterruptionState.ANNOUNCED)
        return uow.interruptions.add({
            "id": str(uuid.uuid4()), "market": market.value, "state": transition.to_state.value,
            "starts_at": begins, "ends_at": ends_at, "announced_ends_at": ends_at, "notice": notice.strip(),
            "announced_by": actor, "announced_at": now})

    return await ctx.db.transaction(work)


async def call_off(ctx: ShopContext, interruption_id: str, *, actor: str) -> Any:
    """An interruption not yet begun will not happen: orders are taken as before."""
    def work(uow: UnitOfWork) -> Any:
        interruption = uow.interruptions.get(interruption_id, lock=True)
        transition = INTERRUPTION.fire(interruption.state, "call_off")
        now = uow.now()
        check_call_off(interruption.starts_at, now)
        return uow.interruptions.move(interruption, transition, closed_by=actor, closed_at=now)

    return await ctx.db.transaction(work)


async def end(ctx: ShopContext, interruption_id: str, *, actor: str) -> Any:
    """An interruption in effect is over now, before its announced end: orders are taken again."""
    def work(uow: UnitOfWork) -> Any:
        interruption = uow.interruptions.get(interruption_id, lock=True)
        transition = INTERRUPTION.fire(interruption.state, "end")
        now = uow.now()
        check_end(interruption.starts_at, interruption.ends_at, now)
        return uow.interruptions.move(interruption, transition, ends_at=now, closed_by=actor, closed_at=now)

    return await ctx.db.transaction(work)


async def to_show(ctx: ShopContext, market: Market) -> tuple[datetime, list[Any]]:
    """What the storefront shows (RS-IV.4, the notice on the website): the market's interruptions
    upcoming or in effect now, the soonest first, with the instant they were judged at."""
    return await ctx.db.read(lambda uow: (now := uow.now(), uow.interruptions.not_over(market.value, now)))


async def of_market(ctx: ShopContext, market: Market, *, limit: int, after: str | None = None
                    ) -> tuple[datetime, list[Any], bool]:
    """A page of the market's interruptions for staff, the latest first: at most `limit`, those after
    the interruption `after` (none of this market: 422 naming `after`); the instant they were judged
    at, and whether more follow."""
    def page(uow: UnitOfWork) -> tuple[datetime, list[Any], bool]:
        if after is not None and not uow.interruptions.known_in(market.value, after):
            raise unknown_cursor(f"interruption of {market.value}", after)
        rows, more = cut(uow.interruptions.of_market(market.value, limit=limit + 1, after=after), limit)
        return uow.now(), rows, more
    return await ctx.db.read(page)
