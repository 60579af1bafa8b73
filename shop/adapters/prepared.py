"""The hot paths' SQL, run on the database driver itself.

A statement is still written with SQLAlchemy Core against the tables of `shop.adapters.tables`, and
SQLAlchemy still compiles it (once per dialect and set of parameters) and converts every value with
the column's own type, as it would have. What is left out is SQLAlchemy's per-call execution
machinery: about 55 µs a statement on this machine, against about 10 µs for the driver call itself
(measured on the webhook path, SQLite, 5 statements a request: SQLAlchemy's share was more than half
of the request). Use it where a request is a handful of known statements in one transaction (placing
an order, applying a payment); everything else keeps the ORM session.

    async with driver_transaction(engine) as tx:
        order = await tx.first(ORDER_BY_ID, key=order_id)
        await tx.execute(SET_STATE, order_id=order.id, state="paid", at=now)

A transaction commits when the block ends and rolls back on any exception; `driver_reads` runs
SELECTs without one. On SQLite the statements run on the one pooled connection, on the event loop's
thread (shop.adapters.db.InlineSQLiteConnection); on PostgreSQL through asyncpg, in one asyncpg
transaction, and a connection the server dropped goes back to the pool to be replaced.
"""

from __future__ import annotations

import re
import sqlite3
from abc import ABC, abstractmethod
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import asyncpg
from sqlalchemy import Column, Table, bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn
from sqlmodel.ext.asyncio.session import AsyncSession

Row = tuple[Any, ...]  # a named tuple: columns by name (`row.id`) as SQLAlchemy's rows

statement_observers: list[Callable[[str], None]] = []
"""Called with each statement's SQL before it runs, and with BEGIN / COMMIT / ROLLBACK (the
statement-budget tests and `tests.bench.capture` count them, as they count the session's)."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters in the order the driver takes them
    binds: tuple[Callable[[Any], Any] | None, ...]
    constants: dict[str, Any]  # values written into the statement (`.where(table.c.id == 1)`)
    defaults: dict[str, Callable[[], Any]]  # the columns' Python-side defaults (`Field(default=…)`)
    row_type: type[tuple[Any, ...]] | None
    results: tuple[Callable[[Any], Any] | None, ...]

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        values = []
        for name, bind in zip(self.names, self.binds):
            if name in params:
                value = params[name]
            elif name in self.constants:
                value = self.constants[name]
            elif name in self.defaults:
                value = self.defaults[name]()
            else:
                raise TypeError(f"{self.sql.split()[0]} statement needs parameter {name!r}")
            values.append(value if bind is None else bind(value))
        return tuple(values)

    def rows(self, raw: list[Any]) -> list[Row]:
        if self.row_type is None:
            return []
        make, results = self.row_type._make, self.results  # type: ignore[attr-defined]
        if not any(results):
            return [make(row) for row in raw]
        return [make(value if convert is None else convert(value) for value, convert in zip(row, results))
                for row in raw]


class Prepared:
    """A Core statement (bind parameters by name), compiled on first use for each dialect and set of
    parameter names, as SQLAlchemy's own compiled cache keys an INSERT."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, frozenset[str]], _Compiled] = {}

    def compiled(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        key = (dialect.name, frozenset(params))
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._compile(dialect, key[1])
        return found

    def compile_ahead(self, dialect: Dialect) -> None:
        """Compile for every parameter the statement requires (as its callers pass them), before
        its first call: a serving process does so at start for the statements of group commit."""
        required = [name for name, bind in self.statement.compile().binds.items() if bind.required]
        self.compiled(dialect, dict.fromkeys(required))

    def _compile(self, dialect: Dialect, keys: frozenset[str]) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect, column_keys=sorted(keys))
        defaulted = [*getattr(compiled, "insert_prefetch", ()), *getattr(compiled, "update_prefetch", ())]
        defaults = {column.key: _python_default(column) for column in defaulted}
        names = tuple(compiled.positiontup or ())
        binds = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
        constants = {name: compiled.binds[name].effective_value for name in names
                     if not compiled.binds[name].required and name not in defaults}
        columns = list(getattr(self.statement, "exported_columns", ()))
        if columns and not getattr(self.statement, "is_select", False) and not getattr(
                self.statement, "_returning", ()):
            columns = []  # an INSERT/UPDATE without RETURNING returns no rows
        row_type = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None  # type: ignore[misc]
        results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        return _Compiled(compiled.string, names, binds, constants, defaults, row_type, results)


