"""Refunds: recorded in the order's transaction, then sent to Stripe (RS-III.4: back through the
original payment method, in the original currency; RS-VII.10: without delay). Every change of a
refund's state is a transition of the refund machine on the order's timeline, and each attempt's
request, failure and success a fact of the payment ledger, from which what an order keeps is derived."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shop.adapters.stripe_gateway import PaymentProviderError
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.deadlines import refund_due_by
from shop.domain.errors import Conflict
from shop.domain.machine import Transition
from shop.domain.markets import Market
from shop.domain.payment_events import RefundNews, RefundUpdated
from shop.domain.payment_facts import (
    REFUND_FAILED, REFUND_REQUESTED, REFUND_SUCCEEDED, PaymentFact, fact_key,
)
from shop.domain.refunds import REFUND, RefundState
from shop.services.context import ShopContext
from shop.services.invoices import correct_invoice

log = logging.getLogger(__name__)

Refund = Any
"""A refund as its store reads it (a row: `refund.id`, `refund.state` …)."""

PENDING, SUCCEEDED, FAILED = RefundState.PENDING, RefundState.SUCCEEDED, RefundState.FAILED
_SETTLED_BY = {SUCCEEDED: "succeed", FAILED: "fail"}
"""The refund machine's event of each outcome Stripe (or staff) may report."""


def _record(uow: UnitOfWork, refund: Refund, transition: Transition, *, actor: str, now: datetime,
            fact: str | None) -> None:
    """The refund's transition on its order's timeline and, where it is one, its ledger fact."""
    uow.timeline.record(refund.order_id, transition, actor=actor, now=now, subject_id=refund.id)
    if fact is not None:
        uow.ledger.append([refund_fact(refund, fact, now)])


def refund_fact(refund: Refund, kind: str, now: datetime) -> PaymentFact:
    """A refund's ledger fact: each attempt has its own requested and failed fact, a refund succeeds once."""
    key = fact_key(refund.id, kind, None if kind == REFUND_SUCCEEDED else refund.attempts)
    return PaymentFact(key, kind, refund.order_id, None, now, now, refund.amount_minor, refund.currency)


REASON_MOST = 200
"""Characters of a reason a refund keeps: a summary of its cause (the cause's own words, a customer's
reason for cancelling of up to 500, stay whole on the order's timeline)."""


def open_refund(uow: UnitOfWork, order: Any, *, amount_minor: int | None, reason: str, clause: str,
                now: datetime, actor: str = "shop", due_by: datetime | None = None) -> Refund | None:
    """Record a refund of `amount_minor` (None: everything the order still keeps), never more than
    was paid and not yet refunded (RS-III.4); leased to the caller, who sends it after the commit
    (`send_refund`). Due 14 days from now, or by `due_by` where the deadline ran from earlier (a
    withdrawal's: from its statement, RS-VII.10). After the order's invoice, the refund's corrected
    invoice is issued with it (RS-IV.10), its e-mail queued. None when there is nothing to give back.
    `reason` is kept to its first `REASON_MOST` characters."""
    keeps = uow.ledger.keeps_minor(order.id)
    amount = keeps if amount_minor is None else min(amount_minor, keeps)
    if amount <= 0:
        return None
    refund = uow.refunds.add({
        "id": str(uuid.uuid4()), "order_id": order.id, "amount_minor": amount, "currency": order.currency,
        "reason": reason[:REASON_MOST], "clause": clause, "due_by": due_by or refund_due_by(now, Market(order.market)),
        "state": PENDING,
        "created_at": now, "updated_at": now, "attempts": 1}, now=now)
    _record(uow, refund, REFUND.start("request", PENDING), actor=actor, now=now, fact=REFUND_REQUESTED)
    correct_invoice(uow, order, refund, now)  # RS-IV.10: after an invoice, a corrected one
    return refund


