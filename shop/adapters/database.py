"""One way to run a transaction, on either database: a use case hands a plain function of a unit of
work (shop.adapters.unit_of_work) to `Database.transaction`, which runs it in one transaction and
commits when it returns, or rolls back when it raises.

    order = await ctx.db.transaction(lambda uow: confirm(uow, order_id, now))

The function is synchronous: the rules read like the contract, with no `await` between a check and
the write it allows. Only public APIs of SQLAlchemy:
- SQLite: a synchronous engine on the standard library's `sqlite3` (no aiosqlite); the function runs
  on the event loop's thread, as a statement of SQLite takes microseconds, less than a hop to a thread
  and back. One pooled connection: SQLite has one writer, and a transaction never yields the loop.
  `BEGIN IMMEDIATE` takes the write lock at once (SQLAlchemy's documented recipe for pysqlite), so
  a transaction never fails half-way for want of it; reads run without a transaction. The one
  SQLAlchemy Connection on it is kept from one use to the next (`_sqlite_connection`), its execution
  options set for each (`Connection.execution_options` changes the Connection in place): a Connection
  made, checked out and closed for each use cost 11 µs of CPU alone, 30-50 µs in the server under load.
- PostgreSQL: an async engine on asyncpg; the function runs through `AsyncConnection.run_sync`
  (SQLAlchemy's greenlet bridge): each statement awaits its round trip without blocking the loop.
  Connections stay open and checked out between uses (`KeptConnections`: up to half the pool for
  reads, a quarter for transactions), as taking one from the pool and giving it back costs more
  CPU than a one-row SELECT.

`together` is group commit (shop.adapters.group_commit): requests of one kind that arrive together
share one transaction, the function then taking all of them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Hashable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shop.adapters.db import (  # noqa: F401 - WriteInReads, statement_observers: this module's API
    SQLITE_BUSY_TIMEOUT_S, WAL_AUTOCHECKPOINT_PAGES, WriteInReads, json_text, json_value, statement_observers,
)
from shop.adapters.group_commit import GroupCommit
from shop.adapters.unit_of_work import UnitOfWork
from shop.settings import DEFAULT_POOL_SIZE, async_database_url, sqlite_path

T = TypeVar("T")
Work = Callable[[UnitOfWork], T]

SQLITE_CACHED_STATEMENTS = 512
"""Statements sqlite3 keeps prepared (its default is 128): group commit writes several rows in one
statement, one statement for each number of rows, and preparing a nine-row INSERT again costs
120 µs against 30 µs to run it prepared (measured)."""

_SQLITE_WRITES = {"reads_only": False, "sqlite_begin": "BEGIN IMMEDIATE"}
_SQLITE_READS = {"reads_only": True, "sqlite_begin": None}
"""The kept SQLite Connection's options for a transaction and for a read (`_refuse_writes_in_reads`,
`_sqlite_begin` and `_observe_step` read them)."""


class Database:
    """The shop's database: transactions and reads as functions of a unit of work."""

    def __init__(self, database_url: str, *, pool_size: int = DEFAULT_POOL_SIZE,
                 test_clock: bool = False) -> None:
        self.url = database_url
        self.test_clock = test_clock
        self.group_commit = GroupCommit()
        self.sqlite_file: Path | None = sqlite_path(database_url)
        self._sqlite: Engine | None = None
        self._postgres: AsyncEngine | None = None
        self._kept_reads: KeptConnections | None = None
        self._kept_writes: KeptConnections | None = None
        self._kept_sqlite: Connection | None = None
        self._sqlite_in_use = False
        if self.sqlite_file is not None:
            self._sqlite = _sqlite_engine(str(self.sqlite_file))
            self.sync_engine = self._sqlite
        else:
            self._postgres = _postgres_engine(database_url, pool_size)
            self.sync_engine = self._postgres.sync_engine
            self._reads = self._postgres.execution_options(isolation_level="AUTOCOMMIT", reads_only=True)
            self._kept_reads = KeptConnections(self._reads, most=max(1, pool_size // 2))
            self._kept_writes = KeptConnections(self._postgres, most=max(1, pool_size // 4))
        event.listen(self.sync_engine, "before_cursor_execute", _refuse_writes_in_reads)
        event.listen(self.sync_engine, "before_cursor_execute", _observe_statement)
        for name in ("begin", "commit", "rollback"):
            event.listen(self.sync_engine, name, partial(_observe_step, name.upper()))

    @property
    def async_engine(self) -> AsyncEngine | None:
        """PostgreSQL's engine (None on SQLite), for what holds a connection across an await."""
        return self._postgres

    @property
    def dialect(self) -> str:
        """"sqlite" or "postgresql"."""
        return self.sync_engine.dialect.name

    async def transaction(self, work: Work[T]) -> T:
        """`work(uow)` in one transaction: committed when it returns, rolled back when it raises."""
        if self._sqlite is not None:
            connection = self._sqlite_connection(_SQLITE_WRITES)
            try:
                with connection.begin():
                    return work(self._unit(connection))
            finally:
                self._sqlite_in_use = False
        assert self._kept_writes is not None

        def in_transaction(sync: Connection) -> T:
            # BEGIN to COMMIT in one trip through the greenlet bridge: 30-85 µs of CPU less than
            # `async with connection.begin()` around `run_sync` (measured, a one-row SELECT)
            with sync.begin():
                return work(self._unit(sync))
        return await self._kept_writes.use(lambda connection: connection.run_sync(in_transaction))

    async def schema_change(self, work: Work[T]) -> T:
        """`work(uow)` in one transaction, as `transaction`, for the migrations. On SQLite with foreign
        keys not enforced until the change is done, then checked before the commit: SQLite changes a
        column (alembic's batch mode) by copying the table, and the rows other tables name would be
        deleted and written again (sqlite.org/lang_altertable.html, "Making Other Kinds Of Table
        Schema Changes"; the PRAGMA does nothing inside a transaction, so it comes before it)."""
        if self._sqlite is None:
            return await self.transaction(work)
        connection = self._sqlite_connection(_SQLITE_WRITES)
        dbapi = connection.connection.dbapi_connection
        assert dbapi is not None
        try:
            dbapi.execute("PRAGMA foreign_keys = OFF")
            with connection.begin():
                done = work(self._unit(connection))
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the schema change leaves rows naming rows that are gone: {broken[:10]}")
                return done
        finally:
            dbapi.execute("PRAGMA foreign_keys = ON")
            self._sqlite_in_use = False

    async def read(self, work: Work[T]) -> T:
        """`work(uow)` for reads only, each statement on its own (no BEGIN and COMMIT: two round trips
        fewer on PostgreSQL); for reads that a later transaction re-checks where it matters."""
        if self._sqlite is not None:
            connection = self._sqlite_connection(_SQLITE_READS)
            try:
                return work(self._unit(connection))
            finally:
                self._sqlite_in_use = False
                if connection.in_transaction():  # SQLAlchemy's autobegin: no BEGIN was sent (`_sqlite_begin`)
                    self._end_sqlite_read(connection)
        assert self._kept_reads is not None
        return await self._kept_reads.use(lambda connection: connection.run_sync(lambda sync: work(self._unit(sync))))

    async def together(self, key: Hashable, work: Callable[[UnitOfWork, list[Any]], Sequence[T]], item: Any, *,
                       most: int | None = None) -> T:
        """`work(uow, items)` for this item and those of the same `key` that arrive while an earlier
        batch is in the database, in one transaction (group commit), at most `most` items a batch
        (default: shop.adapters.group_commit.MOST_AT_ONCE); this item's result. A batch that fails
        is run again one item at a time, so that an item's failure is its own."""
        async def run(items: list[Any]) -> list[T]:
            return list(await self.transaction(lambda uow: work(uow, items)))
        return await self.group_commit.submit(key, run, item, most=most)

    def connections_in_use(self) -> int:
        """Connections taken from the pool and not idle now (kept ones waiting for their next use
        are not in use)."""
        if self._sqlite is not None:
            return int(self._sqlite_in_use)
        kept = sum(kept.idle for kept in (self._kept_reads, self._kept_writes) if kept is not None)
        return self.sync_engine.pool.checkedout() - kept  # type: ignore[attr-defined]

    def _sqlite_connection(self, options: dict[str, Any]) -> Connection:
        """SQLite's one Connection, kept, with `options` for this use; a new one once SQLAlchemy has
        invalidated the last (its DBAPI connection broke)."""
        kept = self._kept_sqlite
        if kept is None or kept.closed or kept.invalidated:
            assert self._sqlite is not None
            kept = self._kept_sqlite = self._sqlite.connect()
        kept.execution_options(**options)
        self._sqlite_in_use = True
        return kept

    def _end_sqlite_read(self, connection: Connection) -> None:
        try:
            connection.rollback()
        except BaseException:
            self._kept_sqlite = None  # not trusted again: the pool takes its connection back
            connection.close()
            raise

    def _unit(self, connection: Connection) -> UnitOfWork:
        return UnitOfWork(connection, test_clock=self.test_clock)

    async def dispose(self) -> None:
        for kept in (self._kept_reads, self._kept_writes):
            if kept is not None:
                await kept.close()
        if self._postgres is not None:
            await self._postgres.dispose()
        if self._kept_sqlite is not None:
            self._kept_sqlite.close()
            self._kept_sqlite = None
        if self._sqlite is not None:
            self._sqlite.dispose()


class KeptConnections:
    """PostgreSQL connections kept open from one use to the next (at most `most` idle), as
    SQLAlchemy's AsyncConnections: checking one out of the engine's pool and back for each use (an
    AsyncConnection made and closed, the pool's events, its reset on return) cost about 100 µs of
    CPU a read (measured: a one-row SELECT through `read`, 316 against 215 µs; `tests.bench.ab`,
    catalogue reads 2,531 against 3,562/s). A connection whose use raised goes back to the pool,
    which drops it if it broke; one past `most` goes back too. The kept ones stay checked out of
    the pool: with at most three quarters of `pool_size` kept, the pool's own overflow is still
    there for a burst."""

    def __init__(self, engine: AsyncEngine, *, most: int) -> None:
        self._engine = engine
        self._most = most
        self._idle: list[AsyncConnection] = []

    async def use(self, use: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        connection = self._idle.pop() if self._idle else await self._engine.connect()
        try:
            result = await use(connection)
        except BaseException:
            await connection.close()
            raise
        if len(self._idle) < self._most:
            self._idle.append(connection)
        else:
            await connection.close()
        return result

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()


def _sqlite_engine(path: str) -> Engine:
    engine = sa.create_engine(
        f"sqlite:///{path}", pool_size=1, max_overflow=0,
        json_serializer=json_text, json_deserializer=json_value,
        # Nothing to reset on return: reads run in no transaction, and a transaction that fails is
        # rolled back before its connection goes back (SQLAlchemy's own rollback call, saved).
        pool_reset_on_return=None,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False,
                      "cached_statements": SQLITE_CACHED_STATEMENTS})
    event.listen(engine, "connect", _sqlite_connected)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connected(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the shop says BEGIN itself (`_sqlite_begin`)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                   f"wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _sqlite_begin(connection: Connection) -> None:
    """A transaction begins with the write lock (`BEGIN IMMEDIATE`); reads begin none."""
    begin = connection.get_execution_options().get("sqlite_begin")
    if begin:  # on the DBAPI connection: through SQLAlchemy's execution it took 20 µs (measured)
        connection.connection.dbapi_connection.execute(begin)  # type: ignore[union-attr]


def _postgres_engine(database_url: str, pool_size: int) -> AsyncEngine:
    # One worker's requests hold at most a connection each, for their transaction: the pool keeps
    # `pool_size` (DATABASE_POOL_SIZE), at least as many as run at once, and opens up to 10 more.
    # A connection past `pool_size` is closed when it is returned (a PostgreSQL backend each: fork,
    # authentication, a cold statement cache): measured, a pool of 10 against 20 served 1,315-1,445
    # against 2,087-3,514 bare one-INSERT requests/s at concurrency 16.
    return create_async_engine(async_database_url(database_url), pool_size=pool_size, max_overflow=10,
                               json_serializer=json_text, json_deserializer=json_value)


def _refuse_writes_in_reads(connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    """`read` runs each statement on its own (autocommit on PostgreSQL): a write there would be
    committed at once, outside any transaction the rules rely on."""
    if connection.get_execution_options().get("reads_only") and statement.lstrip()[:6].upper() not in (
            "SELECT", "PRAGMA"):
        raise WriteInReads(f"Database.read runs SELECTs only, not: {statement[:60]}")


def _observe_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    for observer in statement_observers:
        observer(statement)


def _observe_step(name: str, connection: Connection) -> None:
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT" or (
            connection.dialect.name == "sqlite" and not options.get("sqlite_begin")):
        return  # reads: no transaction
    for observer in statement_observers:
        observer(name)
