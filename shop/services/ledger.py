"""What staff read of the payment ledger: an order's facts with what it has received and given
back, and the facts flagged for them (a payment that did not match its order, or matched none)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.services.context import ShopContext

MOST_FLAGGED = 200
"""The most flagged facts one page holds."""


@dataclass(frozen=True)
class OrderLedger:
    facts: Sequence[Any]  # rows of the ledger, in the order they were recorded
    paid_minor: int  # received (a flagged fact is not counted)
    refunded_minor: int  # given back or on its way back
    currency: str


async def ledger_of(ctx: ShopContext, order_id: str) -> OrderLedger:
    """The order's facts in the order they were recorded, and its totals as the ledger derives them."""
    def read(uow: UnitOfWork) -> OrderLedger:
        currency = uow.orders.get(order_id).currency  # 404 for an order that does not exist
        return OrderLedger(uow.ledger.facts_of(order_id), uow.ledger.paid_minor(order_id),
                           uow.ledger.refunded_minor(order_id), currency)
    return await ctx.db.read(read)


async def flagged_facts(ctx: ShopContext, *, limit: int, before: int | None = None) -> list[Any]:
    """Facts flagged for staff, newest first; `before` a fact id, for the page after one that ended there."""
    return await ctx.db.read(lambda uow: uow.ledger.flagged(limit=limit, before=before))
