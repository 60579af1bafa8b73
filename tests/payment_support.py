"""Helpers of the payment and refund tests: the ledger and refunds as the database holds them, read
through the unit of work (`shop.ctx.db.read`)."""

from __future__ import annotations

from typing import Any


async def paid_minor(shop: Any, order_id: str) -> int:
    return await shop.ctx.db.read(lambda uow: uow.ledger.paid_minor(order_id))


async def refunded_minor(shop: Any, order_id: str) -> int:
    return await shop.ctx.db.read(lambda uow: uow.ledger.refunded_minor(order_id))


async def facts_of(shop: Any, order_id: str) -> list[Any]:
    """The order's ledger facts, in the order they were recorded."""
    return await shop.ctx.db.read(lambda uow: uow.ledger.facts_of(order_id))


async def select_all(shop: Any, statement: Any) -> list[Any]:
    return await shop.ctx.db.read(lambda uow: list(uow.connection.execute(statement)))
