"""Stripe's webhook events applied to orders: each fact is written once to the payment ledger,
keyed by Stripe's ids, so a repeated delivery changes nothing. The events come typed from the
gateway (shop.adapters.stripe_gateway.read_event): nothing here reads Stripe's JSON."""

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
from shop.adapters.stripe_gateway import Charge, PaymentIntent, StripeEvent
from shop.adapters.tables import Order, OrderLine, PaymentEvent, Refund, TimelineEntry, table_of
from shop.domain.errors import DomainError
from shop.domain.lifecycle import OrderState, fire, paid_late
from shop.domain.notices import Cause
from shop.services import stock
from shop.services.context import ShopContext
from shop.services.mail import QueuedEmail, send_after_answer
from shop.services.orders_common import (
    INSERT_TIMELINE, PlannedTransition, apply_transition, load_lines, load_order, plan_transition,
    release_open_lines, tell_cancelled, write_transitions,
)
from shop.services.refunds import (
    PAYMENT_SUCCEEDED, mark_refund, open_refund, refund_for_stripe, refund_state, send_refund,
)

log = logging.getLogger(__name__)


async def apply_stripe_event(ctx: ShopContext, event: StripeEvent) -> str:
    """Apply a verified event; returns what was done (for the log and the answer). A type the
    shop does not read is acknowledged and ignored."""
    handler = HANDLERS.get(event.type)
    if handler is None or event.object is None:
        log.info("ignoring Stripe event type %s", event.type)
        return "ignored"
    return await handler(ctx, event)


def _intent(event: StripeEvent) -> PaymentIntent:
    assert isinstance(event.object, PaymentIntent), event.type  # EVENT_OBJECTS says so
    return event.object


def paid_at(event: StripeEvent) -> datetime:
    """When Stripe recorded the payment: the event's `created`, the instant the PaymentIntent
    succeeded (RS-V.1). Not the intent's own `created` (when checkout made it), not the arrival."""
    return datetime.fromtimestamp(event.created, UTC)


# Every event reads its order and the ledger: statements prepared once, run on the driver (see
# shop/adapters/prepared.py) except on the rare paths that need the ORM session.
_orders, _facts = table_of(Order), table_of(PaymentEvent)
# What an event needs of its order, no more: every column read is converted (a timestamp parsed,
# a JSON document decoded); reading the whole row took 20 µs, these five 8 µs (SQLite, in process).
# The deadline too: a payment Stripe recorded after it is not applied in the batch (RS-V.1).
_ORDER_FACTS = (_orders.c.id, _orders.c.state, _orders.c.total_minor, _orders.c.currency,
                _orders.c.payment_intent_id, _orders.c.payment_due_at)
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


def _fact(event: StripeEvent, order: Row | None, now: datetime, *, fact_key: str | None = None,
          **fields: Any) -> dict[str, Any]:
    """The ledger row of an event. A fact is keyed by the event id, or by `fact_key` where two events
    can state the same fact (Stripe may send a second event for one PaymentIntent's success: the
    money counts once)."""
    obj = event.object
    assert obj is not None
    intent_id = obj.id if isinstance(obj, PaymentIntent) else obj.payment_intent or obj.id
    return {
        "fact_key": fact_key or event.id, "kind": event.type, "order_id": order.id if order else None,
        "payment_intent_id": intent_id, "occurred_at": datetime.fromtimestamp(event.created, UTC),
        "recorded_at": now, "amount_minor": None, "currency": None, "flagged": None, **fields,
    }


async def _record(db: Statements, event: StripeEvent, order: Row | None, now: datetime, **fields: Any) -> bool:
    """Append the event's fact unless it was recorded before (then False: nothing more to do)."""
    return bool(await _record_facts(db, [_fact(event, order, now, **fields)]))


def _order_id(intent: PaymentIntent) -> str | None:
    return intent.metadata.order_id if intent.metadata is not None else None


async def _order_of(db: Statements, intent: PaymentIntent) -> Row | None:
    """The order the PaymentIntent is for, locked, as a row of `_ORDER_FACTS` (read-only)."""
    return (await _orders_of(db, [intent]))[0]


async def _orders_of(db: Statements, intents: list[PaymentIntent]) -> list[Row | None]:
    """The order of each PaymentIntent, locked: by the order id its metadata carries (the shop sets
    it; all in one statement), else by the intent's id."""
    ids = sorted({order_id for intent in intents if (order_id := _order_id(intent))})
    found = {row.id: row for row in await db.fetch(
        _orders_locked(len(ids)), **{f"id_{i}": order_id for i, order_id in enumerate(ids)})} if ids else {}
    return [found.get(order_id) if (order_id := _order_id(intent))
            else await db.first(_ORDER_BY_INTENT, key=intent.id) for intent in intents]


