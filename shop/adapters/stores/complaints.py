"""The one writer of complaints (RS-X): received, moved along the COMPLAINT lifecycle with its answer,
read by id, by customer, by the orders they name, and the open ones by their deadline."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Row

from shop.adapters.after_sale_tables import Complaint
from shop.adapters.stores import OfIds, after_row, grouped
from shop.adapters.tables import table_of
from shop.domain.complaints import ComplaintState
from shop.domain.errors import NotFound
from shop.domain.machine import Transition

_complaints = table_of(Complaint)
_ADD = insert(_complaints).returning(*_complaints.c)
_BY_ID = select(_complaints).where(_complaints.c.id == bindparam("b_id"))
_OF_CUSTOMER = (select(_complaints).where(_complaints.c.customer_id == bindparam("b_customer"))
                .order_by(_complaints.c.received_at.desc(), _complaints.c.id.desc()).limit(bindparam("b_limit")))
_OF_CUSTOMER_BEFORE = _OF_CUSTOMER.where(after_row(_complaints, "received_at", cursor="b_before", newest_first=True))
_OF_ORDERS = OfIds(select(_complaints).order_by(_complaints.c.received_at, _complaints.c.id), _complaints.c.order_id)
_OPEN = (select(_complaints).where(_complaints.c.state == ComplaintState.RECEIVED.value)
         .order_by(_complaints.c.answer_due_by, _complaints.c.id).limit(bindparam("b_limit")))
_OPEN_AFTER = _OPEN.where(after_row(_complaints, "answer_due_by"))
_KNOWN = select(_complaints.c.id).where(_complaints.c.id == bindparam("b_id"))
_RUNNING = (select(_complaints.c.id, _complaints.c.answer_due_by.label("due"),
                   _complaints.c.received_at.label("since"))
            .where(_complaints.c.market == bindparam("b_market"), _complaints.c.answer_due_by > bindparam("b_start"),
                   _complaints.c.received_at < bindparam("b_end")))
_MOVE_DUE = (update(_complaints).where(_complaints.c.id == bindparam("b_id"))
             .values(answer_due_by=bindparam("b_due")))


class ComplaintStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, values: dict[str, Any]) -> Row[Any]:
        """A complaint as received; the row as written."""
        return self._db.execute(_ADD, values).one()

    def get(self, complaint_id: str, *, customer_id: int | None = None, lock: bool = False) -> Row[Any]:
        """The complaint (locked when `lock`); 404 when there is none or, for a customer, it is not theirs."""
        statement = _BY_ID.with_for_update() if lock else _BY_ID
        row = self._db.execute(statement, {"b_id": complaint_id}).one_or_none()
        if row is None or (customer_id is not None and row.customer_id != customer_id):
            raise NotFound("complaint_not_found", f"no complaint {complaint_id}")
        return row

    def of_customer(self, customer_id: int, *, limit: int, before: str | None = None) -> list[Row[Any]]:
        """The customer's complaints, newest first (received, then id): at most `limit`, those after
        the complaint `before` when given (a page's last; the caller makes sure it is theirs)."""
        if before is None:
            return list(self._db.execute(_OF_CUSTOMER, {"b_customer": customer_id, "b_limit": limit}))
        return list(self._db.execute(_OF_CUSTOMER_BEFORE,
                                     {"b_customer": customer_id, "b_limit": limit, "b_before": before}))

    def of_orders(self, order_ids: Collection[str]) -> dict[str, list[Row[Any]]]:
        """The complaints that name these orders, by order id, the earliest received first: one statement
        however many orders (a complaint without an order is on none)."""
        return grouped(self._db, _OF_ORDERS, order_ids)

    def open(self, *, limit: int, after: str | None = None) -> list[Row[Any]]:
        """Complaints not yet answered, the earliest due first (answer_due_by, then id): at most
        `limit`, those after the complaint `after` when given, wherever that complaint is now."""
        if after is None:
            return list(self._db.execute(_OPEN, {"b_limit": limit}))
        return list(self._db.execute(_OPEN_AFTER, {"b_limit": limit, "b_after": after}))

    def known(self, complaint_id: str) -> bool:
        return self._db.execute(_KNOWN, {"b_id": complaint_id}).first() is not None

    def move(self, complaint: Row[Any], transition: Transition, **facts: Any) -> Row[Any]:
        """The complaint in the transition's destination, with `facts` beside it; the row as written."""
        statement = (update(_complaints).where(_complaints.c.id == complaint.id)
                     .values(state=transition.to_state.value, **facts).returning(*_complaints.c))
        return self._db.execute(statement).one()

    def running_during(self, market: str, starts_at: datetime, ends_at: datetime) -> list[Row[Any]]:
        """The market's complaints whose answer deadline (RS-X.3) ran during [starts_at, ends_at)
        (`id`, `due`, `since`: received), for force majeure to move (T-7)."""
        return list(self._db.execute(_RUNNING, {"b_market": market, "b_start": starts_at, "b_end": ends_at}))

    def move_deadlines(self, due_by: dict[str, datetime]) -> None:
        if due_by:
            self._db.execute(_MOVE_DUE, [{"b_id": key, "b_due": due} for key, due in due_by.items()])
