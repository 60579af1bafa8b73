"""Refunds: recorded in the order's transaction, then sent to Stripe (RS-III.4: back through the
original payment method, in the original currency)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from shop.adapters.stripe_gateway import PaymentProviderError
from shop.adapters.tables import Order, PaymentEvent, Refund
from shop.domain.deadlines import refund_due_by
from shop.domain.markets import Market
from shop.services.context import ShopContext

log = logging.getLogger(__name__)

PAYMENT_SUCCEEDED = "payment_intent.succeeded"
INSTALLMENT_APPROVED = "installment.approved"
PAID_KINDS = (PAYMENT_SUCCEEDED, INSTALLMENT_APPROVED)


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
    """What is refunded or on its way back (failed refunds do not count)."""
    total = await session.exec(
        select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
            Refund.order_id == order_id, Refund.state != "failed"
        )
    )
    return int(total.one())


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
        if row is None or row.state == "succeeded":
            return
        row.state = state
        row.stripe_refund_id = row.stripe_refund_id or stripe_id
        row.failure = failure
        row.updated_at = await ctx.now(session)
        session.add(row)


def _state_of(stripe_status: str) -> str:
    return {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(stripe_status, "pending")
