"""The hot paths' statements run on the database's DBAPI connection, through public APIs only.

SQLAlchemy's execution of a statement costs 20-35 µs on this machine beyond the driver's own work
(an execution context, its events, a result object: measured on the order path, where it was a
third of the server's time spent on the database). A statement of the few hot paths (placing an
order, applying a payment, the catalogue) is instead compiled once by SQLAlchemy for the dialect and
the parameters given, its values converted by the column types' own processors, and run on the
pooled connection's DBAPI connection, in the unit of work's transaction:

    rows = run(uow.connection, STATEMENT, {"b_sku": sku})

Everything used is SQLAlchemy's documented API: `ClauseElement.compile(dialect=, column_keys=)`,
`SQLCompiler.construct_expanded_state()`, whose `ExpandedState` documents `statement`, `parameters`
and `positiontup` (the order of a positional statement's parameters) as public members
(docs.sqlalchemy.org/en/20/core/internals.html#sqlalchemy.sql.compiler.ExpandedState; the
compiler's own undocumented `positiontup`, which the former shop.adapters.prepared read, is not used),
`sqlalchemy.sql.visitors.iterate`, `TypeEngine.dialect_impl` / `bind_processor` / `result_processor`,
`Select.selected_columns`, `UpdateBase.exported_columns`, `PoolProxiedConnection.dbapi_connection`,
`Dialect.loaded_dbapi`, and PEP 249 on the connection. An INSERT writes the columns given, plus the
Python-side defaults (`Column.default`) of those left out; a column with the database's own default
is left to the database, and RETURNING answers what was stored.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Column, Insert, Table, bindparam, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import visitors
from sqlalchemy.types import NullType

from shop.adapters.db import WriteInReads, statement_observers

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]
    binds: tuple[Processor, ...]
    constants: dict[str, Any]  # values written into the statement (`.where(table.c.state != "x")`)
    defaults: dict[str, Callable[[], Any]]
    row: Any  # a namedtuple type, or None: the statement returns no rows
    results: tuple[Processor, ...]
    writes: bool

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

    def args_many(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """`args` for each row, every row naming the same parameters (as `run_many` requires): a
        value the rows share (a batch's `now`) converted once, not once a row (the expiry job writes
        2,000 timeline rows a batch: 12 → 7 ms, measured)."""
        if any(name not in rows[0] for name in self.names):
            return [self.args(params) for params in rows]
        converted: list[Callable[[Any], Any]] = []
        for bind in self.binds:
            if bind is None:
                converted.append(_as_is)
                continue
            last: list[Any] = [_UNSET, None]

            def convert(value: Any, bind: Callable[[Any], Any] = bind, last: list[Any] = last) -> Any:
                if value is not last[0]:
                    last[0], last[1] = value, bind(value)
                return last[1]
            converted.append(convert)
        pairs = tuple(zip(self.names, converted))
        return [tuple([convert(params[name]) for name, convert in pairs]) for params in rows]

    def rows(self, raw: list[Any]) -> list[Any]:
        make = self.row._make
        if not any(self.results):
            return [make(row) for row in raw]
        return [make(value if convert is None else convert(value) for value, convert in zip(row, self.results))
                for row in raw]


_UNSET = object()


def _as_is(value: Any) -> Any:
    return value


class Rows(list):  # type: ignore[type-arg]
    """The rows a statement returned (attribute access: `row.state`), and how many it changed."""

    rowcount: int = 0

    def first(self) -> Any:
        return self[0] if self else None

    def scalar(self) -> Any:
        return self[0][0] if self else None

    def scalars(self) -> list[Any]:
        return [row[0] for row in self]


class Statement:
    """A Core statement, compiled on first use for each dialect and set of parameter names."""

    def __init__(self, statement: Any, *, fill_defaults: bool = True, types: Mapping[str, Any] | None = None) -> None:
        self.statement = statement
        self.fill_defaults = fill_defaults
        self._plans: dict[tuple[str, frozenset[str]], _Plan] = {}
        self._types = {bind.key: bind.type for bind in visitors.iterate(statement)
                       if isinstance(bind, BindParameter)}
        self._types.update(types or {})  # what `iterate` does not reach (a VALUES list of many rows)

    def plan(self, connection: Connection, params: Mapping[str, Any]) -> _Plan:
        key = (connection.dialect.name, frozenset(params))
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = self._compile(connection, params)
        return found

    def _compile(self, connection: Connection, params: Mapping[str, Any]) -> _Plan:
        dialect = connection.dialect
        defaults: dict[str, Callable[[], Any]] = {}
        types = dict(self._types)
        column_keys = None
        if isinstance(self.statement, Insert) and self.fill_defaults:
            table = self.statement.table
            given = set(params)
            for column in table.c:
                if column.key not in given and column.default is not None:
                    defaults[column.key] = _python_default(column)
                types.setdefault(column.key, column.type)
            column_keys = sorted(given | set(defaults))
        compiled = self.statement.compile(dialect=dialect, column_keys=column_keys)
        example = {name: params.get(name) for name in column_keys or params}
        state = compiled.construct_expanded_state(example)
        if "POSTCOMPILE" in state.statement or not dialect.positional:
            raise TypeError(f"{self.statement!r}: expanding parameters or a named paramstyle")
        names = tuple(state.positiontup or ())
        constants = {name: state.parameters[name] for name in names
                     if name not in params and name not in defaults}
        for name in names:  # a bindparam in `.values()` gets its column's type only in the compiler
            untyped = isinstance(types.get(name), (NullType, type(None)))
            if untyped and name in params and not isinstance(params[name], (str, int, float, type(None))):
                raise TypeError(f"bindparam {name!r} needs a type_ for {type(params[name]).__name__} values")
        binds = tuple(_bind_processor(types.get(name), dialect) for name in names)
        columns = list(getattr(self.statement, "selected_columns", None) or
                       getattr(self.statement, "exported_columns", None) or ())
        row = namedtuple("Row", [column.key for column in columns], rename=True) if columns else None  # type: ignore[misc]
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
        writes = not getattr(self.statement, "is_select", False)
        return _Plan(state.statement, names, binds, constants, defaults, row, results, writes)


def run(connection: Connection, statement: Statement, params: Mapping[str, Any] | None = None) -> Rows:
    """Runs the statement once on the unit of work's connection, in its transaction."""
    params = params or {}
    plan = statement.plan(connection, params)
    return _execute(connection, plan, plan.args(params), params, many=False)


