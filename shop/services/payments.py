"""Stripe's webhook events applied to orders: each fact is written once to the payment ledger,
keyed by Stripe's event id, so a repeated delivery changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import cache, partial
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.engine import Dialect
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shop.adapters.prepared import Prepared, Row, Statements, driver_transaction, in_session, warm_insert_rows
from shop.adapters.tables import Order, OrderLine, PaymentEvent, TimelineEntry, table_of
from shop.domain.errors import DomainError, InvalidInput
from shop.domain.lifecycle import OrderState, fire
from shop.services import stock
from shop.services.context import ShopContext
from shop.services.orders_common import (
    INSERT_TIMELINE, PlannedTransition, apply_transition, load_lines, load_order, plan_transition,
    write_transitions,
)
from shop.services.refunds import (
    PAYMENT_SUCCEEDED, mark_refund, open_refund, refund_for_stripe, refund_state, send_refund,
)

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
_ORDER_BY_INTENT = Prepared(
    select(*_ORDER_FACTS).where(_orders.c.payment_intent_id == bindparam("key")).with_for_update())


@cache
def _orders_locked(count: int) -> Prepared:
    """`count` orders by id (`id_0` …), locked in the order of their ids: two transactions locking
    several orders each never wait for one another in a circle."""
    ids = [bindparam(f"id_{i}") for i in range(count)]
    return Prepared(select(*_ORDER_FACTS).where(_orders.c.id.in_(ids)).order_by(_orders.c.id).with_for_update())


def warm_batches(dialect: Dialect, most: int) -> None:
    """Compile the statements of `_apply_payments` for every batch size up to `most` (see
    shop.services.checkout.warm_batches)."""
    for count in range(1, most + 1):
        _orders_locked(count).compile_ahead(dialect)
        warm_insert_rows(dialect, _facts, count, unless_exists="fact_key")


async def _record_facts(db: Statements, facts: list[dict[str, Any]]) -> set[str]:
    """Appends the facts the ledger does not hold yet; the keys of those it appended."""
    return {row.fact_key for row in await db.insert_rows(_facts, facts, unless_exists="fact_key")}


def _fact(event: Event, order: Row | None, now: datetime, *, fact_key: str | None = None,
          **fields: Any) -> dict[str, Any]:
    """The ledger row of an event. A fact is keyed by the event id, or by `fact_key` where two events
    can state the same fact (Stripe may send a second event for one PaymentIntent's success: the
    money counts once)."""
    intent = _intent(event)
    return {
        "fact_key": fact_key or event["id"], "kind": event["type"], "order_id": order.id if order else None,
        "payment_intent_id": intent.get("payment_intent") or intent.get("id"),
        "occurred_at": datetime.fromtimestamp(int(event.get("created", now.timestamp())), UTC),
        "recorded_at": now, "amount_minor": None, "currency": None, "flagged": None, **fields,
    }


async def _record(db: Statements, event: Event, order: Row | None, now: datetime, **fields: Any) -> bool:
    """Append the event's fact unless it was recorded before (then False: nothing more to do)."""
    return bool(await _record_facts(db, [_fact(event, order, now, **fields)]))


def _order_id(intent: dict[str, Any]) -> str | None:
    return (intent.get("metadata") or {}).get("order_id")


async def _order_of(db: Statements, intent: dict[str, Any]) -> Row | None:
    """The order the PaymentIntent is for, locked, as a row of `_ORDER_FACTS` (read-only)."""
    return (await _orders_of(db, [intent]))[0]


async def _orders_of(db: Statements, intents: list[dict[str, Any]]) -> list[Row | None]:
    """The order of each PaymentIntent, locked: by the order id its metadata carries (the shop sets
    it; all in one statement), else by the intent's id."""
    ids = sorted({order_id for intent in intents if (order_id := _order_id(intent))})
    found = {row.id: row for row in await db.fetch(
        _orders_locked(len(ids)), **{f"id_{i}": order_id for i, order_id in enumerate(ids)})} if ids else {}
    return [found.get(order_id) if (order_id := _order_id(intent))
            else await db.first(_ORDER_BY_INTENT, key=intent.get("id")) for intent in intents]


FOR_A_CANCELLED_ORDER = "for a cancelled order"
"""A batch's answer for a payment whose order was cancelled: applied apart, in the ORM session."""


