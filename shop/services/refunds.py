"""Refunds: recorded in the order's transaction, then sent to Stripe (RS-III.4: back through the
original payment method, in the original currency)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from shop.adapters.stripe_gateway import PaymentProviderError
from shop.adapters.tables import Order, PaymentEvent, Refund
from shop.domain.deadlines import refund_due_by
from shop.domain.errors import Conflict, NotFound
from shop.domain.markets import Market
from shop.services.context import ShopContext

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
    attempts = await session.exec(select(func.count()).where(
        PaymentEvent.fact_key.startswith(f"{refund.id}:{REFUND_REQUESTED}")))  # type: ignore[attr-defined]
    attempt = int(attempts.one()) + (kind == REFUND_REQUESTED)
    key = f"{refund.id}:{kind}" if kind == REFUND_SUCCEEDED else f"{refund.id}:{kind}:{attempt}"
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
        session.add(refund)
        await record_refund_fact(session, refund, REFUND_REQUESTED, now)
    await send_refund(ctx, refund, order.payment_intent_id)
    return refund


async def send_refund(ctx: ShopContext, refund: Refund, payment_intent_id: str | None) -> None:
    """Ask Stripe to pay back; the refund id is the idempotency key, so a retry never pays twice.
    A refused call leaves the refund `failed` and visible for staff to retry."""
    if payment_intent_id is None:
        return  # instalment orders: the provider pays back, staff record it
    try:
        sent = await ctx.stripe.refund(
            payment_intent_id=payment_intent_id,
            amount_minor=refund.amount_minor,
            idempotency_key=f"refund:{refund.id}",
            refund_id=refund.id,
        )
        state, stripe_id, failure = _state_of(sent.status), sent.id, None
    except PaymentProviderError as error:
        log.warning("refund %s failed at Stripe: %s", refund.id, error)
        state, stripe_id, failure = "failed", None, str(error)[:500]
    async with ctx.sessions() as session, session.begin():
        row = await session.get(Refund, refund.id, with_for_update=True)
        if row is None:
            return
        row.stripe_refund_id = row.stripe_refund_id or stripe_id
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


def _state_of(stripe_status: str) -> str:
    return {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(stripe_status, "pending")
