"""The one writer of the payment ledger (payment_events): facts appended once by their key
(shop.domain.payment_facts), never changed; and the reads that derive totals from them (STYLE.md
example 4: duplicates and late or reordered events cannot double-count)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.engine import Connection, Row

from shop.adapters.stores import fast
from shop.adapters.tables import PaymentEvent, table_of
from shop.domain.payment_facts import PAID_KINDS, REFUND_FAILED, REFUND_REQUESTED, PaymentFact

_facts = table_of(PaymentEvent)
_OF_ORDER = _facts.c.order_id == bindparam("b_order_id")
_PAID = select(func.coalesce(func.sum(_facts.c.amount_minor), 0)).where(
    _OF_ORDER, _facts.c.kind.in_(PAID_KINDS), _facts.c.flagged.is_(None))  # a flagged fact is never applied
_REFUNDED = select(func.coalesce(func.sum(
    case((_facts.c.kind == REFUND_FAILED, -_facts.c.amount_minor), else_=_facts.c.amount_minor)), 0)).where(
    _OF_ORDER, _facts.c.kind.in_((REFUND_REQUESTED, REFUND_FAILED)))
_FACTS_OF_ORDER = select(_facts).where(_OF_ORDER).order_by(_facts.c.id)
_FLAGGED = select(_facts).where(_facts.c.flagged.is_not(None)).order_by(_facts.c.id.desc()).limit(
    bindparam("b_limit"))
_FLAGGED_BEFORE = _FLAGGED.where(_facts.c.id < bindparam("b_before"))


class LedgerStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def append(self, facts: Sequence[PaymentFact]) -> set[str]:
        """Appends the facts the ledger does not hold yet, in one statement; the keys of those it
        appended (a fact whose key is there already was stated before: a duplicate)."""
        if not facts:
            return set()
        return set(fast.insert_rows(self._db, _facts, [fact.row() for fact in facts], returning=["fact_key"],
                                    unless_exists="fact_key").scalars())

    def paid_minor(self, order_id: str) -> int:
        """What the order has received (a flagged fact is not counted)."""
        return int(self._db.execute(_PAID, {"b_order_id": order_id}).scalar_one())

    def refunded_minor(self, order_id: str) -> int:
        """What is refunded or on its way back: every attempt requested, less the attempts that failed."""
        return int(self._db.execute(_REFUNDED, {"b_order_id": order_id}).scalar_one())

    def keeps_minor(self, order_id: str) -> int:
        """What the order still keeps of what it received: the most a refund may give back (RS-III.4)."""
        return self.paid_minor(order_id) - self.refunded_minor(order_id)

    def facts_of(self, order_id: str) -> list[Row[Any]]:
        """The order's facts in the order they were recorded."""
        return list(self._db.execute(_FACTS_OF_ORDER, {"b_order_id": order_id}))

    def flagged(self, *, limit: int, before: int | None = None) -> list[Row[Any]]:
        """Facts flagged for staff, newest first; `before` a fact id, for the page after one that ended there."""
        if before is None:
            return list(self._db.execute(_FLAGGED, {"b_limit": limit}))
        return list(self._db.execute(_FLAGGED_BEFORE, {"b_limit": limit, "b_before": before}))
