"""Stripe's webhook events applied to orders: each fact is written once to the payment ledger,
keyed by Stripe's event id, so a repeated delivery changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.dialects import postgresql
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shop.adapters.prepared import Prepared, Row, Statements, driver_transaction, in_session
from shop.adapters.tables import Order, OrderLine, PaymentEvent, Refund, TimelineEntry, table_of
from shop.domain.errors import DomainError, InvalidInput
from shop.domain.lifecycle import OrderState, fire
from shop.services import stock
from shop.services.context import ShopContext
from shop.services.orders_common import (
    INSERT_TIMELINE, apply_transition, load_lines, load_order, record_transition,
)
from shop.services.refunds import PAYMENT_SUCCEEDED, mark_refund, open_refund, send_refund

log = logging.getLogger(__name__)

Event = dict[str, Any]


def _check_shape(event: Event) -> None:
    """A verified body can still be of a shape the shop does not understand: refuse it, never 500."""
    obj = event.get("data", {}).get("object") if isinstance(event.get("data"), dict) else None
    amount = obj.get("amount_received", obj.get("amount", 0)) if isinstance(obj, dict) else None
    if not (isinstance(event.get("id"), str) and isinstance(event.get("type"), str)
            and isinstance(obj, dict) and isinstance(event.get("created", 0), int)
            and (amount is None or isinstance(amount, int))):
        raise InvalidInput("invalid_event", "the event lacks id, type, created or data.object", field="body")


async def apply_stripe_event(ctx: ShopContext, event: Event) -> str:
    """Apply a verified event; returns what was done (for the log and the answer)."""
    _check_shape(event)
    handler = HANDLERS.get(event["type"])
    if handler is None:
        log.info("ignoring Stripe event type %s", event.get("type"))
        return "ignored"
    return await handler(ctx, event)


def _intent(event: Event) -> dict[str, Any]:
    return event.get("data", {}).get("object", {}) or {}


# Every event reads its order and the ledger: statements prepared once, run on the driver (see
# shop/adapters/prepared.py) except on the rare paths that need the ORM session.
_orders, _facts = table_of(Order), table_of(PaymentEvent)
# What an event needs of its order, no more: every column read is converted (a timestamp parsed,
# a JSON document decoded); reading the whole row took 20 µs, these five 8 µs (SQLite, in process).
_ORDER_FACTS = (_orders.c.id, _orders.c.state, _orders.c.total_minor, _orders.c.currency,
                _orders.c.payment_intent_id)
_ORDER_BY_ID = Prepared(select(*_ORDER_FACTS).where(_orders.c.id == bindparam("key")).with_for_update())
_ORDER_BY_INTENT = Prepared(
    select(*_ORDER_FACTS).where(_orders.c.payment_intent_id == bindparam("key")).with_for_update())
INSERT_FACT = Prepared(insert(_facts))
"""Appends one fact to the payment ledger (the intent's creation, at checkout)."""
_RECORD_ONCE = Prepared(  # the same ON CONFLICT clause in SQLite and PostgreSQL
    postgresql.insert(_facts).on_conflict_do_nothing(index_elements=[_facts.c.fact_key]).returning(_facts.c.id))
"""Appends one fact unless the ledger holds its key already: no row comes back then."""


async def _order_of(db: Statements, intent: dict[str, Any]) -> Row | None:
    """The order the PaymentIntent is for, locked, as a row of `_ORDER_FACTS` (read-only)."""
    order_id = (intent.get("metadata") or {}).get("order_id")
    return await db.first(_ORDER_BY_ID if order_id else _ORDER_BY_INTENT, key=order_id or intent.get("id"))


async def _record(db: Statements, event: Event, order: Row | None, now: datetime,
                  *, fact_key: str | None = None, **fields: Any) -> bool:
    """Append the fact unless it was recorded before (then False: nothing more to do). A fact is
    keyed by the event id, or by `fact_key` where two events can state the same fact (Stripe may
    send a second event for one PaymentIntent's success: the money counts once)."""
    intent = _intent(event)
    return bool(await db.fetch(_RECORD_ONCE, **{
        "fact_key": fact_key or event["id"], "kind": event["type"], "order_id": order.id if order else None,
        "payment_intent_id": intent.get("payment_intent") or intent.get("id"),
        "occurred_at": datetime.fromtimestamp(int(event.get("created", now.timestamp())), UTC),
        "recorded_at": now, "amount_minor": None, "currency": None, "flagged": None, **fields,
    }))


async def _payment_succeeded(ctx: ShopContext, event: Event) -> str:
    async with driver_transaction(ctx.engine) as db:
        now = await ctx.now(db)
        order = await _order_of(db, _intent(event))
        if order is None or order.state != OrderState.CANCELLED:
            return await _apply_payment(db, event, order, now)
    return await _payment_for_cancelled_order(ctx, event)


async def _apply_payment(db: Statements, event: Event, order: Row | None, now: datetime) -> str:
    """Record the payment in the ledger, once, and pay the order that awaits it (RS-V.1); a payment
    that does not match its order is flagged for staff, not applied."""
    intent = _intent(event)
    amount = int(intent.get("amount_received") or intent.get("amount") or 0)
    currency = str(intent.get("currency", "")).upper()
    flag = None
    if order is None:
        flag = "unknown_order"
    elif (amount, currency) != (order.total_minor, order.currency):
        flag = f"amount_mismatch: got {amount} {currency}, order is {order.total_minor} {order.currency}"
    if not await _record(db, event, order, now, fact_key=f"{intent.get('id')}:succeeded",
                         amount_minor=amount, currency=currency, flagged=flag):
        return "duplicate"
    if order is None or flag is not None:
        log.warning("Stripe event %s flagged for staff: %s", event["id"], flag)
        return "flagged"
    if order.state == OrderState.AWAITING_PAYMENT:
        await record_transition(db, order, "pay", actor="stripe", now=now,
                                reason=f"PaymentIntent {intent.get('id')} succeeded")
        return "paid"
    return "recorded"


async def _payment_for_cancelled_order(ctx: ShopContext, event: Event) -> str:
    """RS-V.1: a payment for a cancelled order is honoured when it was made in time, else the money
    goes back automatically. In the ORM session: it needs the order's lines, stock and refunds."""
    intent = _intent(event)
    refund = None
    async with ctx.sessions() as session, session.begin():
        now = await ctx.now(session)
        order = await _order_of(in_session(session), intent)
        outcome = await _apply_payment(in_session(session), event, order, now)
        if outcome != "recorded" or order is None or order.state != OrderState.CANCELLED:
            return outcome
        cancelled = await load_order(session, order.id, lock=True)
        paid_at = datetime.fromtimestamp(int(event.get("created", now.timestamp())), UTC)
        if await _honour_timely_payment(session, cancelled, paid_at=paid_at, now=now):
            return "paid"
        # Money for an order cancelled for any other reason goes back automatically.
        refund = await open_refund(session, cancelled, amount_minor=None, clause="RS-V.1",
                                   reason="payment arrived for a cancelled order", now=now)
    await send_refund(ctx, refund, order.payment_intent_id)
    return "refunded"


async def _honour_timely_payment(session: AsyncSession, order: Order, *, paid_at: datetime,
                                 now: datetime) -> bool:
    """RS-V.1 boundary (lifecycle.paid_in_time_after_expiry): re-open an order the expiry job
    cancelled when Stripe recorded the payment within the window, if its units can be held again."""
    last = (await session.exec(
        select(TimelineEntry.event).where(TimelineEntry.order_id == order.id)
        .order_by(col(TimelineEntry.id).desc()).limit(1))).first()
    try:
        fire(order.state, "honour_timely_payment", paid_at=paid_at, payment_due_at=order.payment_due_at,
             cancelled_by_event=last)
    except DomainError:
        return False
    lines = [line for line in await load_lines(session, order.id) if line.state != "cancelled"]
    held: list[OrderLine] = []
    for line in lines:
        if not await stock.reserve(in_session(session), line.sku, line.quantity):
            for taken in held:  # RS-V.5.6: the units are gone; refund instead
                await stock.release(session, taken.sku, taken.quantity)
            return False
        held.append(line)
    apply_transition(session, order, "honour_timely_payment", actor="stripe", now=now,
                     paid_at=paid_at, payment_due_at=order.payment_due_at, cancelled_by_event=last,
                     reason=f"paid at {paid_at.isoformat()}, within the window")
    order.cancelled_at = None
    return True


async def _payment_failed(ctx: ShopContext, event: Event) -> str:
    intent = _intent(event)
    error = intent.get("last_payment_error") or {}
    reason = error.get("message") or error.get("code") or "the payment failed"
    async with driver_transaction(ctx.engine) as db:
        now = await ctx.now(db)
        order = await _order_of(db, intent)
        if not await _record(db, event, order, now, amount_minor=intent.get("amount"),
                             currency=str(intent.get("currency", "")).upper() or None):
            return "duplicate"
        if order is not None:  # the order stays payable within its window (RS-V.1)
            await db.execute(INSERT_TIMELINE, order_id=order.id, at=now, from_state=order.state,
                             to_state=order.state, event="payment_failed", actor="stripe",
                             reason=str(reason)[:500], clause="RS-V.1")
    return "recorded"


async def _payment_canceled(ctx: ShopContext, event: Event) -> str:
    async with driver_transaction(ctx.engine) as db:
        now = await ctx.now(db)
        order = await _order_of(db, _intent(event))
        return "recorded" if await _record(db, event, order, now) else "duplicate"


async def _refund_changed(ctx: ShopContext, event: Event) -> str:
    obj = _intent(event)
    refunds = obj.get("refunds", {}).get("data", []) if obj.get("object") == "charge" else [obj]
    async with ctx.sessions() as session, session.begin():
        now = await ctx.now(session)
        if not await _record(in_session(session), event, None, now):
            return "duplicate"
        for data in refunds:
            row = (await session.exec(
                select(Refund).where(Refund.stripe_refund_id == data.get("id")).with_for_update()
            )).one_or_none()
            status = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(data.get("status"))
            if row is not None and status is not None:
                await mark_refund(session, row, status, now, data.get("failure_reason"))
    return "recorded"


HANDLERS: dict[str, Callable[[ShopContext, Event], Awaitable[str]]] = {
    PAYMENT_SUCCEEDED: _payment_succeeded,
    "payment_intent.payment_failed": _payment_failed,
    "payment_intent.canceled": _payment_canceled,
    "charge.refunded": _refund_changed,
    "refund.created": _refund_changed,
    "refund.updated": _refund_changed,
    "refund.failed": _refund_changed,
    "charge.refund.updated": _refund_changed,
}
