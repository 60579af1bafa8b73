"""Leases on outbox rows (Stripe commands, e-mails) and on refunds owed to Stripe: a sender claims
a batch for a while, so a second sender — another process, another machine — skips it; what is not
marked sent by then is claimed again on a later run."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlmodel import col, select

from shop.services.context import ShopContext

LEASE = timedelta(minutes=5)


async def lease(ctx: ShopContext, model: Any, now: datetime, limit: int, *columns: Any,
                owed: ColumnElement[bool] | None = None) -> list[Any]:
    """Claim up to `limit` rows of `model` still owed (unsent, or as `owed` says) whose lease is
    free; returns `columns` of each."""
    async with ctx.sessions() as session, session.begin():
        due = (select(model.id)
               .where(col(model.sent_at).is_(None) if owed is None else owed,
                      col(model.claimed_until).is_(None) | (col(model.claimed_until) < now))
               .order_by(model.id).limit(limit))
        if session.bind.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        leased = await session.exec(
            update(model).where(col(model.id).in_(due.scalar_subquery()))
            .values(claimed_until=now + LEASE)
            .returning(*columns)
            .execution_options(synchronize_session=False))
        return list(leased.all())
