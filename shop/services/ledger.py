"""What staff read of the payment ledger: an order's facts with what it has received and given
back, and the facts flagged for them (a payment that did not match its order, or matched none)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import col, select

from shop.adapters.tables import PaymentEvent
from shop.services.context import ShopContext
from shop.services.orders_common import load_order
from shop.services.refunds import paid_minor, refunded_minor

MOST_FLAGGED = 200
"""The most flagged facts one page holds."""


@dataclass(frozen=True)
class OrderLedger:
    facts: Sequence[PaymentEvent]
    paid_minor: int  # received (a flagged fact is not counted)
    refunded_minor: int  # given back or on its way back
    currency: str


async def ledger_of(ctx: ShopContext, order_id: str) -> OrderLedger:
    """The order's facts in the order they were recorded, and its totals as the ledger derives them."""
    async with ctx.sessions() as session:
        order = await load_order(session, order_id)
        facts = (await session.exec(select(PaymentEvent).where(PaymentEvent.order_id == order_id)
                                    .order_by(col(PaymentEvent.id)))).all()
        return OrderLedger(facts, await paid_minor(session, order_id), await refunded_minor(session, order_id),
                           order.currency)


async def flagged_facts(ctx: ShopContext, *, limit: int, before: int | None = None) -> list[PaymentEvent]:
    """Facts flagged for staff, newest first; `before` a fact id, for the page after one that ended there."""
    statement = select(PaymentEvent).where(col(PaymentEvent.flagged).is_not(None))
    if before is not None:
        statement = statement.where(col(PaymentEvent.id) < before)
    async with ctx.sessions() as session:
        return list((await session.exec(statement.order_by(col(PaymentEvent.id).desc()).limit(limit))).all())
