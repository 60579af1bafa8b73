"""The one writer of the timeline: every transition of every machine (the order, its lines, its
refunds, and the machines to come), written from the transition itself in the transaction of the
state change it records. The bulk expiry job's rows are `entry`'s too (`record_for_orders`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, any_, bindparam, func, insert, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Row

from shop.adapters.stores import fast
from shop.adapters.tables import Order, TimelineEntry, table_of

if TYPE_CHECKING:
    from shop.domain.machine import Transition

_timeline, _orders = table_of(TimelineEntry), table_of(Order)
_RECORD = fast.Statement(insert(_timeline))
_ORDER_AMONG = {"postgresql": _orders.c.id == any_(bindparam("b_ids", type_=postgresql.ARRAY(String))),
                "sqlite": _orders.c.id.in_(bindparam("b_ids", expanding=True))}
"""`orders.id IN ids`; on PostgreSQL `= ANY(array)`, one parameter (stores/outbox.py says why)."""


def entry(order_id: str, transition: Transition, *, actor: str, now: datetime, reason: str | None = None,
          subject_id: str | int | None = None) -> dict[str, Any]:
    """The timeline row of a transition: which machine moved which subject of the order (the order
    itself when `subject_id` is None), from where to where, who, why, by which clause."""
    return {"order_id": order_id, "machine": transition.machine,
            "subject_id": None if subject_id is None else str(subject_id), "at": now,
            "from_state": None if transition.from_state is None else str(transition.from_state),
            "to_state": str(transition.to_state), "event": transition.event, "actor": actor,
            "reason": None if reason is None else reason[:500], "clause": transition.clause}


class TimelineStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def record(self, order_id: str, transition: Transition, *, actor: str, now: datetime,
               reason: str | None = None, subject_id: str | int | None = None) -> None:
        self.record_entries([entry(order_id, transition, actor=actor, now=now, reason=reason,
                                   subject_id=subject_id)])

    def record_entries(self, entries: Sequence[dict[str, Any]]) -> None:
        """Rows built by `entry`, in one statement."""
        if entries:
            fast.run_many(self._db, _RECORD, entries)  # one prepared INSERT, executemany: 1 to 2,000 rows

    def record_for_orders(self, order_ids: Sequence[str], transition: Transition, *, actor: str,
                          now: datetime, reason_before_due: str) -> None:
        """`entry` for each of these orders in one INSERT … SELECT (the expiry job: 2,000 orders a
        statement): every column as `entry` builds it for the transition, the order's id and, after
        `reason_before_due`, the order's payment deadline put in by the database. Built in Python and
        sent as an executemany, the rows cost 0.45 s more for 100,000 orders (measured)."""
        built = entry("", transition, actor=actor, now=now)
        shared = [key for key in built if key not in ("order_id", "reason")]
        due = (func.to_char(_orders.c.payment_due_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
               if self._db.dialect.name == "postgresql" else
               func.strftime("%Y-%m-%dT%H:%M:%SZ", _orders.c.payment_due_at))
        rows = select(_orders.c.id, *(literal(built[key], _timeline.c[key].type) for key in shared),
                      literal(reason_before_due) + due).where(_ORDER_AMONG[self._db.dialect.name])
        self._db.execute(insert(_timeline).from_select(["order_id", *shared, "reason"], rows),
                         {"b_ids": list(order_ids)})

    def of_order(self, order_id: str) -> list[Row[Any]]:
        return list(self._db.execute(select(_timeline).where(_timeline.c.order_id == order_id)
                                     .order_by(_timeline.c.id)))

    def last_event(self, order_id: str, *, machine: str = "order") -> str | None:
        """The event of the order machine's (or another machine's) latest entry for this order."""
        return self._db.execute(
            select(_timeline.c.event).where(_timeline.c.order_id == order_id, _timeline.c.machine == machine)
            .order_by(_timeline.c.id.desc()).limit(1)).scalar()
