"""The one writer of invoices and credit notes (RS-IV.8–9, RS-IV.10) and of their number series:
a document is written once, as issued, and never changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from shop.adapters.after_sale_tables import Invoice, InvoiceSeries
from shop.adapters.stores import OfIds, grouped
from shop.adapters.tables import OutboxEmail, table_of
from shop.domain.invoices import DocumentKind

_invoices, _series, _emails = table_of(Invoice), table_of(InvoiceSeries), table_of(OutboxEmail)
_INSERT = insert(_invoices).returning(*_invoices.c)
_INVOICE_OF = (select(_invoices).where(_invoices.c.order_id == bindparam("b_order_id"),
                                       _invoices.c.kind == DocumentKind.INVOICE))
_CREDITED = (select(func.coalesce(func.sum(_invoices.c.total_minor), 0))
             .where(_invoices.c.corrects_id == bindparam("b_invoice_id")))
_OF_ORDERS = OfIds(select(_invoices, _emails.c.to.label("sent_to"), _emails.c.accepted_at.label("email_accepted_at"))
                   .outerjoin(_emails, _emails.c.id == _invoices.c.email_id)
                   .order_by(_invoices.c.issued_at, _invoices.c.number), _invoices.c.order_id)


def _next_in_series(dialect_insert: Any) -> Any:
    """The series' next number: its row made at 1 or its `last` raised by one, in one statement that
    holds the row's lock to the end of the transaction (PostgreSQL; SQLite's one writer)."""
    statement = dialect_insert(_series).values(kind=bindparam("b_kind"), market=bindparam("b_market"),
                                               year=bindparam("b_year"), last=1)
    return statement.on_conflict_do_update(index_elements=["kind", "market", "year"],
                                           set_={"last": _series.c.last + 1}).returning(_series.c.last)


_NEXT = {"postgresql": _next_in_series(postgresql.insert), "sqlite": _next_in_series(sqlite.insert)}


class InvoiceStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def next_number(self, kind: DocumentKind, market: str, year: int) -> int:
        """The next place in the series of `kind`, `market` and `year`, counted from 1: taken by this
        transaction (a rolled-back one gives it back), so numbers follow each other without gaps."""
        return self._db.execute(_NEXT[self._db.dialect.name],
                                {"b_kind": kind.value, "b_market": market, "b_year": year}).scalar_one()

    def add(self, values: dict[str, Any]) -> Row[Any]:
        """A document as issued; the row as written."""
        return self._db.execute(_INSERT, values).one()

    def invoice_of(self, order_id: str) -> Row[Any] | None:
        """The order's invoice, if one was issued."""
        return self._db.execute(_INVOICE_OF, {"b_order_id": order_id}).one_or_none()

    def credited_minor(self, invoice_id: str) -> int:
        """What the credit notes of an invoice add up to."""
        return int(self._db.execute(_CREDITED, {"b_invoice_id": invoice_id}).scalar_one())

    def of_orders(self, order_ids: Sequence[str]) -> dict[str, list[Row[Any]]]:
        """The documents of these orders, oldest first, each with the address it was sent to and when
        the shop's mail server accepted it (`email_accepted_at`): one statement however many orders."""
        return grouped(self._db, _OF_ORDERS, order_ids)