APPLIED_APART = "applied apart"
"""A batch's answer for a payment it leaves to `_payment_applied_apart`, in the ORM session: one
for a cancelled order, or one Stripe recorded after the order's window (RS-V.1)."""


def _for_the_batch(event: StripeEvent, order: Row | None) -> bool:
    """Whether the batch applies the payment: not for a cancelled order, nor one paid after its
    window while the order still awaits it (both need lines, stock and refunds)."""
    if order is None:
        return True
    if order.state == OrderState.CANCELLED:
        return False
    return not (order.state == OrderState.AWAITING_PAYMENT and paid_late(paid_at(event), order.payment_due_at))


async def _payment_succeeded(ctx: ShopContext, event: StripeEvent) -> str:
    """Applied together with the other payments that arrive while one is in the database (group
    commit: shop.adapters.group_commit), each as if alone."""
    outcome: str = await ctx.group_commit.submit(PAYMENT_SUCCEEDED, partial(_apply_payments, ctx), event)
    if outcome == APPLIED_APART:
        return await _payment_applied_apart(ctx, event)
    return outcome


async def _apply_payments(ctx: ShopContext, events: list[StripeEvent]) -> list[str]:
    """payment_intent.succeeded events in one transaction, in the order they arrived: their orders
    locked in one statement, their facts recorded in one, the paid orders' states and timeline
    entries in one each; the same statements for one event as for many."""
    async with driver_transaction(ctx.engine) as db:
        now = await ctx.now(db)
        orders = await _orders_of(db, [_intent(event) for event in events])
        applying = [i for i, (event, order) in enumerate(zip(events, orders, strict=True))
                    if _for_the_batch(event, order)]
        outcomes = [APPLIED_APART] * len(events)
        applied = await _apply_payment(db, [events[i] for i in applying], [orders[i] for i in applying], now)
        for i, outcome in zip(applying, applied, strict=True):
            outcomes[i] = outcome
    return outcomes


def _success_key(event: StripeEvent, intent: PaymentIntent, flag: str | None) -> str:
    """The ledger key of a success: an applicable one by its PaymentIntent, so a second event of
    one payment counts once; a flagged one by its event, so that it never makes a later, correct
    event of the same PaymentIntent a duplicate (it is a report for staff, not the payment)."""
    return f"{intent.id}:succeeded" if flag is None else event.id


async def _apply_payment(db: Statements, events: list[StripeEvent], orders: list[Row | None],
                         now: datetime) -> list[str]:
    """Record each payment in the ledger, once, and pay the order that awaits it when Stripe
    recorded the payment within the window (RS-V.1); a payment that does not match its order is
    flagged for staff, not applied. The orders are locked; events for one order see one another as
    if each had come alone, in turn."""
    facts: dict[str, dict[str, Any]] = {}
    keys: list[str] = []
    stated_first_by: dict[str, int] = {}  # a second delivery in the same batch is a duplicate
    for i, (event, order) in enumerate(zip(events, orders, strict=True)):
        intent = _intent(event)
        amount = intent.amount_received or intent.amount
        currency = intent.currency.upper() if intent.currency else None
        flag = None
        if order is None:
            flag = "unknown_order"
        elif (amount, currency) != (order.total_minor, order.currency):
            flag = f"amount_mismatch: got {amount} {currency}, order is {order.total_minor} {order.currency}"
        key = _success_key(event, intent, flag)
        keys.append(key)
        facts.setdefault(key, _fact(event, order, now, fact_key=key, amount_minor=amount, currency=currency,
                                    flagged=flag))
        stated_first_by.setdefault(key, i)
    written = await _record_facts(db, list(facts.values()))
    outcomes: list[str] = []
    moves: list[PlannedTransition] = []
    paid: set[str] = set()
    for i, (event, order, key) in enumerate(zip(events, orders, keys, strict=True)):
        fact = facts[key]
        if key not in written or stated_first_by[key] != i:
            outcomes.append("duplicate")
        elif order is None or fact["flagged"] is not None:
            log.warning("Stripe event %s flagged for staff: %s", event.id, fact["flagged"])
            outcomes.append("flagged")
        elif (order.state == OrderState.AWAITING_PAYMENT and order.id not in paid
              and not paid_late(paid_at(event), order.payment_due_at)):
            moves.append(plan_transition(order, "pay", actor="stripe", now=now,
                                         reason=f"PaymentIntent {_intent(event).id} succeeded"))
            paid.add(order.id)
            outcomes.append("paid")
        else:
            outcomes.append("recorded")
    await write_transitions(db, moves)
    return outcomes


