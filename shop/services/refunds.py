"""Refunds: recorded in the order's transaction, then sent to Stripe (RS-III.4: back through the
original payment method, in the original currency)."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shop.adapters.stripe_gateway import PaymentProviderError
from shop.adapters.stripe_gateway import Refund as StripeRefund
from shop.adapters.tables import Order, PaymentEvent, Refund
from shop.domain.deadlines import refund_due_by
from shop.domain.errors import Conflict, NotFound
from shop.domain.markets import Market
from shop.services.context import ShopContext
from shop.services.outbox import LEASE, lease

log = logging.getLogger(__name__)

PAYMENT_SUCCEEDED = "payment_intent.succeeded"
INSTALLMENT_APPROVED = "installment.approved"
PAID_KINDS = (PAYMENT_SUCCEEDED, INSTALLMENT_APPROVED)
REFUND_REQUESTED = "refund.requested"
REFUND_SUCCEEDED = "refund.succeeded"
REFUND_FAILED = "refund.failed"


async def paid_minor(session: AsyncSession, order_id: str) -> int:
    """What the order has received, from the payment ledger (flagged facts are not applied)."""
    total = await session.exec(
        select(func.coalesce(func.sum(PaymentEvent.amount_minor), 0)).where(
            PaymentEvent.order_id == order_id,
            PaymentEvent.kind.in_(PAID_KINDS),  # type: ignore[attr-defined]
            PaymentEvent.flagged.is_(None),  # type: ignore[union-attr]
        )
    )
    return int(total.one())


async def refunded_minor(session: AsyncSession, order_id: str) -> int:
    """What is refunded or on its way back, from the ledger: every attempt requested, less the
    attempts that failed."""
    signed = case((PaymentEvent.kind == REFUND_FAILED, -PaymentEvent.amount_minor),
                  else_=PaymentEvent.amount_minor)
    total = await session.exec(
        select(func.coalesce(func.sum(signed), 0)).where(
            PaymentEvent.order_id == order_id,
            PaymentEvent.kind.in_((REFUND_REQUESTED, REFUND_FAILED)),  # type: ignore[attr-defined]
        )
    )
    return int(total.one())


async def record_refund_fact(session: AsyncSession, refund: Refund, kind: str, now: datetime) -> None:
    """Append a refund fact to the ledger; each attempt has its own requested and failed fact,
    a refund succeeds once."""
    key = f"{refund.id}:{kind}" if kind == REFUND_SUCCEEDED else f"{refund.id}:{kind}:{refund.attempts}"
    if (await session.exec(select(PaymentEvent.id).where(PaymentEvent.fact_key == key))).first() is None:
        session.add(PaymentEvent(fact_key=key, kind=kind, order_id=refund.order_id,
                                 amount_minor=refund.amount_minor, currency=refund.currency,
                                 occurred_at=now, recorded_at=now))


async def open_refund(
    session: AsyncSession,
    order: Order,
    *,
    amount_minor: int | None,
    reason: str,
    clause: str,
    now: datetime,
) -> Refund | None:
    """Record a refund of `amount_minor` (None: everything the order still keeps), never more than
    was paid and not yet refunded. Returns None when there is nothing to give back."""
    keeps = await paid_minor(session, order.id) - await refunded_minor(session, order.id)
    amount = keeps if amount_minor is None else min(amount_minor, keeps)
    if amount <= 0:
        return None
    refund = Refund(
        id=str(uuid.uuid4()),
        order_id=order.id,
        amount_minor=amount,
        currency=order.currency,
        reason=reason,
        clause=clause,
        due_by=refund_due_by(now, Market(order.market)),
        state="pending",
        created_at=now,
        updated_at=now,
        attempts=1,
        claimed_until=now + LEASE,  # the caller's to send after the commit (send_refund)
    )
    session.add(refund)
    await record_refund_fact(session, refund, REFUND_REQUESTED, now)
    return refund


async def mark_refund(session: AsyncSession, refund: Refund, state: str, now: datetime,
                      failure: str | None = None) -> None:
    """Move a refund to `state` once (a succeeded refund never changes again) and log the fact."""
    if refund.state == state or refund.state == "succeeded":
        return
    refund.state, refund.updated_at = state, now
    refund.failure = failure if state == "failed" else None
    session.add(refund)
    if state in ("succeeded", "failed"):
        await record_refund_fact(session, refund, REFUND_SUCCEEDED if state == "succeeded" else REFUND_FAILED, now)


async def retry_refund(ctx: ShopContext, refund_id: str) -> Refund:
    """Staff send a failed refund again: a new attempt, never more than the order still keeps."""
    async with ctx.sessions() as session, session.begin():
        refund = await session.get(Refund, refund_id, with_for_update=True)
        if refund is None:
            raise NotFound("refund_not_found", f"no refund {refund_id}")
        if refund.state != "failed":
            raise Conflict("refund_not_failed", f"only a failed refund is retried; this one is {refund.state}")
        order = await session.get(Order, refund.order_id)
        assert order is not None
        keeps = await paid_minor(session, order.id) - await refunded_minor(session, order.id)
        if refund.amount_minor > keeps:
            raise Conflict("refund_exceeds_payment", "the order keeps less than this refund", clause="RS-III.4")
        now = await ctx.now(session)
        refund.state, refund.failure, refund.updated_at = "pending", None, now
        # A new attempt: the failed one's Stripe refund, if it had one, is not this one's.
        refund.attempts, refund.stripe_refund_id, refund.claimed_until = refund.attempts + 1, None, now + LEASE
        session.add(refund)
        await record_refund_fact(session, refund, REFUND_REQUESTED, now)
    # The failed attempt may have reached Stripe and only its answer been lost.
    await send_refund(ctx, refund, order.payment_intent_id, look_first=True)
    return refund


async def send_refund(ctx: ShopContext, refund: Refund, payment_intent_id: str | None, *,
                      look_first: bool = False) -> None:
    """Ask Stripe to pay back. The idempotency key names the refund and its attempt: asking again
    for one attempt never pays twice, while a staff retry is a request of its own (a repeated key
    gets Stripe's first answer back). `look_first` where an earlier request may have reached Stripe
    without its answer reaching the shop: a refund Stripe made for this one, and has not failed or
    cancelled, is taken as the answer however old it is (Stripe keeps a key for 24 hours). A refused
    call leaves the refund `failed` and visible for staff to retry."""
    if payment_intent_id is None:
        return  # instalment orders: the provider pays back, staff record it
    try:
        sent = await _made_before(ctx, refund, payment_intent_id) if look_first else None
        if sent is None:
            sent = await ctx.stripe.refund(
                payment_intent_id=payment_intent_id,
                amount_minor=refund.amount_minor,
                idempotency_key=f"refund:{refund.id}:{refund.attempts}",
                refund_id=refund.id,
                attempt=refund.attempts,
            )
        state, stripe_id, failure = refund_state(sent.status), sent.id, None
    except PaymentProviderError as error:
        log.warning("refund %s failed at Stripe: %s", refund.id, error)
        state, stripe_id, failure = "failed", None, str(error)[:500]
    await _settle(ctx, refund, state, stripe_id, failure)


async def ask_stripe_about(ctx: ShopContext, refund: Refund) -> None:
    """A refund Stripe answered `pending` whose outcome has not come (its event lost or late):
    Stripe's word on it now. Stripe out of reach: asked again on a later run; Stripe not knowing
    it: `failed`, for staff to look at and retry."""
    assert refund.stripe_refund_id is not None
    try:
        current = await ctx.stripe.refund_now(refund.stripe_refund_id)
        state, failure = refund_state(current.status), current.failure_reason
    except PaymentProviderError as error:
        log.warning("refund %s (%s) not looked up at Stripe: %s", refund.id, refund.stripe_refund_id, error)
        if error.retryable:
            return
        state, failure = "failed", str(error)[:500]
    await _settle(ctx, refund, state, refund.stripe_refund_id, failure)


async def _settle(ctx: ShopContext, refund: Refund, state: str, stripe_id: str | None, failure: str | None) -> None:
    """Record Stripe's answer on the refund's row (and on `refund`)."""
    async with ctx.sessions() as session, session.begin():
        row = await session.get(Refund, refund.id, with_for_update=True)
        if row is None:
            return
        row.stripe_refund_id = stripe_id or row.stripe_refund_id
        await mark_refund(session, row, state, await ctx.now(session), failure)
    refund.state, refund.stripe_refund_id = row.state, row.stripe_refund_id


async def record_provider_refund(ctx: ShopContext, refund_id: str) -> Refund:
    """Staff record that the instalment provider paid a refund back (no Stripe payment to refund)."""
    async with ctx.sessions() as session, session.begin():
        refund = await session.get(Refund, refund_id, with_for_update=True)
        if refund is None:
            raise NotFound("refund_not_found", f"no refund {refund_id}")
        order = await session.get(Order, refund.order_id)
        if order is None or order.payment_intent_id is not None:
            raise Conflict("refund_paid_through_stripe", "Stripe pays this refund back; it is not recorded by hand")
        if refund.state != "pending":
            raise Conflict("refund_not_pending", f"this refund is {refund.state}")
        await mark_refund(session, refund, "succeeded", await ctx.now(session))
    return refund


async def _made_before(ctx: ShopContext, refund: Refund, payment_intent_id: str) -> StripeRefund | None:
    made = await ctx.stripe.refunds_made_for(payment_intent_id=payment_intent_id, refund_id=refund.id)
    return next((sent for sent in made if refund_state(sent.status) != "failed"), None)


async def settle_pending_refunds(ctx: ShopContext, now: datetime, *, batch_size: int = 100,
                                 on_settled: Callable[[Refund, str], None] | None = None) -> Counter[str]:
    """Refunds still pending once their sender's lease has passed (RS-VII.10: without delay):
    one Stripe never answered (the process stopped between its commit and the call, or lost the
    answer) is sent again, looked up at Stripe first; one Stripe answered `pending` is asked about,
    in case its outcome's event was lost. Run by `make expire-payments`; two runs at once take
    different refunds, and a refund still pending is taken up again a lease later. Returns how many
    it left in each state (`succeeded`, `pending`, `failed`); `on_settled` hears of each refund and
    its order's number."""
    owed = ((col(Refund.state) == "pending")
            & col(Refund.order_id).in_(select(Order.id).where(col(Order.payment_intent_id).is_not(None))))
    report: Counter[str] = Counter()
    while leased := await lease(ctx, Refund, now, batch_size, Refund.id, owed=owed):
        for refund_id, in leased:
            async with ctx.sessions() as session:
                refund = await session.get(Refund, refund_id)
                order = await session.get(Order, refund.order_id) if refund else None
            if refund is None or order is None:
                continue
            if refund.stripe_refund_id is None:
                await send_refund(ctx, refund, order.payment_intent_id, look_first=True)
            else:
                await ask_stripe_about(ctx, refund)
            report[refund.state] += 1
            if on_settled is not None:
                on_settled(refund, order.number)
    return report


async def refund_for_stripe(session: AsyncSession, data: StripeRefund) -> Refund | None:
    """The shop's refund, locked, that a refund in a Stripe event is: by Stripe's id, else by the
    refund and attempt its metadata names, if the shop is still waiting for that attempt's answer
    (then the id is kept: the answer was lost)."""
    row = (await session.exec(
        select(Refund).where(Refund.stripe_refund_id == data.id).with_for_update())).one_or_none()
    if row is not None:
        return row
    metadata = data.metadata
    if metadata is None or metadata.refund_id is None:
        return None
    row = await session.get(Refund, metadata.refund_id, with_for_update=True)
    if (row is None or row.stripe_refund_id is not None or row.state != "pending"
            or metadata.attempt != str(row.attempts)):
        return None
    row.stripe_refund_id = data.id
    session.add(row)
    return row


def refund_state(stripe_status: str | None) -> str:
    """The shop's state of a refund in the state Stripe gives."""
    return {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(stripe_status, "pending")
