"""The one writer of technical interruptions (RS-IV.4): announced for a market, called off, ended
early, read. The order path reads the one in effect with its offer (shop.adapters.stores.offers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from shop.adapters.stores import after_row
from shop.adapters.tables import TechnicalInterruption, UTCDateTime, table_of
from shop.domain.errors import NotFound
from shop.domain.interruptions import InterruptionState
from shop.domain.machine import Transition

_interruptions = table_of(TechnicalInterruption)
_c = _interruptions.c
_NOT_CALLED_OFF = _c.state != InterruptionState.CALLED_OFF.value
_ADD = insert(_interruptions).returning(*_c)
_BY_ID = select(_interruptions).where(_c.id == bindparam("b_id"))
_OVERLAPPING = select(_c.id).where(_c.market == bindparam("b_market"), _NOT_CALLED_OFF,
                                   _c.starts_at < bindparam("b_ends_at"), _c.ends_at > bindparam("b_starts_at"))
_NOT_OVER = (select(_interruptions).where(_c.market == bindparam("b_market"), _NOT_CALLED_OFF,
                                          _c.ends_at > bindparam("b_now"))
             .order_by(_c.starts_at, _c.id))
_OF_MARKET = (select(_interruptions).where(_c.market == bindparam("b_market"))
              .order_by(_c.starts_at.desc(), _c.id.desc()).limit(bindparam("b_limit")))
_OF_MARKET_AFTER = _OF_MARKET.where(after_row(_interruptions, "starts_at", newest_first=True))
_KNOWN_IN_MARKET = select(_c.id).where(_c.id == bindparam("b_id"), _c.market == bindparam("b_market"))


def interrupted_until(market: ColumnElement[Any], now: ColumnElement[Any]) -> ColumnElement[Any]:
    """The end of `market`'s interruption in effect at `now` (NULL when none is): a scalar subquery,
    for the statement that reads an order's offer (one round trip for both)."""
    return (select(func.max(_c.ends_at)).where(_c.market == market, _NOT_CALLED_OFF, _c.starts_at <= now,
                                               _c.ends_at > now)
            .scalar_subquery().label("interrupted_until"))


NOW = bindparam("interruption_now", type_=UTCDateTime())
"""The instant the subquery above judges at, as a bind parameter of the UTC column type."""


class InterruptionStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, values: dict[str, Any]) -> Row[Any]:
        return self._db.execute(_ADD, values).one()

    def get(self, interruption_id: str, *, lock: bool = False) -> Row[Any]:
        """The interruption (locked when `lock`); 404 when there is none."""
        row = self._db.execute(_BY_ID.with_for_update() if lock else _BY_ID,
                               {"b_id": interruption_id}).one_or_none()
        if row is None:
            raise NotFound("interruption_not_found", f"no technical interruption {interruption_id}")
        return row

    def overlaps(self, market: str, starts_at: datetime, ends_at: datetime) -> bool:
        """Whether the market has an interruption (not called off) in [starts_at, ends_at)."""
        return self._db.execute(_OVERLAPPING, {"b_market": market, "b_starts_at": starts_at,
                                               "b_ends_at": ends_at}).first() is not None

    def not_over(self, market: str, now: datetime) -> list[Row[Any]]:
        """The market's interruptions upcoming or in effect at `now`, the soonest first."""
        return list(self._db.execute(_NOT_OVER, {"b_market": market, "b_now": now}))

    def of_market(self, market: str, *, limit: int, after: str | None = None) -> list[Row[Any]]:
        """The market's interruptions, the latest first (by `starts_at`, then id): at most `limit`,
        those after the interruption `after` when given (for staff, a page at a time)."""
        params = {"b_market": market, "b_limit": limit}
        if after is None:
            return list(self._db.execute(_OF_MARKET, params))
        return list(self._db.execute(_OF_MARKET_AFTER, {**params, "b_after": after}))

    def known_in(self, market: str, interruption_id: str) -> bool:
        """Whether the market has the interruption (a page's cursor names one of its list)."""
        return self._db.execute(_KNOWN_IN_MARKET, {"b_id": interruption_id, "b_market": market}).first() is not None

    def move(self, interruption: Row[Any], transition: Transition, **facts: Any) -> Row[Any]:
        statement = (update(_interruptions).where(_c.id == interruption.id)
                     .values(state=transition.to_state.value, **facts).returning(*_c))
        return self._db.execute(statement).one()
