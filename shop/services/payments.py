"""Stripe's payment events applied to orders: each fact is written once to the payment ledger, keyed
by Stripe's ids, so a repeated delivery changes nothing. The events come as the shop's own values
(shop.domain.payment_events, read by the gateway): nothing here reads Stripe's JSON."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from shop.adapters.stores.timeline import entry
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.errors import DomainError
from shop.domain.lifecycle import ORDER, OrderState, fire, paid_late
from shop.domain.machine import Transition
from shop.domain.notices import Cause
from shop.domain.order_lines import ORDER_LINE, LineState
from shop.domain.payment_events import PaymentCancelled, PaymentFailed, PaymentSucceeded
from shop.domain.payment_facts import (
    PAYMENT_CANCELED, PAYMENT_FAILED, PAYMENT_SUCCEEDED, PaymentFact, fact_key,
)
from shop.services.context import ShopContext
from shop.services.mail import send_after_answer
from shop.services.orders_common import cancel_lines, move_lines, tell_cancelled, units_of
from shop.services.refunds import open_refund, send_refund

log = logging.getLogger(__name__)

Order = Any
"""An order as the orders store reads it for a payment (a row: `order.state`, `order.total_minor` …)."""

APPLIED_APART = "applied apart"
"""A batch's answer for a payment it leaves to `_payment_applied_apart`: one for a cancelled order, or
one Stripe recorded after the order's window (RS-V.1); both need lines, stock and refunds."""


async def payment_succeeded(ctx: ShopContext, event: PaymentSucceeded) -> str:
    """Applied together with the other payments that arrive while one is in the database (group
    commit: shop.adapters.group_commit), each as if alone. Returns what was done (for the answer)."""
    outcome: str = await ctx.db.together(PAYMENT_SUCCEEDED, apply_payments, event)
    if outcome == APPLIED_APART:
        return await _payment_applied_apart(ctx, event)
    return outcome


def apply_payments(uow: UnitOfWork, events: list[PaymentSucceeded]) -> list[str]:
    """Payments in one transaction, in the order they arrived: their orders locked in one statement,
    their facts recorded in one, the paid orders' states and timeline entries in one each; the same
    statements for one event as for many."""
    now = uow.now()
    orders = _orders_of(uow, events)
    applying = [i for i, (event, order) in enumerate(zip(events, orders, strict=True))
                if _for_the_batch(event, order)]
    outcomes = [APPLIED_APART] * len(events)
    applied = _apply_payment(uow, [events[i] for i in applying], [orders[i] for i in applying], now)
    for i, outcome in zip(applying, applied, strict=True):
        outcomes[i] = outcome
    return outcomes


def _orders_of(uow: UnitOfWork, events: list[Any]) -> list[Order | None]:
    """The order of each payment, locked: by the order id its PaymentIntent's metadata carries (the
    shop sets it; all in one statement), else by the PaymentIntent's id."""
    ids = {event.order_id for event in events if event.order_id}
    found = {row.id: row for row in uow.orders.lock_for_payments(list(ids))} if ids else {}
    return [found.get(event.order_id) if event.order_id else uow.orders.lock_by_payment_intent(event.payment_intent_id)
            for event in events]


def _for_the_batch(event: PaymentSucceeded, order: Order | None) -> bool:
    """Whether the batch applies the payment: not for a cancelled order, nor one paid after its
    window while the order still awaits it (both need lines, stock and refunds)."""
    if order is None:
        return True
    if order.state == OrderState.CANCELLED:
        return False
    return not (order.state == OrderState.AWAITING_PAYMENT and paid_late(event.occurred_at, order.payment_due_at))


def _flag(event: PaymentSucceeded, order: Order | None) -> str | None:
    """Why staff must look at a payment instead of applying it (RS-III.4), or None."""
    if order is None:
        return "unknown_order"
    amount, currency = (event.amount.amount_minor, event.amount.currency) if event.amount else (None, None)
    if (amount, currency) != (order.total_minor, order.currency):
        return f"amount_mismatch: got {amount} {currency}, order is {order.total_minor} {order.currency}"
    return None


def _success_fact(event: PaymentSucceeded, order: Order | None, flag: str | None, now: datetime) -> PaymentFact:
    """An applicable success is keyed by its PaymentIntent, so a second event of one payment counts
    once; a flagged one by its event, so that it never makes a later, correct event of the same
    PaymentIntent a duplicate (it is a report for staff, not the payment)."""
    key = fact_key(event.payment_intent_id, "succeeded") if flag is None else fact_key(event.event_id)
    amount = event.amount
    return PaymentFact(key, PAYMENT_SUCCEEDED, order.id if order else None, event.payment_intent_id,
                       event.occurred_at, now, amount.amount_minor if amount else None,
                       amount.currency if amount else None, flag)


