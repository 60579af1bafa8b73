"""The one writer of the timeline: every transition of every machine (the order, its lines, its
refunds, and the machines to come), written from the transition itself in the transaction of the
state change it records. The bulk expiry job builds its rows with the same `entry`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Row

from shop.adapters.stores import fast
from shop.adapters.tables import TimelineEntry, table_of

if TYPE_CHECKING:
    from shop.domain.machine import Transition

_timeline = table_of(TimelineEntry)
_RECORD = fast.Statement(insert(_timeline))


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

    def of_order(self, order_id: str) -> list[Row[Any]]:
        return list(self._db.execute(select(_timeline).where(_timeline.c.order_id == order_id)
                                     .order_by(_timeline.c.id)))

    def last_event(self, order_id: str, *, machine: str = "order") -> str | None:
        """The event of the order machine's (or another machine's) latest entry for this order."""
        return self._db.execute(
            select(_timeline.c.event).where(_timeline.c.order_id == order_id, _timeline.c.machine == machine)
            .order_by(_timeline.c.id.desc()).limit(1)).scalar()
