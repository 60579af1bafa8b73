"""The floor's engine: the one the shop ran on until issue 17 (aiosqlite's connection without its
worker thread, each statement on the event loop's thread; asyncpg with the same pool), kept here
so that the floor's figures — the yardstick every run is normalised by — stay comparable from run
to run. It reaches into aiosqlite's private `_tx` and `_conn`: acceptable in a benchmark's
yardstick, not in the shop (shop/adapters/database.py uses public APIs only)."""

from __future__ import annotations

import asyncio
import sqlite3
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shop.adapters.db import SQLITE_BUSY_TIMEOUT_S, WAL_AUTOCHECKPOINT_PAGES, json_text, json_value
from shop.settings import DEFAULT_POOL_SIZE, async_database_url


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(database_url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> AsyncEngine:
    url = async_database_url(database_url)
    if url.startswith("sqlite"):
        path = make_url(url).database or ":memory:"
        # SQLite has one writer: one pooled connection serialises transactions instead of
        # letting them fail with "database is locked".
        engine = create_async_engine(url, pool_size=1, max_overflow=0,
                                     json_serializer=json_text, json_deserializer=json_value,
                                     async_creator=partial(_inline_sqlite, path))
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # One worker's requests hold at most a connection each, for their transaction: the pool keeps
    # `pool_size` (DATABASE_POOL_SIZE), at least as many as run at once, and opens up to 10 more
    # past that. A connection past `pool_size` is closed when it is returned, so a pool smaller than
    # the load kept opening and closing connections (a PostgreSQL backend each: fork,
    # authentication, a cold statement cache).
    # Measured, pool of 10 against 20, two runs each in turn: 16 transactions at once, five times,
    # opened 40 connections against 16 (tests/test_prepared.py); the bench's bare one-INSERT
    # endpoint served 1,315-1,445 against 2,087-3,514 requests/s at concurrency 16.
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=False,
                               json_serializer=json_text, json_deserializer=json_value)


class _RunNow:
    """Stands in for aiosqlite's queue to its worker thread: runs each call at once."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any] | None, Any]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting caller, as aiosqlite does
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineSQLiteConnection(aiosqlite.Connection):
    """aiosqlite's connection without its worker thread: each statement runs on the event loop's
    thread. A SQLite statement here takes microseconds, less than the hop to a thread and back
    (measured: the hop was most of a request's database time). The cost is that a statement waiting
    for another process's write lock (the busy timeout) holds the event loop while it waits; with
    one pooled connection every other request waits for the database anyway."""

    def __init__(self, connector: Any) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Any:
        return self._connect().__await__()  # no thread to start

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection itself (shop.adapters.prepared runs statements on it)."""
        return self._conn


SQLITE_CACHED_STATEMENTS = 512
"""Statements sqlite3 keeps prepared (its default is 128): group commit writes several rows in one
statement, one statement for each number of rows (shop.adapters.prepared.Statements.insert_rows),
and preparing a nine-row INSERT again costs 120 µs against 30 µs to run it prepared (measured)."""


async def _inline_sqlite(path: str) -> InlineSQLiteConnection:
    connector = partial(sqlite3.connect, path, timeout=SQLITE_BUSY_TIMEOUT_S, check_same_thread=False,
                        cached_statements=SQLITE_CACHED_STATEMENTS)
    return await InlineSQLiteConnection(connector)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()
