"""The one writer of take-backs of old devices (RS-V.5.4): requested, moved along the TAKE_BACK
lifecycle, read by id, by customer, by a page of orders, the requested ones for staff, and counted by
line."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from shop.adapters.after_sale_tables import TakeBack
from shop.adapters.stores import OfIds, after_row, grouped
from shop.adapters.tables import table_of
from shop.domain.errors import NotFound
from shop.domain.machine import Transition
from shop.domain.take_back import TakeBackState

_take_backs = table_of(TakeBack)
_c = _take_backs.c
_ADD = insert(_take_backs).returning(*_c)
_BY_ID = select(_take_backs).where(_c.id == bindparam("b_id"))
_OF_CUSTOMER = (select(_take_backs).where(_c.customer_id == bindparam("b_customer"))
                .order_by(_c.requested_at.desc(), _c.id))
_OF_ORDERS = OfIds(select(_take_backs).order_by(_c.requested_at, _c.id), _c.order_id)
_REQUESTED = (select(_take_backs).where(_c.state == TakeBackState.REQUESTED.value)
              .order_by(_c.requested_at, _c.id).limit(bindparam("b_limit")))
_REQUESTED_AFTER = _REQUESTED.where(after_row(_take_backs, "requested_at"))
_KNOWN = select(_c.id).where(_c.id == bindparam("b_id"))
_OPEN_OF_LINES = (select(_take_backs).where(_c.line_id.in_(bindparam("b_lines", expanding=True)),
                                             _c.state == TakeBackState.REQUESTED.value)
                  .order_by(_c.requested_at, _c.id))
_OF_LINE = (select(func.count()).select_from(_take_backs)
            .where(_c.line_id == bindparam("b_line"), _c.state.in_(bindparam("b_states", expanding=True))))


class TakeBackStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, values: dict[str, Any]) -> Row[Any]:
        """A take-back as requested; the row as written."""
        return self._db.execute(_ADD, values).one()

    def get(self, take_back_id: str, *, customer_id: int | None = None, lock: bool = False) -> Row[Any]:
        """The take-back (locked when `lock`); 404 when there is none or, for a customer, it is not theirs."""
        statement = _BY_ID.with_for_update() if lock else _BY_ID
        row = self._db.execute(statement, {"b_id": take_back_id}).one_or_none()
        if row is None or (customer_id is not None and row.customer_id != customer_id):
            raise NotFound("take_back_not_found", f"no take-back {take_back_id}")
        return row

    def of_customer(self, customer_id: int) -> list[Row[Any]]:
        """The customer's take-backs, newest first."""
        return list(self._db.execute(_OF_CUSTOMER, {"b_customer": customer_id}))

    def of_orders(self, order_ids: Collection[str]) -> dict[str, list[Row[Any]]]:
        """The take-backs of these orders, by order id, oldest first: one statement however many orders."""
        return grouped(self._db, _OF_ORDERS, order_ids)

    def requested(self, *, limit: int, after: str | None = None) -> list[Row[Any]]:
        """Take-backs waiting for staff, the oldest first (requested_at, then id): at most `limit`,
        those after the take-back `after` when given, wherever that take-back is now."""
        if after is None:
            return list(self._db.execute(_REQUESTED, {"b_limit": limit}))
        return list(self._db.execute(_REQUESTED_AFTER, {"b_limit": limit, "b_after": after}))

    def known(self, take_back_id: str) -> bool:
        return self._db.execute(_KNOWN, {"b_id": take_back_id}).first() is not None

    def requested_of_lines(self, line_ids: Iterable[int], *, lock: bool = False) -> list[Row[Any]]:
        """The take-backs of these lines still waiting to be collected (locked when `lock`)."""
        ids = list(line_ids)
        if not ids:
            return []
        statement = _OPEN_OF_LINES.with_for_update() if lock else _OPEN_OF_LINES
        return list(self._db.execute(statement, {"b_lines": ids}))

    def count_of_line(self, line_id: int, states: Iterable[str]) -> int:
        """How many of the line's take-backs are in one of `states`."""
        return int(self._db.execute(_OF_LINE, {"b_line": line_id, "b_states": [str(s) for s in states]}).scalar_one())

    def move(self, take_back: Row[Any], transition: Transition, **facts: Any) -> Row[Any]:
        """The take-back in the transition's destination, with `facts` beside it; the row as written."""
        statement = (update(_take_backs).where(_c.id == take_back.id)
                     .values(state=transition.to_state.value, **facts).returning(*_c))
        return self._db.execute(statement).one()