async def _payment_succeeded(ctx: ShopContext, event: Event) -> str:
    """Applied together with the other payments that arrive while one is in the database (group
    commit: shop.adapters.group_commit), each as if alone."""
    outcome: str = await ctx.group_commit.submit(PAYMENT_SUCCEEDED, partial(_apply_payments, ctx), event)
    if outcome == FOR_A_CANCELLED_ORDER:
        return await _payment_for_cancelled_order(ctx, event)
    return outcome


async def _apply_payments(ctx: ShopContext, events: list[Event]) -> list[str]:
    """payment_intent.succeeded events in one transaction, in the order they arrived: their orders
    locked in one statement, their facts recorded in one, the paid orders' states and timeline
    entries in one each; the same statements for one event as for many."""
    async with driver_transaction(ctx.engine) as db:
        now = await ctx.now(db)
        orders = await _orders_of(db, [_intent(event) for event in events])
        applying = [i for i, order in enumerate(orders) if order is None or order.state != OrderState.CANCELLED]
        outcomes = [FOR_A_CANCELLED_ORDER] * len(events)
        applied = await _apply_payment(db, [events[i] for i in applying], [orders[i] for i in applying], now)
        for i, outcome in zip(applying, applied, strict=True):
            outcomes[i] = outcome
    return outcomes


async def _apply_payment(db: Statements, events: list[Event], orders: list[Row | None], now: datetime) -> list[str]:
    """Record each payment in the ledger, once, and pay the order that awaits it (RS-V.1); a payment
    that does not match its order is flagged for staff, not applied. The orders are locked; events
    for one order see one another as if each had come alone, in turn."""
    facts: dict[str, dict[str, Any]] = {}
    stated_first_by: dict[str, int] = {}  # a second delivery in the same batch is a duplicate
    for i, (event, order) in enumerate(zip(events, orders, strict=True)):
        intent = _intent(event)
        amount = int(intent.get("amount_received") or intent.get("amount") or 0)
        currency = str(intent.get("currency", "")).upper()
        flag = None
        if order is None:
            flag = "unknown_order"
        elif (amount, currency) != (order.total_minor, order.currency):
            flag = f"amount_mismatch: got {amount} {currency}, order is {order.total_minor} {order.currency}"
        fact = _fact(event, order, now, fact_key=f"{intent.get('id')}:succeeded",
                     amount_minor=amount, currency=currency, flagged=flag)
        facts.setdefault(fact["fact_key"], fact)
        stated_first_by.setdefault(fact["fact_key"], i)
    written = await _record_facts(db, list(facts.values()))
    outcomes: list[str] = []
    moves: list[PlannedTransition] = []
    paid: set[str] = set()
    for i, (event, order) in enumerate(zip(events, orders, strict=True)):
        intent = _intent(event)
        fact = facts[f"{intent.get('id')}:succeeded"]
        if fact["fact_key"] not in written or stated_first_by[fact["fact_key"]] != i:
            outcomes.append("duplicate")
        elif order is None or fact["flagged"] is not None:
            log.warning("Stripe event %s flagged for staff: %s", event["id"], fact["flagged"])
            outcomes.append("flagged")
        elif order.state == OrderState.AWAITING_PAYMENT and order.id not in paid:
            moves.append(plan_transition(order, "pay", actor="stripe", now=now,
                                         reason=f"PaymentIntent {intent.get('id')} succeeded"))
            paid.add(order.id)
            outcomes.append("paid")
        else:
            outcomes.append("recorded")
    await write_transitions(db, moves)
    return outcomes


async def _payment_for_cancelled_order(ctx: ShopContext, event: Event) -> str:
    """RS-V.1: a payment for a cancelled order is honoured when it was made in time, else the money
    goes back automatically. In the ORM session: it needs the order's lines, stock and refunds."""
    intent = _intent(event)
    refund = None
    async with ctx.sessions() as session, session.begin():
        now = await ctx.now(session)
        order = await _order_of(in_session(session), intent)
        outcome, = await _apply_payment(in_session(session), [event], [order], now)
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
            row = await refund_for_stripe(session, data)
            status = refund_state(data.get("status"))
            if row is not None and status != "pending":  # an outcome, not news of one on its way
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
