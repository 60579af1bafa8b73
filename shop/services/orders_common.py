"""What every order use case shares: loading an order, recording a transition on its timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shop.adapters.prepared import Prepared, Statements, in_session
from shop.adapters.tables import Order, OrderLine, Refund, TimelineEntry, table_of
from shop.domain import notices
from shop.domain.errors import NotFound
from shop.domain.lifecycle import OrderState, Transition, fire
from shop.domain.markets import Market
from shop.domain.money import Money
from shop.domain.notices import Cause
from shop.services import stock
from shop.services.mail import QueuedEmail, queue_notice

STATE_TIMESTAMPS = {
    OrderState.PAID: "paid_at",
    OrderState.CONFIRMED: "confirmed_at",
    OrderState.SHIPPED: "shipped_at",
    OrderState.CANCELLED: "cancelled_at",
}


@dataclass
class OrderAggregate:
    """An order with its lines, timeline and refunds, as table objects or as the rows an INSERT …
    RETURNING just gave back (the same attributes)."""

    order: Order | Row[Any]
    lines: Sequence[OrderLine | Row[Any]]
    timeline: Sequence[TimelineEntry | Row[Any]]
    refunds: Sequence[Refund]


async def load_order(
    session: AsyncSession, order_id: str, *, customer_id: int | None = None, lock: bool = False
) -> Order:
    """The order, locked for update when `lock`; 404 when it does not exist or, for a customer,
    is not theirs (never reveal another customer's order)."""
    statement = select(Order).where(Order.id == order_id)
    if lock:
        statement = statement.with_for_update()
    order = (await session.exec(statement)).one_or_none()
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        raise NotFound("order_not_found", f"no order {order_id}")
    return order


async def load_lines(session: AsyncSession, order_id: str) -> list[OrderLine]:
    statement = select(OrderLine).where(OrderLine.order_id == order_id).order_by(col(OrderLine.id))
    return list((await session.exec(statement)).all())


async def load_aggregate(session: AsyncSession, order: Order) -> OrderAggregate:
    timeline = await session.exec(
        select(TimelineEntry).where(TimelineEntry.order_id == order.id).order_by(col(TimelineEntry.id))
    )
    refunds = await session.exec(
        select(Refund).where(Refund.order_id == order.id).order_by(col(Refund.created_at))
    )
    return OrderAggregate(order, await load_lines(session, order.id), list(timeline), list(refunds))


def apply_transition(
    session: AsyncSession,
    order: Order,
    event: str,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
    **guard_context: Any,
) -> Transition:
    """Fire `event` on the order, set the state and its timestamp, and write the timeline entry in
    the same transaction as the state change."""
    transition = fire(order.state, event, now=now, **guard_context)
    order.state = transition.to_state.value
    stamp = STATE_TIMESTAMPS.get(transition.to_state)
    if stamp is not None:
        setattr(order, stamp, now)
    session.add(order)
    session.add(TimelineEntry(**_timeline_entry(order.id, transition, actor=actor, now=now, reason=reason)))
    return transition


def _timeline_entry(order_id: str, transition: Transition, *, actor: str, now: datetime,
                    reason: str | None) -> dict[str, Any]:
    """The timeline row of a transition: who moved the order, from where to where, why, by which clause."""
    return {"order_id": order_id, "at": now, "from_state": transition.from_state.value,
            "to_state": transition.to_state.value, "event": transition.event, "actor": actor,
            "reason": reason, "clause": transition.clause}


# The statements of a transition planned on a row, built once: the state with its timestamp, and the
# timeline entry.
_orders = table_of(Order)
_SET_STATE = {
    stamp: Prepared(update(_orders).where(_orders.c.id == bindparam("order_id"))
                    .values(state=bindparam("state"), **({stamp: bindparam("at")} if stamp else {})))
    for stamp in (*STATE_TIMESTAMPS.values(), None)
}
INSERT_TIMELINE = Prepared(insert(table_of(TimelineEntry)))


@dataclass(frozen=True)
class PlannedTransition:
    """A transition checked against the lifecycle and not yet written: its two statements' values."""

    transition: Transition
    set_state: Prepared
    state: dict[str, Any]
    entry: dict[str, Any]


def plan_transition(
    order: Order | Row[Any],
    event: str,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
    **guard_context: Any,
) -> PlannedTransition:
    """`apply_transition` for an order read as a row (the hot paths read rows, not table objects):
    the same check and timeline entry, to be written by `write_transitions`."""
    transition = fire(order.state, event, now=now, **guard_context)
    stamp = STATE_TIMESTAMPS.get(transition.to_state)
    return PlannedTransition(
        transition, _SET_STATE[stamp],
        {"order_id": order.id, "state": transition.to_state.value, **({"at": now} if stamp else {})},
        _timeline_entry(order.id, transition, actor=actor, now=now, reason=reason))


async def write_transitions(db: Statements, planned: Sequence[PlannedTransition]) -> None:
    """The states with their timestamps and the timeline entries: each statement sent once for all."""
    for set_state in dict.fromkeys(move.set_state for move in planned):
        await db.execute_many(set_state, [move.state for move in planned if move.set_state is set_state])
    await db.execute_many(INSERT_TIMELINE, [move.entry for move in planned])


async def release_open_lines(session: AsyncSession, lines: Sequence[OrderLine]) -> None:
    """RS-V.5.6: the units of the lines not yet cancelled go back to stock."""
    for line in lines:
        if line.state != "cancelled":
            await stock.release(session, line.sku, line.quantity)


async def tell_cancelled(session: AsyncSession, order: Order, cause: Cause, clause: str,
                         refund: Refund | None, now: datetime) -> QueuedEmail:
    """Every cancellation tells the customer why, with the clause, and what comes back (queued in
    the caller's transaction)."""
    amount = Money(refund.amount_minor, refund.currency) if refund else None
    notice = notices.order_cancelled(Market(order.market), order.number, cause, clause, amount)
    return await queue_notice(in_session(session), order, notice, now)