def mark_refund(uow: UnitOfWork, refund: Refund, state: str, now: datetime, failure: str | None = None, *,
                actor: str = "stripe", stripe_refund_id: str | None = None) -> Refund:
    """Settle a refund as `state` (the REFUND machine: a succeeded refund never changes again, the
    money is back; a failed one may still be reported succeeded). News that it is still on its way
    (pending), or of the state it is in, is no change. Stripe's id, when given, is kept. The refund
    as it is now."""
    event = _SETTLED_BY.get(state)
    if event is None or event not in REFUND.allowed_events(refund.state):
        if stripe_refund_id and refund.stripe_refund_id != stripe_refund_id:
            return uow.refunds.take_stripe_id(refund.id, stripe_refund_id)
        return refund
    transition = REFUND.fire(refund.state, event)
    refund = uow.refunds.settle(refund.id, state, now=now, failure=failure if state == FAILED else None,
                                stripe_refund_id=stripe_refund_id)
    _record(uow, refund, transition, actor=actor, now=now,
            fact=REFUND_SUCCEEDED if state == SUCCEEDED else REFUND_FAILED)
    return refund


async def retry_refund(ctx: ShopContext, refund_id: str) -> Refund:
    """Staff send a failed refund again: a new attempt, never more than the order still keeps
    (RS-III.4). The failed attempt may have reached Stripe and only its answer been lost: Stripe is
    asked first."""
    refund, payment_intent_id = await ctx.db.transaction(lambda uow: _retry(uow, refund_id))
    return await send_refund(ctx, refund, payment_intent_id, look_first=True)


def _retry(uow: UnitOfWork, refund_id: str) -> tuple[Refund, str | None]:
    refund = uow.refunds.get(refund_id, lock=True)
    if "retry" not in REFUND.allowed_events(refund.state):
        raise Conflict("refund_not_failed", f"only a failed refund is retried; this one is {refund.state}")
    order = uow.orders.get(refund.order_id)
    if refund.amount_minor > uow.ledger.keeps_minor(order.id):
        raise Conflict("refund_exceeds_payment", "the order keeps less than this refund", clause="RS-III.4")
    now = uow.now()
    transition = REFUND.fire(refund.state, "retry")
    refund = uow.refunds.retry(refund.id, transition.to_state, now=now)
    _record(uow, refund, transition, actor="ops", now=now, fact=REFUND_REQUESTED)
    return refund, order.payment_intent_id


async def send_refund(ctx: ShopContext, refund: Refund, payment_intent_id: str | None, *,
                      look_first: bool = False) -> Refund:
    """Ask Stripe to pay back; the refund as Stripe's answer left it. The idempotency key names the
    refund and its attempt: asking again for one attempt never pays twice, while a staff retry is a
    request of its own (a repeated key gets Stripe's first answer back). `look_first` where an
    earlier request may have reached Stripe without its answer reaching the shop: a refund Stripe
    made for this one, and has not failed or cancelled, is taken as the answer however old it is
    (Stripe keeps a key for 24 hours). A refused call leaves the refund `failed` and visible for
    staff to retry."""
    if payment_intent_id is None:
        return refund  # instalment orders: the provider pays back, staff record it
    try:
        sent = await _made_before(ctx, refund, payment_intent_id) if look_first else None
        if sent is None:
            sent = await ctx.stripe.refund(payment_intent_id=payment_intent_id, amount_minor=refund.amount_minor,
                                           idempotency_key=f"refund:{refund.id}:{refund.attempts}",
                                           refund_id=refund.id, attempt=refund.attempts)
        state, stripe_id, failure = sent.status, sent.stripe_refund_id, None
    except PaymentProviderError as error:
        log.warning("refund %s failed at Stripe: %s", refund.id, error)
        state, stripe_id, failure = FAILED, None, str(error)[:500]
    return await _settle(ctx, refund, state, stripe_id, failure)


async def ask_stripe_about(ctx: ShopContext, refund: Refund) -> Refund:
    """A refund Stripe answered `pending` whose outcome has not come (its event lost or late):
    Stripe's word on it now. Stripe out of reach: asked again on a later run; Stripe not knowing
    it: `failed`, for staff to look at and retry."""
    assert refund.stripe_refund_id is not None
    try:
        current = await ctx.stripe.refund_now(refund.stripe_refund_id)
        state, failure = current.status, current.failure
    except PaymentProviderError as error:
        log.warning("refund %s (%s) not looked up at Stripe: %s", refund.id, refund.stripe_refund_id, error)
        if error.retryable:
            return refund
        state, failure = FAILED, str(error)[:500]
    return await _settle(ctx, refund, state, refund.stripe_refund_id, failure)


