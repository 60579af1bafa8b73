"""The one writer of service cases (KZ-4.5 … KZ-4.7): a case opened under a perk, moved along the
SERVICE_CASE lifecycle with the facts of each step, read by id, counted open by perk and listed for
staff by state, the oldest opened first (their work queue). The perk itself moves through
shop.adapters.stores.perks."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from shop.adapters.perk_tables import ServiceCase
from shop.adapters.stores import OfIds, after_row, grouped
from shop.adapters.tables import table_of
from shop.domain.errors import NotFound
from shop.domain.machine import Transition
from shop.domain.service_cases import OPEN_STATES

_cases = table_of(ServiceCase)
_ADD = insert(_cases).returning(*_cases.c)
_BY_ID = select(_cases).where(_cases.c.id == bindparam("b_id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_OF_ORDERS = OfIds(select(_cases).order_by(_cases.c.opened_at, _cases.c.id), _cases.c.order_id)
_IN_STATE = (select(_cases).where(_cases.c.state == bindparam("b_state"))  # ix_service_cases_state_opened_at
             .order_by(_cases.c.opened_at, _cases.c.id).limit(bindparam("b_limit")))
_IN_STATE_AFTER = _IN_STATE.where(after_row(_cases, "opened_at"))
_KNOWN = select(_cases.c.id).where(_cases.c.id == bindparam("b_id"))
_OPEN_OF_PERK = (select(func.count()).select_from(_cases)
                 .where(_cases.c.perk_id == bindparam("b_perk_id"),
                        _cases.c.state.in_([state.value for state in OPEN_STATES])))


class ServiceCaseStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, values: dict[str, Any]) -> Row[Any]:
        return self._db.execute(_ADD, values).one()

    def get(self, case_id: str, *, lock: bool = False) -> Row[Any]:
        """The case (locked when `lock`); 404 when there is none."""
        row = self._db.execute(_BY_ID_LOCKED if lock else _BY_ID, {"b_id": case_id}).one_or_none()
        if row is None:
            raise NotFound("service_case_not_found", f"no service case {case_id}")
        return row

    def known(self, case_id: str) -> bool:
        return self._db.execute(_KNOWN, {"b_id": case_id}).first() is not None

    def in_state(self, state: str, *, limit: int, after: str | None = None) -> list[Row[Any]]:
        """The cases in `state`, the oldest opened first (opened, then id): at most `limit`, those
        after the case `after` when given, wherever that case is now."""
        if after is None:
            return list(self._db.execute(_IN_STATE, {"b_state": state, "b_limit": limit}))
        return list(self._db.execute(_IN_STATE_AFTER, {"b_state": state, "b_limit": limit, "b_after": after}))

    def open_of_perk(self, perk_id: str) -> int:
        """How many cases of this perk are not closed (the caller holds the perk's lock)."""
        return self._db.execute(_OPEN_OF_PERK, {"b_perk_id": perk_id}).scalar_one()

    def move(self, case: Row[Any], transition: Transition, *, now: datetime, **facts: Any) -> Row[Any]:
        """The case in the transition's destination, with `facts` beside it; the row as written."""
        statement = (update(_cases).where(_cases.c.id == case.id)
                     .values(state=transition.to_state.value, updated_at=now, **facts).returning(*_cases.c))
        return self._db.execute(statement).one()

    def of_orders(self, order_ids: Collection[str]) -> dict[str, list[Row[Any]]]:
        """The cases of these orders' devices, by perk id, oldest first: one statement."""
        return grouped(self._db, _OF_ORDERS, order_ids, by="perk_id")