def run_many(connection: Connection, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
    """Runs a statement that returns no rows once for each set of parameters (the same names in
    each), in one `executemany`."""
    if rows:
        plan = statement.plan(connection, rows[0])
        _execute(connection, plan, plan.args_many(rows), rows, many=True)


def _execute(connection: Connection, plan: _Plan, args: Any, params: Any, *, many: bool) -> Rows:
    if plan.writes and connection.get_execution_options().get("reads_only"):
        raise WriteInReads(f"Database.read runs SELECTs only, not: {plan.sql[:60]}")
    for observer in statement_observers:
        observer(plan.sql)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(plan.sql, args)
            return Rows()
        cursor.execute(plan.sql, args)
        found = Rows(plan.rows(cursor.fetchall()) if plan.row is not None else ())
        found.rowcount = cursor.rowcount
        return found
    except connection.dialect.loaded_dbapi.IntegrityError as error:
        raise exc.IntegrityError(plan.sql, params, error) from error
    finally:
        cursor.close()


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *,
                returning: Sequence[str] | None = None, unless_exists: str | None = None) -> Rows:
    """The rows inserted in ONE statement (a VALUES list of them all), every row with the same
    columns; a column they leave out gets its Python-side default, or the database's own. With
    `returning`, those columns of the rows written, in the order of the VALUES list on SQLite (match
    them up by a column on PostgreSQL); with `unless_exists` (a unique column), a row whose value is
    there already is neither written nor returned."""
    if not rows:
        return Rows()
    given = tuple(sorted(rows[0]))
    if any(len(row) != len(given) for row in rows):
        raise TypeError(f"{table.name}: every row of one insert must name the same columns")
    key = (connection.dialect.name, table, given, len(rows), unless_exists,
           None if returning is None else tuple(returning))
    shape = _insert_shapes.get(key)
    if shape is None:
        if len(_insert_shapes) >= MOST_INSERT_SHAPES:
            _insert_shapes.clear()
        shape = _insert_shapes[key] = _InsertShape.of(connection, table, rows, unless_exists, key[-1])
    try:
        args = shape.args(rows)
    except KeyError as missing:
        raise TypeError(f"{table.name}: every row of one insert must name the same columns "
                        f"({missing} missing)") from None
    return _execute(connection, shape.plan, args, rows, many=False)