def _python_default(column: Any) -> Callable[[], Any]:
    """A column's value when a statement leaves it out, as SQLAlchemy's execution would compute it
    per call (a fresh one each time for `default_factory=list`)."""
    default = column.default
    if default is not None and default.is_scalar:
        return lambda: default.arg
    if default is not None and default.is_callable:
        return lambda: default.arg(None)  # SQLAlchemy wraps a no-argument default to take a context
    raise TypeError(f"column {column.key} has a default the driver path cannot compute; give it a value")


@cache
def _written_columns(table: Table) -> tuple[Column[Any], ...]:
    return tuple(column for column in table.c if column is not table.autoincrement_column)


def _left_out(column: Column[Any]) -> Callable[[], Any]:
    """What a row that leaves the column out writes: its Python-side default, or NULL."""
    if column.default is not None:
        return _python_default(column)
    if column.nullable:
        return lambda: None

    def refuse() -> Any:
        raise TypeError(f"column {column.key} needs a value")
    return refuse


class _InsertMany(Prepared):
    """`count` rows of `table` in one INSERT … RETURNING *, its parameters named `{column}_{row}`;
    with `unless_exists`, a unique column, a row whose value is there already is left out (the same
    ON CONFLICT clause in SQLite and PostgreSQL) and not returned. On the driver its arguments are
    taken from the rows in the statement's own order, without a dictionary of every row's every
    column first (a nine-row INSERT of orders has 180)."""

    def __init__(self, table: Table, count: int, unless_exists: str | None) -> None:
        columns = _written_columns(table)
        statement = postgresql.insert(table).values([
            {column.key: bindparam(f"{column.key}_{i}", type_=column.type) for column in columns}
            for i in range(count)])
        if unless_exists is not None:
            statement = statement.on_conflict_do_nothing(index_elements=[table.c[unless_exists]])
        super().__init__(statement.returning(*table.c))
        self._slot_of = {f"{column.key}_{i}": (i, column.key, _left_out(column))
                         for i in range(count) for column in columns}
        self._left_out = {column.key: _left_out(column) for column in columns}
        self._plans: dict[str, tuple[_Compiled, tuple[tuple[int, str, Callable[[], Any], Any], ...]]] = {}

    def compile_ahead(self, dialect: Dialect) -> None:
        self.plan(dialect)

    def plan(self, dialect: Dialect) -> tuple[_Compiled, tuple[tuple[int, str, Callable[[], Any], Any], ...]]:
        """The statement compiled for `dialect`, and for each of its arguments in order: the row,
        the column, what a row that leaves it out writes, the column type's conversion."""
        found = self._plans.get(dialect.name)
        if found is None:
            compiled = self.compiled(dialect, self._slot_of)
            slots = tuple((*self._slot_of[name], bind) for name, bind in zip(compiled.names, compiled.binds))
            found = self._plans[dialect.name] = (compiled, slots)
        return found

    def params(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The rows as named parameters (the session's path)."""
        return {f"{key}_{i}": value for i, row in enumerate(self.completed(rows)) for key, value in row.items()}

    def completed(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Each row with every written column: a column it leaves out has what the INSERT writes."""
        return [{key: row[key] if key in row else left_out() for key, left_out in self._left_out.items()}
                for row in rows]

    @staticmethod
    def args(slots: tuple[tuple[int, str, Callable[[], Any], Any], ...],
             rows: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
        values = []
        for i, key, left_out, bind in slots:
            row = rows[i]
            value = row[key] if key in row else left_out()
            values.append(value if bind is None else bind(value))
        return tuple(values)


@cache
def _insert_many(table: Table, count: int, unless_exists: str | None) -> _InsertMany:
    return _InsertMany(table, count, unless_exists)


def warm_insert_rows(dialect: Dialect, table: Table, count: int, *, unless_exists: str | None = None) -> None:
    """Compile `Statements.insert_rows`' statement for `count` rows ahead of its first use."""
    _insert_many(table, count, unless_exists).compile_ahead(dialect)


@dataclass(frozen=True)
class NewRows:
    """Rows for one table, for `Statements.insert_together`; `unless_exists` as in `insert_rows`."""

    table: Table
    rows: Sequence[Mapping[str, Any]]
    unless_exists: str | None = None


_PARAMETER = re.compile(r"\$(\d+)")


@cache
def _together_sql(shape: tuple[tuple[Table, int, str | None], ...], dialect: Dialect) -> str:
    """The statement of `_PostgresStatements.insert_together` for one shape (tables, row counts,
    `unless_exists`): each table's own INSERT of `insert_rows`, its parameters numbered on from the
    one before, as a WITH query; then, from each, the new ids and the `unless_exists` keys."""
    quote = dialect.identifier_preparer.quote
    queries, answers, offset = [], [], 0
    for part, (table, count, unless_exists) in enumerate(shape):
        insert = _insert_many(table, count, unless_exists).plan(dialect)[0].sql
        queries.append(f"part_{part} AS ({_PARAMETER.sub(lambda m: f'${int(m.group(1)) + offset}', insert)})")
        offset += len(_PARAMETER.findall(insert))
        new_id, key = table.autoincrement_column, unless_exists
        answers.append(f"SELECT {part} AS part, "
                       f"{'CAST(NULL AS BIGINT)' if new_id is None else quote(new_id.name)} AS new_id, "
                       f"{'CAST(NULL AS TEXT)' if key is None else f'CAST({quote(key)} AS TEXT)'} AS key "
                       f"FROM part_{part}")
    return f"WITH {', '.join(queries)} {' UNION ALL '.join(answers)} ORDER BY part, new_id"


def _rows_as_written(table: Table, row_type: Any, rows: list[dict[str, Any]], ids: list[int]) -> list[Row]:
    """Rows as `insert_rows` returns them, from the values sent and the new ids (in the rows' order)."""
    new_id = table.autoincrement_column
    if new_id is None:
        return [row_type._make(row[column.key] for column in table.c) for row in rows]
    if len(ids) != len(rows):
        raise RuntimeError(f"{table.name}: {len(ids)} new ids for {len(rows)} rows")
    return [row_type._make(given if column is new_id else row[column.key] for column in table.c)
            for row, given in zip(rows, ids)]


class Statements(ABC):
    """Runs prepared statements in one transaction: on the driver (`driver_transaction`), or in an
    ORM session's transaction (`in_session`) where a rare path needs the session as well."""

    sqlite: sqlite3.Connection | None = None
    """On SQLite, the driver's connection (the process's one): for `PRAGMA data_version` and
    `total_changes`, which tell whether anything was written since (shop.services.catalogue)."""

    @abstractmethod
    async def fetch(self, statement: Prepared, **params: Any) -> list[Row]:
        """Runs a statement; the rows it returns."""

    async def first(self, statement: Prepared, **params: Any) -> Row | None:
        rows = await self.fetch(statement, **params)
        return rows[0] if rows else None

    @abstractmethod
    async def execute(self, statement: Prepared, **params: Any) -> int:
        """Runs a statement that returns no rows; the number of rows it changed."""

    async def insert_rows(self, table: Table, rows: Sequence[Mapping[str, Any]], *,
                          unless_exists: str | None = None) -> list[Row]:
        """Inserts the rows in one statement and returns them as written, every column (the new ids
        too), in an order the database chooses: match them up by a column. A column a row leaves
        out gets its Python-side default, or NULL. With `unless_exists` (a unique column), a row
        whose value the table holds already is neither written nor returned."""
        if not rows:
            return []
        statement = _insert_many(table, len(rows), unless_exists)
        return await self.fetch(statement, **statement.params(rows))

    async def insert_together(self, *inserts: NewRows) -> list[list[Row]]:
        """Each table's rows inserted and returned as `insert_rows` does, in the order given (a table
        whose rows refer to another's comes after it). On the driver on PostgreSQL all tables go in
        one statement (see `_PostgresStatements.insert_together`); elsewhere, one statement a table."""
        return [await self.insert_rows(new.table, new.rows, unless_exists=new.unless_exists) for new in inserts]

    async def execute_many(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        """Runs a statement that returns no rows once for each set of parameters (the same names in
        each); on the driver they are sent together, one round trip on PostgreSQL."""
        for params in rows:
            await self.execute(statement, **params)


class _DriverStatements(Statements, ABC):
    def __init__(self, dialect: Dialect, connection: Any) -> None:
        self.dialect = dialect
        self._db = connection

    async def fetch(self, statement: Prepared, **params: Any) -> list[Row]:
        compiled = statement.compiled(self.dialect, params)
        return await self._fetch_compiled(compiled, compiled.args(params), params)

    async def insert_rows(self, table: Table, rows: Sequence[Mapping[str, Any]], *,
                          unless_exists: str | None = None) -> list[Row]:
        if not rows:
            return []
        compiled, slots = _insert_many(table, len(rows), unless_exists).plan(self.dialect)
        return await self._fetch_compiled(compiled, _InsertMany.args(slots, rows), rows)

    async def _fetch_compiled(self, compiled: _Compiled, args: tuple[Any, ...], params: Any) -> list[Row]:
        _observe(compiled.sql)
        try:
            raw = await self._fetch(compiled.sql, args)
        except self.integrity_errors as error:
            raise IntegrityError(compiled.sql, params, error) from error
        return compiled.rows(raw)

    async def execute(self, statement: Prepared, **params: Any) -> int:
        compiled = statement.compiled(self.dialect, params)
        _observe(compiled.sql)
        try:
            return await self._execute(compiled.sql, compiled.args(params))
        except self.integrity_errors as error:
            raise IntegrityError(compiled.sql, params, error) from error

    async def execute_many(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        compiled = statement.compiled(self.dialect, rows[0])
        _observe(compiled.sql)
        try:
            await self._execute_many(compiled.sql, [compiled.args(params) for params in rows])
        except self.integrity_errors as error:
            raise IntegrityError(compiled.sql, rows, error) from error

    integrity_errors: tuple[type[Exception], ...] = ()
    """The driver's constraint violations, raised as SQLAlchemy's IntegrityError (as the session does)."""

    @abstractmethod
    async def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        """The driver's rows for compiled SQL and its positional arguments."""

    @abstractmethod
    async def _execute(self, sql: str, args: tuple[Any, ...]) -> int:
        """The driver's count of changed rows."""

    @abstractmethod
    async def _execute_many(self, sql: str, args: list[tuple[Any, ...]]) -> None:
        """The driver's executemany."""


class _SQLiteStatements(_DriverStatements):
    """sqlite3 begins the transaction itself before the first write (its legacy mode, as under
    SQLAlchemy); the reads before it see the last committed state, as they do through the session."""

    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, dialect: Dialect, connection: Any) -> None:
        super().__init__(dialect, connection)
        self.sqlite = connection

    async def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        return self._db.execute(sql, args).fetchall()  # type: ignore[no-any-return]

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> int:
        return self._db.execute(sql, args).rowcount  # type: ignore[no-any-return]

    async def _execute_many(self, sql: str, args: list[tuple[Any, ...]]) -> None:
        self._db.executemany(sql, args)


class _PostgresStatements(_DriverStatements):
    integrity_errors = (asyncpg.IntegrityConstraintViolationError,)

    async def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        return await self._db.fetch(sql, *args)  # type: ignore[no-any-return]

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> int:
        status = await self._db.execute(sql, *args)  # "UPDATE 1", "INSERT 0 1"
        return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0

    async def _execute_many(self, sql: str, args: list[tuple[Any, ...]]) -> None:
        await self._db.executemany(sql, args)  # one pipeline: Bind/Execute per row, one Sync

    async def insert_together(self, *inserts: NewRows) -> list[list[Row]]:
        """One statement for every table: each table's INSERT of `insert_rows` as a data-modifying
        WITH query, answering only what the database alone knows (the new ids; with
        `unless_exists`, which rows it wrote). The rows are returned as written, built from the
        values sent, a new id given to each row in the order of the VALUES list (the order in
        which PostgreSQL takes the serial's values). Under load every round trip waits for a busy
        event loop (about 1.9 ms each, measured: 18 ms for the ten of an order batch), so that one
        statement for five saves more time than its statements cost (foreign keys are checked at
        the end of the statement, so rows may refer to rows written beside them)."""
        present = [new for new in inserts if new.rows]
        if len(present) < 2:
            return await super().insert_together(*inserts)
        shape = tuple((new.table, len(new.rows), new.unless_exists) for new in present)
        statements = [_insert_many(*part) for part in shape]
        plans = [statement.plan(self.dialect) for statement in statements]
        written = [statement.completed(new.rows) for statement, new in zip(statements, present)]
        args = tuple(arg for (_, slots), rows in zip(plans, written) for arg in _InsertMany.args(slots, rows))
        sql = _together_sql(shape, self.dialect)
        _observe(sql)
        try:
            answered = await self._fetch(sql, args)
        except self.integrity_errors as error:
            raise IntegrityError(sql, None, error) from error
        new_ids: list[list[int]] = [[] for _ in shape]
        new_keys: list[set[Any]] = [set() for _ in shape]
        for part, new_id, key in answered:  # in the order of the parts, then of the ids
            new_ids[part].append(new_id)
            new_keys[part].add(key)
        returned = iter([
            _rows_as_written(new.table, compiled.row_type,
                             rows if new.unless_exists is None else
                             [row for row in rows if str(row[new.unless_exists]) in keys], ids)
            for new, (compiled, _), rows, ids, keys in zip(present, plans, written, new_ids, new_keys)])
        return [next(returned) if new.rows else [] for new in inserts]


class in_session(Statements):  # noqa: N801 - reads as a function: in_session(session)
    """The same statements through an ORM session, in its transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fetch(self, statement: Prepared, **params: Any) -> list[Row]:
        connection = await self.session.connection()  # rows, as on the driver (never bare scalars)
        return list((await connection.execute(statement.statement, params)).all())  # type: ignore[arg-type]

    async def execute(self, statement: Prepared, **params: Any) -> int:
        connection = await self.session.connection()
        return (await connection.execute(statement.statement, params)).rowcount  # type: ignore[arg-type]


@asynccontextmanager
async def driver_transaction(engine: AsyncEngine) -> AsyncIterator[Statements]:
    """A pooled connection in one transaction, committed at the end of the block, rolled back on
    an exception; the connection goes back to the pool at once (as InlineSQLiteSession closes)."""
    async with _pooled(engine) as driver:
        _observe("BEGIN")
        if engine.dialect.name == "sqlite":
            db = driver.sqlite
            try:
                yield _SQLiteStatements(engine.dialect, db)
            except BaseException:
                _observe("ROLLBACK")
                db.rollback()
                raise
            _observe("COMMIT")
            db.commit()
        else:
            transaction = driver.transaction()
            try:
                await transaction.start()
            except BaseException:
                driver.terminate()  # BEGIN fails only on a connection no longer fit to use
                raise
            try:
                yield _PostgresStatements(engine.dialect, driver)
            except BaseException:
                _observe("ROLLBACK")
                try:
                    await transaction.rollback()
                except Exception:  # noqa: BLE001 - the block's own error is the one to raise
                    driver.terminate()  # one that cannot roll back is given to no one else
                raise
            _observe("COMMIT")
            await transaction.commit()


@asynccontextmanager
async def driver_reads(engine: AsyncEngine) -> AsyncIterator[Statements]:
    """A pooled connection for SELECTs only, each in a transaction of its own: no BEGIN and COMMIT,
    two round trips fewer on PostgreSQL. For reads that a later transaction re-checks where it
    matters (the order path's catalogue and per-customer counts); a write here is refused."""
    async with _pooled(engine) as driver:
        if engine.dialect.name == "sqlite":
            yield _ReadsOnly(_SQLiteStatements(engine.dialect, driver.sqlite))
        else:
            yield _ReadsOnly(_PostgresStatements(engine.dialect, driver))


class _ReadsOnly(Statements):
    def __init__(self, statements: Statements) -> None:
        self._statements = statements
        self.sqlite = statements.sqlite

    async def fetch(self, statement: Prepared, **params: Any) -> list[Row]:
        if not getattr(statement.statement, "is_select", False):
            raise TypeError(f"driver_reads runs SELECTs only, not {statement.statement}")
        return await self._statements.fetch(statement, **params)

    async def execute(self, statement: Prepared, **params: Any) -> int:
        raise TypeError(f"driver_reads runs SELECTs only, not {statement.statement}")


@asynccontextmanager
async def _pooled(engine: AsyncEngine) -> AsyncIterator[Any]:
    """The driver's connection, taken from the pool itself rather than through an AsyncConnection:
    one hop into SQLAlchemy's greenlet each way instead of three (62 -> 35 µs a transaction on
    SQLite, measured). Returned with the pool's own reset (a rollback of anything left open)."""
    pooled = await greenlet_spawn(engine.sync_engine.pool.connect)
    driver = pooled.driver_connection
    try:
        yield driver
    except BaseException as error:
        if engine.dialect.name == "postgresql" and driver.is_closed():
            # Dropped by the server (a restart, an administrator) or given up above: the pool
            # discards it and opens a new one for the next request, as on the session's path.
            await greenlet_spawn(pooled.invalidate, error)
        raise
    finally:
        await greenlet_spawn(pooled.close)


def _observe(sql: str) -> None:
    for observer in statement_observers:
        observer(sql)