def _apply_payment(uow: UnitOfWork, events: list[PaymentSucceeded], orders: list[Order | None],
                   now: datetime) -> list[str]:
    """Record each payment in the ledger, once, and pay the order that awaits it when Stripe
    recorded the payment within the window (RS-V.1); a payment that does not match its order is
    flagged for staff, not applied. The orders are locked; events for one order see one another as
    if each had come alone, in turn."""
    facts: dict[str, PaymentFact] = {}
    keys: list[str] = []
    stated_first_by: dict[str, int] = {}  # a second delivery in the same batch is a duplicate
    for i, (event, order) in enumerate(zip(events, orders, strict=True)):
        fact = _success_fact(event, order, _flag(event, order), now)
        keys.append(fact.key)
        facts.setdefault(fact.key, fact)
        stated_first_by.setdefault(fact.key, i)
    written = uow.ledger.append(list(facts.values()))
    outcomes: list[str] = []
    moves: list[tuple[str, Transition]] = []
    entries: list[dict[str, Any]] = []
    paid: set[str] = set()
    for i, (event, order, key) in enumerate(zip(events, orders, keys, strict=True)):
        if key not in written or stated_first_by[key] != i:
            outcomes.append("duplicate")
        elif order is None or facts[key].flagged is not None:
            log.warning("Stripe event %s flagged for staff: %s", event.event_id, facts[key].flagged)
            outcomes.append("flagged")
        elif (order.state == OrderState.AWAITING_PAYMENT and order.id not in paid
              and not paid_late(event.occurred_at, order.payment_due_at)):
            transition = fire(order.state, "pay", now=now)
            moves.append((order, transition))
            paid.add(order.id)
            entries.append(entry(order.id, transition, actor="stripe", now=now,
                                 reason=f"PaymentIntent {event.payment_intent_id} succeeded"))
            outcomes.append("paid")
        else:
            outcomes.append("recorded")
    if moves:
        uow.orders.move_all(moves, now)
        uow.timeline.record_entries(entries)
    return outcomes


async def _payment_applied_apart(ctx: ShopContext, event: PaymentSucceeded) -> str:
    """RS-V.1: a payment Stripe recorded after the order's window never pays it: an order still
    awaiting payment is cancelled and the money refunded at once (whether the expiry job has run
    or not). A payment for a cancelled order is honoured when it was made in time, else the money
    goes back automatically. Stripe is asked for the refund after the commit."""
    outcome, refund, payment_intent_id, emails = await ctx.db.transaction(lambda uow: _apply_apart(uow, event))
    if refund is not None:  # None: the order keeps nothing of it (refunded already)
        await send_refund(ctx, refund, payment_intent_id)
    send_after_answer(ctx, emails)
    return outcome


def _apply_apart(uow: UnitOfWork, event: PaymentSucceeded) -> tuple[str, Any, str | None, list[Any]]:
    now = uow.now()
    order, = _orders_of(uow, [event])
    outcome, = _apply_payment(uow, [event], [order], now)
    if outcome != "recorded" or order is None:
        return outcome, None, None, []
    order = uow.orders.get(order.id)  # the whole row, locked above
    if order.state == OrderState.AWAITING_PAYMENT:  # paid late: `_apply_payment` did not pay it
        refund, email = _refund_late_payment(uow, order, paid_at=event.occurred_at, now=now)
        return "refunded", refund, order.payment_intent_id, [email]
    if order.state != OrderState.CANCELLED:
        return outcome, None, None, []
    if _honour_timely_payment(uow, order, paid_at=event.occurred_at, now=now):
        return "paid", None, None, []
    # money for an order cancelled for any other reason goes back automatically
    refund = open_refund(uow, order, amount_minor=None, clause="RS-V.1", reason="payment arrived for a cancelled order",
                         now=now, actor="stripe")
    return "refunded", refund, order.payment_intent_id, uow.outbox.queued  # a credit note's, if any (RS-IV.10)


LATE_PAYMENT = "it was paid after the 2-hour payment window"


