"""The one writer of the outboxes: e-mails to customers and calls owed to Stripe, written in the
transaction of what they announce and sent after it; leases on them, so two senders never send one
row twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Row

from shop.adapters.tables import OutboxEmail, User, table_of

LEASE = timedelta(minutes=5)

_emails, _users = table_of(OutboxEmail), table_of(User)


class OutboxStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def queue_emails(self, rows: Sequence[dict[str, Any]]) -> list[Row[Any]]:
        """E-mails (rows of `outbox_emails`) queued in one statement; the rows as written, in the
        order given."""
        if not rows:
            return []
        statement = insert(_emails).returning(*_emails.c, sort_by_parameter_order=True)
        return list(self._db.execute(statement, list(rows)))

    def address_of(self, customer_id: int) -> str:
        return self._db.execute(select(_users.c.email).where(_users.c.id == customer_id)).scalar_one()

    # (added by placing)
    def queue_emails_at_once(self, rows: Sequence[dict[str, Any]]) -> list[Row[Any]]:
        """`queue_emails` in one statement on SQLite too, where asking SQLAlchemy for the rows in the
        order given sends one INSERT a row (shop.adapters.stores.orders, `_ADD_LINES`); the rows as
        written, in the order given (SQLite numbers them in the order of the VALUES)."""
        if not rows:
            return []
        if self._db.dialect.name != "sqlite":
            return self.queue_emails(rows)
        return sorted(self._db.execute(_QUEUE_UNSORTED, list(rows)), key=lambda row: row.id)


_QUEUE_UNSORTED = insert(_emails).returning(*_emails.c)  # (added by placing)