@dataclass(frozen=True)
class _InsertShape:
    """An INSERT of so many rows of these columns, compiled (a `_Plan`), and where each of its
    positional parameters comes from: a row's value, or the column's default. Built once a shape:
    the rows' values go into the statement's parameters without a dictionary of `key_i` names in
    between (53 → 26 µs of CPU for a four-row insert of e-mails, measured)."""
    plan: _Plan
    sources: tuple[tuple[int, str, Processor, Callable[[], Any] | None], ...]

    @classmethod
    def of(cls, connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]],
           unless_exists: str | None, returning: tuple[str, ...] | None) -> _InsertShape:
        filled = tuple(sorted(set(rows[0]) | {column.key for column in table.c
                                             if column.key not in rows[0] and column.default is not None}))
        statement = _insert_statement(connection.dialect.name, table, filled, len(rows), unless_exists, returning)
        defaults = {key: _python_default(table.c[key]) for key in filled if key not in rows[0]}
        source_of = {f"{key}_{i}": (i, key) for i in range(len(rows)) for key in filled}
        plan = statement.plan(connection, dict.fromkeys(source_of))
        if plan.constants:
            raise TypeError(f"{table.name}: an insert of rows binds every value")
        return cls(plan, tuple((*source_of[name], bind, defaults.get(source_of[name][1]))
                               for name, bind in zip(plan.names, plan.binds)))

    def args(self, rows: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
        """The statement's parameters: each row's values (and defaults), converted by their column
        types; a value the rows share (a batch's `now`) converted once."""
        values = []
        converted: dict[tuple[Processor, int], Any] = {}  # by the value's id: the rows keep it alive
        for index, key, bind, default in self.sources:
            if default is not None:
                value = default()
                values.append(value if bind is None else bind(value))
                continue
            value = rows[index][key]
            if bind is None:
                values.append(value)
                continue
            found = converted.get((bind, id(value)), _UNSET)
            if found is _UNSET:
                found = converted[bind, id(value)] = bind(value)
            values.append(found)
        return tuple(values)


_insert_shapes: dict[tuple[Any, ...], _InsertShape] = {}
MOST_INSERT_SHAPES = 1024
"""Shapes kept at most (a job that inserts batches of every size cannot grow the cache for ever)."""


def _insert_statement(dialect: str, table: Table, keys: tuple[str, ...], count: int, unless_exists: str | None,
                      returning: tuple[str, ...] | None) -> Statement:
    """The INSERT of `count` rows of these columns (group commit writes from one to 32 orders at
    once: one statement a number of rows)."""
    construct = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = construct(table).values([{key: bindparam(f"{key}_{i}", type_=table.c[key].type) for key in keys}
                                         for i in range(count)])
    if unless_exists is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[table.c[unless_exists]])
    if returning is not None:
        statement = statement.returning(*(table.c[key] for key in returning))
    return Statement(statement, fill_defaults=False,
                     types={f"{key}_{i}": table.c[key].type for key in keys for i in range(count)})


def _bind_processor(type_: Any, dialect: Any) -> Processor:
    return None if type_ is None else type_.dialect_impl(dialect).bind_processor(dialect)


def _python_default(column: Column[Any]) -> Callable[[], Any]:
    """A column's value when a row leaves it out, as SQLAlchemy would compute it per row (a fresh
    list each time for `default_factory=list`)."""
    default = column.default
    if default is not None and default.is_scalar:
        return lambda: default.arg  # type: ignore[union-attr]
    if default is not None and default.is_callable:
        return lambda: default.arg(None)  # type: ignore[union-attr]  # SQLAlchemy wraps it to take a context
    raise TypeError(f"column {column.key}: a default the fast path cannot compute; give it a value")
