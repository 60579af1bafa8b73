"""Engines and sessions for the plain DATABASE_URL (SQLite via aiosqlite, PostgreSQL via asyncpg)."""

from __future__ import annotations

import asyncio
import sqlite3
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from shop.settings import async_database_url

Sessions = async_sessionmaker[AsyncSession]

SQLITE_BUSY_TIMEOUT_S = 30


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(database_url: str) -> AsyncEngine:
    url = async_database_url(database_url)
    if url.startswith("sqlite"):
        path = make_url(url).database or ":memory:"
        # SQLite has one writer: one pooled connection serialises transactions instead of
        # letting them fail with "database is locked".
        engine = create_async_engine(url, pool_size=1, max_overflow=0,
                                     async_creator=partial(_inline_sqlite, path))
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=False)


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


async def _inline_sqlite(path: str) -> InlineSQLiteConnection:
    connector = partial(sqlite3.connect, path, timeout=SQLITE_BUSY_TIMEOUT_S, check_same_thread=False)
    return await InlineSQLiteConnection(connector)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class InlineSQLiteSession(AsyncSession):
    """A session on the inline SQLite connection. SQLAlchemy closes a session on `async with` exit
    in a task of its own and waits for it, so that a cancellation cannot interrupt the close; that
    wait lets other requests run while the session still holds the one pooled connection, and under
    load some requests then waited seconds for it (the pool hands a freed connection to whoever asks
    first). Here the close never waits on anything, so nothing can interrupt it: it runs directly."""

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        await self.close()


def session_factory(engine: AsyncEngine) -> Sessions:
    session_class = InlineSQLiteSession if is_sqlite(engine) else AsyncSession
    return async_sessionmaker(engine, class_=session_class, expire_on_commit=False)
