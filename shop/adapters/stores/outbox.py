"""The one writer of the outboxes: e-mails to customers and calls owed to Stripe, written in the
transaction of what they announce and sent after it; leases on them, so two senders never send one
row twice."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import String, Table, any_, bindparam, case, delete, insert, literal, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Row

from shop.adapters.after_sale_tables import Invoice
from shop.adapters.stores import fast
from shop.adapters.tables import Order, OutboxEmail, StripeCommand, User, UTCDateTime, table_of

LEASE = timedelta(minutes=5)

_emails, _commands, _users, _orders = table_of(OutboxEmail), table_of(StripeCommand), table_of(User), table_of(Order)
_EMAIL_KEYS = tuple(_emails.c.keys())
_invoices = table_of(Invoice)
_DROP_UNSENT = delete(_emails).where(  # RS-XII; an invoice's or credit note's e-mail stays owed (RS-IV.8-10)
    _emails.c.to == bindparam("b_to"), _emails.c.sent_at.is_(None),
    ~select(_invoices.c.id).where(_invoices.c.email_id == _emails.c.id).exists())
_ADDRESS = select(_users.c.email).where(_users.c.id == bindparam("b_customer"))
_MARK_EMAIL = (update(_emails).where(_emails.c.id == bindparam("b_id"))
               .values(attempts=_emails.c.attempts + 1, last_error=bindparam("b_error"),
                       sent_at=bindparam("b_sent_at"), accepted_at=bindparam("b_accepted_at")))
_MARK_COMMAND = (update(_commands).where(_commands.c.id == bindparam("b_id"))
                 .values(attempts=_commands.c.attempts + 1, last_error=bindparam("b_error"),
                         sent_at=bindparam("b_sent_at")))
_IDS = {"postgresql": _orders.c.id == any_(bindparam("b_ids", type_=postgresql.ARRAY(String))),
        "sqlite": _orders.c.id.in_(bindparam("b_ids", expanding=True))}
"""`orders.id IN ids`; on PostgreSQL `= ANY(array)`, one parameter: an IN of 2,000 ids is rendered
anew, cast by cast, on every statement (py-spy: 18 % of the expiry's samples; the 100k expiry went
from 10.9 to 8.6 s)."""
_CANCEL_INTENTS = {
    dialect: insert(_commands).from_select(
        ["kind", "payment_intent_id", "order_id", "created_at", "attempts"],
        select(bindparam("b_kind", type_=String), _orders.c.payment_intent_id, _orders.c.id,
               bindparam("b_now", type_=UTCDateTime()), literal(0))
        .where(among, _orders.c.payment_intent_id.is_not(None)))
    for dialect, among in _IDS.items()}


class OutboxStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self.queued: list[Row[Any]] = []
        """Every e-mail this unit of work queued, in order: what its use case sends once it has
        answered, a message queued deep in a rule (a corrected invoice, RS-IV.10) as well."""

    def queue_emails(self, rows: Sequence[dict[str, Any]]) -> list[Row[Any]]:
        """E-mails (rows of `outbox_emails`) queued in one statement; the rows as written, in the
        order given."""
        if not rows:
            return []
        queued = sorted(fast.insert_rows(self._db, _emails, rows, returning=_EMAIL_KEYS),
                        key=lambda row: row.id)  # new ids in the order of the VALUES list
        self.queued.extend(queued)
        return queued

    def drop_unsent_to(self, address: str) -> int:
        """RS-XII: e-mails queued to `address` and not sent yet are not sent (an erased account's),
        but for an invoice's or a credit note's, which the buyer is owed (RS-IV.8-10). How many."""
        return self._db.execute(_DROP_UNSENT, {"b_to": address}).rowcount

    def address_of(self, customer_id: int) -> str:
        return self._db.execute(_ADDRESS, {"b_customer": customer_id}).scalar_one()

    # --- e-mails and Stripe commands of the expiry job, and their senders ---------------------

    def queue_worded_per_market(self, order_ids: Sequence[str], worded: Mapping[str, tuple[str, str]],
                                mark: str, kind: str, now: datetime) -> None:
        """One e-mail to each order's customer in one INSERT … SELECT: `worded` holds each market's
        subject and body with `mark` where the order's number goes, put in by the database (the
        rows never pass through Python). Each e-mail's Message-ID part is its order's id and one
        random token of the statement (shop.services.mail.message_id: an order, a token)."""
        statement = _worded_statement(self._db.dialect.name, tuple(sorted(worded.items())), mark)
        self._db.execute(statement, {"b_ids": list(order_ids), "b_kind": kind, "b_now": now,
                                     "b_token": secrets.token_hex(8)})

    def queue_intent_cancellations(self, order_ids: Sequence[str], kind: str, now: datetime) -> None:
        """Each order's PaymentIntent's cancellation, owed to Stripe, in one INSERT … SELECT."""
        self._db.execute(_CANCEL_INTENTS[self._db.dialect.name],
                         {"b_ids": list(order_ids), "b_kind": kind, "b_now": now})

    def lease_emails(self, now: datetime, limit: int) -> list[Row[Any]]:
        """E-mails not sent that no other sender holds, held for LEASE."""
        return lease(self._db, _emails, now, limit, *_emails.c)

    def lease_stripe_commands(self, now: datetime, limit: int) -> list[Row[Any]]:
        """Stripe commands not sent that no other sender holds: (id, payment_intent_id)."""
        return lease(self._db, _commands, now, limit, _commands.c.id, _commands.c.payment_intent_id)

    def mark_email(self, email_id: int, *, sent_at: datetime | None, error: str | None,
                   accepted_at: datetime | None = None) -> None:
        """An attempt: sent (`sent_at`, and when the SMTP server accepted it) or not (`error`, kept
        for the next attempt)."""
        self._db.execute(_MARK_EMAIL, {"b_id": email_id, "b_sent_at": sent_at, "b_accepted_at": accepted_at,
                                       "b_error": error})

    def mark_stripe_commands(self, attempts: Sequence[tuple[int, datetime | None, str | None]]) -> None:
        """Attempts (id, sent_at or None, error), in one statement."""
        if attempts:
            self._db.execute(_MARK_COMMAND, [{"b_id": command_id, "b_sent_at": sent_at, "b_error": error}
                                             for command_id, sent_at, error in attempts])


def lease(connection: Connection, table: Table, now: datetime, limit: int, *columns: Any,
          owed: Any = None) -> list[Row[Any]]:
    """Claim up to `limit` rows of `table` still owed (unsent, or as `owed` says) whose lease is
    free, for LEASE; `columns` of each. On PostgreSQL rows another sender is claiming are skipped."""
    due = (select(table.c.id)
           .where(table.c.sent_at.is_(None) if owed is None else owed,
                  table.c.claimed_until.is_(None) | (table.c.claimed_until < now))
           .order_by(table.c.id).limit(limit))
    if connection.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    return list(connection.execute(update(table).where(table.c.id.in_(due.scalar_subquery()))
                                   .values(claimed_until=now + LEASE).returning(*columns)))


@cache
def _worded_statement(dialect: str, worded: tuple[tuple[str, tuple[str, str]], ...], mark: str) -> Any:
    """The INSERT … SELECT of `queue_worded_per_market`, built once for its wording."""
    def text(part: int) -> Any:
        return case(*((_orders.c.market == market, _numbered(texts[part], mark)) for market, texts in worded))

    return insert(_emails).from_select(
        ["order_id", "to", "subject", "body", "kind", "created_at", "attempts", "message_id"],
        select(_orders.c.id, _users.c.email, text(0), text(1), bindparam("b_kind", type_=String),
               bindparam("b_now", type_=UTCDateTime()), literal(0),
               _orders.c.id + literal(".") + bindparam("b_token", type_=String))
        .join(_users, _users.c.id == _orders.c.customer_id)
        .where(_IDS[dialect]))


def _numbered(text: str, mark: str) -> Any:
    """`text` with the order's number wherever `mark` stands, as an SQL expression."""
    head, *rest = text.split(mark)
    expression: Any = literal(head)
    for part in rest:
        expression = expression + _orders.c.number + literal(part)
    return expression