async def _payment_applied_apart(ctx: ShopContext, event: StripeEvent) -> str:
    """RS-V.1: a payment Stripe recorded after the order's window never pays it: an order still
    awaiting payment is cancelled and the money refunded at once (whether the expiry job has run
    or not). A payment for a cancelled order is honoured when it was made in time, else the money
    goes back automatically. In the ORM session: it needs the order's lines, stock and refunds."""
    refund, emails = None, []
    async with ctx.sessions() as session, session.begin():
        now = await ctx.now(session)
        order = await _order_of(in_session(session), _intent(event))
        outcome, = await _apply_payment(in_session(session), [event], [order], now)
        if outcome != "recorded" or order is None:
            return outcome
        locked = await load_order(session, order.id, lock=True)
        if locked.state == OrderState.AWAITING_PAYMENT:  # paid late: `_apply_payment` did not pay it
            refund, email = await _refund_late_payment(session, locked, paid_at=paid_at(event), now=now)
            emails.append(email)
        elif locked.state != OrderState.CANCELLED:
            return outcome
        elif await _honour_timely_payment(session, locked, paid_at=paid_at(event), now=now):
            return "paid"
        else:  # money for an order cancelled for any other reason goes back automatically
            refund = await open_refund(session, locked, amount_minor=None, clause="RS-V.1",
                                       reason="payment arrived for a cancelled order", now=now)
    if refund is not None:  # None: the order keeps nothing of it (refunded already)
        await send_refund(ctx, refund, order.payment_intent_id)
    send_after_answer(ctx, emails)
    return "refunded"


LATE_PAYMENT = "it was paid after the 2-hour payment window"


async def _refund_late_payment(session: AsyncSession, order: Order, *, paid_at: datetime,
                               now: datetime) -> tuple[Refund | None, QueuedEmail]:
    """RS-V.1: the order awaiting a payment Stripe recorded after its window is cancelled, its units
    released and the money refunded, as the expiry job would have cancelled it had it run first."""
    assert order.payment_due_at is not None
    apply_transition(session, order, "refund_late_payment", actor="stripe", now=now,
                     paid_at=paid_at, payment_due_at=order.payment_due_at,
                     reason=f"paid at {_utc(paid_at)}, after the window that closed at {_utc(order.payment_due_at)}")
    await release_open_lines(session, await load_lines(session, order.id))
    refund = await open_refund(session, order, amount_minor=None, clause="RS-V.1", reason=LATE_PAYMENT, now=now)
    return refund, await tell_cancelled(session, order, Cause.PAID_TOO_LATE, "RS-V.1", refund, now)


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


async def _payment_failed(ctx: ShopContext, event: StripeEvent) -> str:
    intent = _intent(event)
    error = intent.last_payment_error
    reason = (error.message or error.code if error else None) or "the payment failed"
    async with driver_transaction(ctx.engine) as db:
        now = await ctx.now(db)
        order = await _order_of(db, intent)
        if not await _record(db, event, order, now, amount_minor=intent.amount,
                             currency=intent.currency.upper() if intent.currency else None):
            return "duplicate"
        if order is not None:  # the order stays payable within its window (RS-V.1)
            await db.execute(INSERT_TIMELINE, order_id=order.id, at=now, from_state=order.state,
                             to_state=order.state, event="payment_failed", actor="stripe",
                             reason=reason[:500], clause="RS-V.1")
    return "recorded"


async def _payment_canceled(ctx: ShopContext, event: StripeEvent) -> str:
    async with driver_transaction(ctx.engine) as db:
        now = await ctx.now(db)
        order = await _order_of(db, _intent(event))
        return "recorded" if await _record(db, event, order, now) else "duplicate"


async def _refund_changed(ctx: ShopContext, event: StripeEvent) -> str:
    obj = event.object
    if isinstance(obj, Charge):
        refunds = obj.refunds.data if obj.refunds is not None else []
    else:
        assert obj is not None
        refunds = [obj]  # type: ignore[list-item]
    async with ctx.sessions() as session, session.begin():
        now = await ctx.now(session)
        if not await _record(in_session(session), event, None, now):
            return "duplicate"
        for data in refunds:
            row = await refund_for_stripe(session, data)
            status = refund_state(data.status)
            if row is not None and status != "pending":  # an outcome, not news of one on its way
                await mark_refund(session, row, status, now, (data.failure_reason or "")[:500] or None)
    return "recorded"


HANDLERS: dict[str, Callable[[ShopContext, StripeEvent], Awaitable[str]]] = {
    PAYMENT_SUCCEEDED: _payment_succeeded,
    "payment_intent.payment_failed": _payment_failed,
    "payment_intent.canceled": _payment_canceled,
    "charge.refunded": _refund_changed,
    "refund.created": _refund_changed,
    "refund.updated": _refund_changed,
    "refund.failed": _refund_changed,
    "charge.refund.updated": _refund_changed,
}
