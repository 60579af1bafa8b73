"""The test clock's row (SHOP_ENV=test only), shared by the server and the make tasks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from shop.adapters.tables import TestClock, table_of

_clock = table_of(TestClock)
_NOW = select(_clock.c.now).where(_clock.c.id == 1)


def test_clock_now(connection: Connection) -> datetime | None:
    return connection.execute(_NOW).scalar()


def set_test_clock(connection: Connection, now: datetime) -> None:
    if not connection.execute(update(_clock).where(_clock.c.id == 1).values(now=now)).rowcount:
        connection.execute(insert(_clock).values(id=1, now=now))


def clear_test_clock(connection: Connection) -> None:
    connection.execute(delete(_clock))
