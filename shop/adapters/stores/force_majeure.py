"""The one writer of force-majeure periods (RS-VIII, T-7): declared for a market, ended, read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Row

from shop.adapters.after_sale_tables import ForceMajeurePeriod
from shop.adapters.tables import table_of
from shop.domain.errors import NotFound
from shop.domain.force_majeure import PeriodState
from shop.domain.machine import Transition

_periods = table_of(ForceMajeurePeriod)
_ADD = insert(_periods).returning(*_periods.c)
_BY_ID = select(_periods).where(_periods.c.id == bindparam("b_id"))
_OPEN = select(_periods).where(_periods.c.market == bindparam("b_market"),
                               _periods.c.state == PeriodState.DECLARED.value)
_ALL_OPEN = select(_periods).where(_periods.c.state == PeriodState.DECLARED.value).order_by(_periods.c.market)
_OF_MARKET = (select(_periods).where(_periods.c.market == bindparam("b_market"))
              .order_by(_periods.c.starts_at.desc(), _periods.c.id))


class ForceMajeureStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, values: dict[str, Any]) -> Row[Any]:
        return self._db.execute(_ADD, values).one()

    def get(self, period_id: str, *, lock: bool = False) -> Row[Any]:
        """The period (locked when `lock`); 404 when there is none."""
        row = self._db.execute(_BY_ID.with_for_update() if lock else _BY_ID, {"b_id": period_id}).one_or_none()
        if row is None:
            raise NotFound("force_majeure_not_found", f"no force-majeure period {period_id}")
        return row

    def open_of(self, market: str) -> Row[Any] | None:
        """The market's period not yet ended, if any."""
        return self._db.execute(_OPEN, {"b_market": market}).one_or_none()

    def all_open(self) -> list[Row[Any]]:
        """Every market's period not yet ended."""
        return list(self._db.execute(_ALL_OPEN))

    def of_market(self, market: str) -> list[Row[Any]]:
        """The market's periods, the latest first."""
        return list(self._db.execute(_OF_MARKET, {"b_market": market}))

    def move(self, period: Row[Any], transition: Transition, **facts: Any) -> Row[Any]:
        statement = (update(_periods).where(_periods.c.id == period.id)
                     .values(state=transition.to_state.value, **facts).returning(*_periods.c))
        return self._db.execute(statement).one()