def _refund_late_payment(uow: UnitOfWork, order: Order, *, paid_at: datetime, now: datetime) -> tuple[Any, Any]:
    """RS-V.1: the order awaiting a payment Stripe recorded after its window is cancelled, its units
    released and the money refunded, as the expiry job would have cancelled it had it run first."""
    assert order.payment_due_at is not None
    transition = fire(order.state, "refund_late_payment", now=now, paid_at=paid_at, payment_due_at=order.payment_due_at)
    uow.orders.move(order, transition, now)
    uow.timeline.record(order.id, transition, actor="stripe", now=now,
                        reason=f"paid at {_utc(paid_at)}, after the window that closed at {_utc(order.payment_due_at)}")
    lines = [line for line in uow.orders.lines(order.id) if line.state != LineState.CANCELLED]
    uow.products.release(units_of(lines))
    refund = open_refund(uow, order, amount_minor=None, clause="RS-V.1", reason=LATE_PAYMENT, now=now, actor="stripe")
    cancel_lines(uow, order, lines, "refund_late_payment", actor="stripe", now=now, note=LATE_PAYMENT)
    return refund, tell_cancelled(uow, order, Cause.PAID_TOO_LATE, "RS-V.1", refund, now)


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _honour_timely_payment(uow: UnitOfWork, order: Order, *, paid_at: datetime, now: datetime) -> bool:
    """RS-V.1 boundary (lifecycle.paid_in_time_after_expiry): re-open an order the expiry job
    cancelled when Stripe recorded the payment within the window, if its units can be held again."""
    try:
        transition = fire(order.state, "honour_timely_payment", now=now, paid_at=paid_at,
                          payment_due_at=order.payment_due_at, cancelled_by_event=uow.timeline.last_event(order.id))
    except DomainError:
        return False
    # Every line of the order (none was confirmed before it expired): cancelled with it by the job,
    # or still `ordered` when the job cancelled it before lines followed their order.
    lines = [line for line in uow.orders.lines(order.id) if line.state in (LineState.ORDERED, LineState.CANCELLED)]
    held: Counter[str] = Counter()
    for line in lines:
        if not uow.products.reserve(line.sku, line.quantity):
            uow.products.release(held)  # RS-V.5.6: the units are gone; refund instead
            return False
        held[line.sku] += line.quantity
    uow.orders.move(order, transition, now)  # no longer cancelled: the move clears cancelled_at
    reason = f"paid at {paid_at.isoformat()}, within the window"
    uow.timeline.record(order.id, transition, actor="stripe", now=now, reason=reason)
    moves = {line.id: ORDER_LINE.fire(line.state, transition.event, now=now, paid_at=paid_at,
                                      payment_due_at=order.payment_due_at, cancelled_by_event="expire_payment")
             for line in lines if line.state == LineState.CANCELLED}  # the order's guard passed above
    move_lines(uow, order.id, moves, actor="stripe", now=now)
    return True


async def payment_failed(ctx: ShopContext, event: PaymentFailed) -> str:
    """A failed attempt is recorded; the order stays payable within its window (RS-V.1)."""
    return await ctx.db.transaction(lambda uow: _payment_failed(uow, event))


def _payment_failed(uow: UnitOfWork, event: PaymentFailed) -> str:
    now = uow.now()
    order, = _orders_of(uow, [event])
    amount = event.amount
    if not uow.ledger.append([PaymentFact(
            fact_key(event.event_id), PAYMENT_FAILED, order.id if order else None, event.payment_intent_id,
            event.occurred_at, now, amount.amount_minor if amount else None, amount.currency if amount else None)]):
        return "duplicate"
    # The order awaiting payment stays payable within its window (RS-V.1): the attempt on its timeline.
    # One paid, or cancelled, since: the ledger has the report, the order's life has no step for it.
    if order is not None and "payment_failed" in ORDER.allowed_events(order.state):
        uow.timeline.record(order.id, fire(order.state, "payment_failed", now=now), actor="stripe", now=now,
                            reason=event.reason)
    return "recorded"


async def payment_cancelled(ctx: ShopContext, event: PaymentCancelled) -> str:
    """Recorded for staff; the order's own window decides what happens to it (RS-V.1)."""
    def record(uow: UnitOfWork) -> str:
        order, = _orders_of(uow, [event])
        fact = PaymentFact(fact_key(event.event_id), PAYMENT_CANCELED, order.id if order else None,
                           event.payment_intent_id, event.occurred_at, uow.now())
        return "recorded" if uow.ledger.append([fact]) else "duplicate"
    return await ctx.db.transaction(record)
