"""Leases on outbox rows (Stripe commands, e-mails) and on refunds owed to Stripe: a sender claims
a batch for a while, so a second sender — another process, another machine — skips it; what is not
marked sent by then is claimed again on a later run. The statements are the outbox store's
(shop.adapters.stores.outbox); e-mails and Stripe commands are leased through `uow.outbox`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shop.adapters.stores.outbox import LEASE
from shop.adapters.stores.outbox import lease as lease_rows
from shop.adapters.tables import table_of
from shop.services.context import ShopContext

__all__ = ["LEASE", "lease"]


async def lease(ctx: ShopContext, model: Any, now: datetime, limit: int, *columns: Any,
                owed: Any = None) -> list[Any]:
    """Claim up to `limit` rows of `model` still owed (unsent, or as `owed` says) whose lease is
    free; returns `columns` of each (the refunds' sender, until its store leases them itself)."""
    table = table_of(model)
    picked = [table.c[column.key] for column in columns] if columns != (model,) else list(table.c)
    return await ctx.db.transaction(lambda uow: lease_rows(uow.connection, table, now, limit, *picked,
                                                           owed=owed))
