"""The one writer of the payment ledger (payment_events): facts appended once by their key
(shop.domain.payment_facts), never changed; and the reads that derive totals from them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from shop.adapters.tables import PaymentEvent, table_of
from shop.domain.payment_facts import PaymentFact

_facts = table_of(PaymentEvent)


class LedgerStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def append(self, facts: Sequence[PaymentFact]) -> set[str]:
        """Appends the facts the ledger does not hold yet, in one statement; the keys of those it
        appended (a fact whose key is there already was stated before: a duplicate)."""
        if not facts:
            return set()
        dialect = postgresql if self._db.dialect.name == "postgresql" else sqlite
        statement = (dialect.insert(_facts).on_conflict_do_nothing(index_elements=[_facts.c.fact_key])
                     .returning(_facts.c.fact_key))
        return set(self._db.execute(statement, [fact.row() for fact in facts]).scalars())
