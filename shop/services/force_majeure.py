"""Force majeure (RS-VIII, T-7): staff declare a market's period and end it; its end moves every
seller's deadline that ran during it, in the transaction that ends it (the rules:
shop.domain.force_majeure)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.calendar import local_date
from shop.domain.errors import InvalidInput
from shop.domain.force_majeure import (
    FORCE_MAJEURE, PeriodState, check_declaration, check_end, moved_deadline, moved_delivery_date,
)
from shop.domain.markets import Market
from shop.services.context import ShopContext


async def declare(ctx: ShopContext, market: Market, *, starts_at: datetime, reason: str, actor: str) -> Any:
    """RS-VIII: the market is in force majeure from `starts_at` (now or before); one period at a time."""
    if not reason.strip():
        raise InvalidInput("reason_missing", "give the reason", field="reason")

    def work(uow: UnitOfWork) -> Any:
        now = uow.now()
        check_declaration(starts_at, now, open_period=uow.force_majeure.open_of(market.value) is not None)
        transition = FORCE_MAJEURE.start("declare", PeriodState.DECLARED)
        return uow.force_majeure.add({
            "id": str(uuid.uuid4()), "market": market.value, "state": transition.to_state.value,
            "starts_at": starts_at, "reason": reason.strip(), "declared_by": actor, "declared_at": now})

    return await ctx.db.transaction(work)


async def end(ctx: ShopContext, period_id: str, *, ends_at: datetime, actor: str) -> Any:
    """T-7: the period is over at `ends_at`; the seller's deadlines that ran during it resume, each
    moved later by the time of the period that fell while it ran. How many moved is kept with it."""
    def work(uow: UnitOfWork) -> Any:
        period = uow.force_majeure.get(period_id, lock=True)
        transition = FORCE_MAJEURE.fire(period.state, "end")
        check_end(period.starts_at, ends_at, uow.now())
        moved = _move_deadlines(uow, Market(period.market), period.starts_at, ends_at)
        return uow.force_majeure.move(period, transition, ends_at=ends_at, ended_by=actor, moved=moved)

    return await ctx.db.transaction(work)


def _move_deadlines(uow: UnitOfWork, market: Market, starts_at: datetime, ends_at: datetime) -> dict[str, int]:
    """Every seller's deadline of the market that ran during the period, moved (T-7): refunds
    (RS-VII.10, RS-VI.8, RS-VI.10 …), withdrawals' refunds (RS-VII.10), complaints' answers (RS-X.3)
    and expected deliveries (RS-V.5.2)."""
    def moved(rows: list[Any]) -> dict[str, datetime]:
        found = {row.id: moved_deadline(row.due, row.since, starts_at, ends_at) for row in rows}
        return {key: due for key, due in found.items() if due is not None}

    refunds = moved(uow.refunds.running_during(market.value, starts_at, ends_at))
    withdrawals = moved(uow.withdrawals.refunds_running_during(market.value, starts_at, ends_at))
    complaints = moved(uow.complaints.running_during(market.value, starts_at, ends_at))
    start_day = local_date(starts_at, market)
    deliveries = {row.id: day for row in uow.orders.awaiting_delivery(market.value, start_day)
                  if (day := moved_delivery_date(row.expected_delivery_on, starts_at, ends_at, start_day=start_day,
                                                 market=market)) is not None}
    uow.refunds.move_deadlines(refunds)
    uow.withdrawals.move_refund_deadlines(withdrawals)
    uow.complaints.move_deadlines(complaints)
    uow.orders.move_expected_delivery(deliveries)
    return {"refunds": len(refunds), "withdrawals": len(withdrawals), "complaints": len(complaints),
            "deliveries": len(deliveries)}


async def periods(ctx: ShopContext, market: Market) -> list[Any]:
    return await ctx.db.read(lambda uow: uow.force_majeure.of_market(market.value))


async def open_periods(ctx: ShopContext) -> list[Any]:
    """Every market's period not yet ended (`make sweep` names them)."""
    return await ctx.db.read(lambda uow: uow.force_majeure.all_open())