async def _settle(ctx: ShopContext, refund: Refund, state: str, stripe_id: str | None, failure: str | None) -> Refund:
    """Record Stripe's answer on the refund."""
    def settle(uow: UnitOfWork) -> Refund:
        row = uow.refunds.find(refund.id, lock=True)
        if row is None:
            return refund
        return mark_refund(uow, row, state, uow.now(), failure, stripe_refund_id=stripe_id)
    return await ctx.db.transaction(settle)


async def record_provider_refund(ctx: ShopContext, refund_id: str) -> Refund:
    """Staff record that the instalment provider paid a refund back (no Stripe payment to refund)."""
    def record(uow: UnitOfWork) -> Refund:
        refund = uow.refunds.get(refund_id, lock=True)
        if uow.orders.get(refund.order_id).payment_intent_id is not None:
            raise Conflict("refund_paid_through_stripe", "Stripe pays this refund back; it is not recorded by hand")
        if refund.state != PENDING:
            raise Conflict("refund_not_pending", f"this refund is {refund.state}")
        return mark_refund(uow, refund, SUCCEEDED, uow.now(), actor="ops")
    return await ctx.db.transaction(record)


async def _made_before(ctx: ShopContext, refund: Refund, payment_intent_id: str) -> RefundNews | None:
    made = await ctx.stripe.refunds_made_for(payment_intent_id=payment_intent_id, refund_id=refund.id)
    return next((sent for sent in made if sent.status != FAILED), None)


async def settle_pending_refunds(ctx: ShopContext, now: datetime, *, batch_size: int = 100,
                                 on_settled: Callable[[Refund, str], None] | None = None) -> Counter[str]:
    """Refunds still pending once their sender's lease has passed (RS-VII.10: without delay):
    one Stripe never answered (the process stopped between its commit and the call, or lost the
    answer) is sent again, looked up at Stripe first; one Stripe answered `pending` is asked about,
    in case its outcome's event was lost. Run by `make expire-payments`; two runs at once take
    different refunds, and a refund still pending is taken up again a lease later. Returns how many
    it left in each state (`succeeded`, `pending`, `failed`); `on_settled` hears of each refund and
    its order's number."""
    report: Counter[str] = Counter()
    while leased := await ctx.db.transaction(
            lambda uow: uow.refunds.lease_owed(PENDING, now=now, limit=batch_size)):
        for refund_id in leased:
            owed = await ctx.db.read(lambda uow, refund_id=refund_id: uow.refunds.with_order(refund_id))
            if owed is None:
                continue
            if owed.stripe_refund_id is None:
                refund = await send_refund(ctx, owed, owed.order_payment_intent_id, look_first=True)
            else:
                refund = await ask_stripe_about(ctx, owed)
            report[refund.state] += 1
            if on_settled is not None:
                on_settled(refund, owed.order_number)
    return report


async def refund_updated(ctx: ShopContext, event: RefundUpdated) -> str:
    """Stripe's news of refunds: each outcome settles the shop's refund it is (a refund on its way
    changes nothing); the event is recorded once, so a repeated delivery is a duplicate."""
    return await ctx.db.transaction(lambda uow: _refund_updated(uow, event))


def _refund_updated(uow: UnitOfWork, event: RefundUpdated) -> str:
    now = uow.now()
    if not uow.ledger.append([PaymentFact(fact_key(event.event_id), event.kind, None, event.payment_intent_id,
                                          event.occurred_at, now)]):
        return "duplicate"
    for news in event.refunds:
        refund = _refund_of(uow, news)
        if refund is not None and news.status != PENDING:  # an outcome, not news of one on its way
            mark_refund(uow, refund, news.status, now, news.failure)
    return "recorded"


def _refund_of(uow: UnitOfWork, news: RefundNews) -> Refund | None:
    """The shop's refund, locked, that Stripe's is: by Stripe's id, else by the refund and attempt
    its metadata names, if the shop is still waiting for that attempt's answer (then Stripe's id is
    kept: the answer was lost)."""
    refund = uow.refunds.by_stripe_id(news.stripe_refund_id)
    if refund is not None or news.shop_refund_id is None:
        return refund
    refund = uow.refunds.find(news.shop_refund_id, lock=True)
    if (refund is None or refund.stripe_refund_id is not None or refund.state != PENDING
            or news.attempt != str(refund.attempts)):
        return None
    return uow.refunds.take_stripe_id(refund.id, news.stripe_refund_id)
