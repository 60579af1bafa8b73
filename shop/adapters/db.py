"""Engines and sessions for the plain DATABASE_URL (SQLite via aiosqlite, PostgreSQL via asyncpg)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from shop.settings import DEFAULT_POOL_SIZE, async_database_url

Sessions = async_sessionmaker[AsyncSession]

log = logging.getLogger(__name__)



def json_text(value: Any) -> str:
    """JSON columns written by msgspec: an order's answer kept for its Idempotency-Key (about 2 KB)
    took 19.5 µs with the json module, 3.0 µs so (measured)."""
    return msgspec.json.encode(value).decode()


SQLITE_BUSY_TIMEOUT_S = 30
WAL_AUTOCHECKPOINT_PAGES = 8000
"""A connection copies the write-ahead log into the database itself once the log holds this many
pages (SQLite's default: 1,000). The server's WalCheckpointer does that copying long before; this
bounds the log when the checkpointer falls behind or does not run (the make tasks)."""


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(database_url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> AsyncEngine:
    url = async_database_url(database_url)
    if url.startswith("sqlite"):
        path = make_url(url).database or ":memory:"
        # SQLite has one writer: one pooled connection serialises transactions instead of
        # letting them fail with "database is locked".
        engine = create_async_engine(url, pool_size=1, max_overflow=0, json_serializer=json_text,
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
                               json_serializer=json_text)


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


class WalCheckpointer:
    """Copies SQLite's write-ahead log into the database file from a thread of its own, so that the
    event loop's commits only append to the log. Left to the committing connection, every 1,000th
    page written made one commit copy them all and wait for two fsyncs: measured, one order-sized
    commit in 50 took 5.5-6.9 ms (all requests wait for it), and a commit took 201-223 µs on
    average; with this thread, 109-137 µs and p99 0.3 ms. A PASSIVE checkpoint never blocks a
    reader or a writer, and sqlite3 lets go of the GIL while it runs (sqlite.org/wal.html,
    "Checkpointing"; sqlite.org/c3ref/wal_checkpoint_v2.html)."""

    def __init__(self, path: str, *, interval_s: float = 0.05) -> None:
        self.path = path
        self.interval_s = interval_s
        self.checkpoints = 0
        """Checkpoints that copied the whole log as it stood when they began."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpointer", daemon=True)

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> WalCheckpointer | None:
        """A checkpointer for a SQLite file; None for PostgreSQL."""
        return cls(engine.url.database) if is_sqlite(engine) and engine.url.database else None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        reported = ""
        while not self._stop.wait(self.interval_s):
            try:
                if connection is None:  # never creates the file: the migrations do
                    uri = f"{Path(self.path).resolve().as_uri()}?mode=rw"
                    connection = sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_S)
                (busy, logged, copied), = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as error:  # a disk error, say: the committing connection takes over
                if str(error) != reported:  # once, not 20 times a second
                    log.warning("WAL checkpoint of %s failed: %s", self.path, error)
                    reported = str(error)
                continue
            if not busy and 0 <= logged == copied:
                self.checkpoints += 1
        if connection is not None:
            connection.close()


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
