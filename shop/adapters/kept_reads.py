"""Reads served again while the database is unchanged: on SQLite, where the process's one
connection counts its own writes (`total_changes`, committed or not) and SQLite counts every other
connection's commits, other processes' too (`PRAGMA data_version`). Both are read on the event
loop's thread, where every statement of that connection runs, without taking it from the pool. On
PostgreSQL nothing is kept: every read runs."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from shop.adapters.database import Database
from shop.adapters.unit_of_work import UnitOfWork

T = TypeVar("T")
Version = tuple[int, int]


class KeptReads:
    """The result of each read by key, with the database's version it was read at."""

    def __init__(self) -> None:
        self._kept: dict[tuple[int, Hashable], tuple[Version, Any, sqlite3.Connection]] = {}

    async def read(self, db: Database, key: Hashable, work: Callable[[UnitOfWork], T]) -> T:
        """`work`'s result as the database stands now: a kept one while nothing was written since."""
        slot = (id(db), key)
        kept = self._kept.get(slot)
        if kept is not None and kept[0] == _version(kept[2]):
            return kept[1]  # type: ignore[no-any-return]

        def versioned(uow: UnitOfWork) -> tuple[Version | None, T, sqlite3.Connection | None]:
            connection = _sqlite_connection(uow)
            version = _version(connection)  # before the read: a write after it changes the version
            return version, work(uow), connection

        version, result, connection = await db.read(versioned)
        if version is not None and connection is not None:
            self._kept[slot] = (version, result, connection)
        return result


def _sqlite_connection(uow: UnitOfWork) -> sqlite3.Connection | None:
    """The standard library's connection under the unit of work's (SQLAlchemy's public
    `Connection.connection.driver_connection`); None on PostgreSQL."""
    if uow.dialect != "sqlite":
        return None
    return uow.connection.connection.driver_connection  # type: ignore[no-any-return]


def _version(connection: sqlite3.Connection | None) -> Version | None:
    """What changes whenever the SQLite database does. None on PostgreSQL, or once the connection
    is closed (the pool replaced it: read afresh)."""
    if connection is None:
        return None
    try:
        row: Any = connection.execute("PRAGMA data_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0], connection.total_changes
