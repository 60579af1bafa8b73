"""Reads served again while the database is unchanged: on SQLite, where the process's one
connection counts its own writes (`total_changes`, committed or not) and SQLite counts every other
connection's commits, other processes' too (`PRAGMA data_version`). Both are read on the event
loop's thread, where every statement of that connection runs, without taking it from the pool. On
PostgreSQL nothing is kept: every read runs."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.prepared import Row, Statements, driver_reads

Version = tuple[int, int]


class KeptReads:
    """The rows of each read by key, with the database's version they were read at."""

    def __init__(self) -> None:
        self._kept: dict[tuple[int, Hashable], tuple[Version, list[Row], sqlite3.Connection]] = {}

    async def read(self, engine: AsyncEngine, key: Hashable,
                   read: Callable[[Statements], Awaitable[list[Row]]]) -> list[Row]:
        """`read`'s rows as they stand now: kept ones while nothing was written since."""
        slot = (id(engine), key)
        kept = self._kept.get(slot)
        if kept is not None and kept[0] == _version(kept[2]):
            return kept[1]
        async with driver_reads(engine) as db:
            version = _version(db.sqlite)  # before the read: a write after it changes the version
            rows = await read(db)
        if version is not None and db.sqlite is not None:
            self._kept[slot] = (version, rows, db.sqlite)
        return rows


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
