"""shop.adapters.database on both databases: a unit of work commits all or nothing, reads run
without a transaction, values keep their types (aware UTC instants to the microsecond, JSON), a
table's defaults — Python-side and the database's own — hold on the many-rows path the stores use,
observers see each statement; a PostgreSQL connection the server dropped is replaced, never handed
to the next request, and the pool keeps the connections a worker's requests use at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import func, insert, select, text

from shop.adapters import database
from shop.adapters.database import Database
from shop.adapters.stores import fast
from shop.adapters.tables import PaymentEvent, Product, table_of
from shop.domain.payment_facts import PaymentFact

_facts, _products = table_of(PaymentEvent), table_of(Product)
AT = datetime(2026, 11, 20, 9, 59, 59, 123456, tzinfo=UTC)


def fact(key: str) -> PaymentFact:
    return PaymentFact(key=key, kind="payment_intent.succeeded", order_id=None, payment_intent_id="pi_1",
                       occurred_at=AT, recorded_at=AT, amount_minor=399_000, currency="RSD")


def by_key(uow, key):
    return uow.connection.execute(select(_facts).where(_facts.c.fact_key == key)).one_or_none()


async def test_values_go_in_and_come_out_with_their_types(shop):
    db = shop.ctx.db
    await db.transaction(lambda uow: uow.ledger.append([fact("db_a")]))
    row = await db.read(lambda uow: by_key(uow, "db_a"))
    assert row.occurred_at == AT and row.occurred_at.tzinfo is not None  # aware UTC, to the µs
    assert (row.amount_minor, row.currency, row.flagged) == (399_000, "RSD", None)
    product = await db.read(lambda uow: uow.connection.execute(
        select(_products.c.delivery_methods).where(_products.c.sku == "rs-charger-67w")).one())
    assert isinstance(product.delivery_methods, list)


async def test_a_failure_in_the_work_rolls_back_everything_it_wrote(shop):
    def refused(uow):
        uow.ledger.append([fact("db_b")])
        raise RuntimeError("the use case refused")

    with pytest.raises(RuntimeError):
        await shop.ctx.db.transaction(refused)
    assert await shop.ctx.db.read(lambda uow: by_key(uow, "db_b")) is None


async def test_a_constraint_violation_rolls_back_and_the_database_serves_on(shop):
    def twice(uow):
        uow.connection.execute(insert(_facts), [fact("db_c").row()])
        uow.connection.execute(insert(_facts), [fact("db_c").row()])

    with pytest.raises(sa.exc.IntegrityError):
        await shop.ctx.db.transaction(twice)
    assert await shop.ctx.db.read(lambda uow: by_key(uow, "db_c")) is None
    assert await shop.ctx.db.transaction(lambda uow: uow.ledger.append([fact("db_c")])) == {"db_c"}


async def test_defaults_of_a_new_column_hold_on_the_many_rows_path(shop):
    """A column added later — NOT NULL with a Python-side default, or with the database's own
    default — needs nothing of the code that inserts many rows at once (RETURNING, insertmanyvalues):
    each row answers what was stored, the database's default included, in the order given."""
    metadata = sa.MetaData()
    scratch = sa.Table(f"scratch_{shop.ctx.db.dialect}", metadata,
                       sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("name", sa.String(20), nullable=False),
                       sa.Column("kind", sa.String(20), nullable=False, default="python-side"),
                       sa.Column("note", sa.String(20), nullable=True, server_default="server-side"),
                       sa.Column("count", sa.Integer, nullable=False, server_default=text("7")))
    await shop.ctx.db.transaction(lambda uow: metadata.create_all(uow.connection))
    try:
        def insert_rows(rows):  # as a store inserts many rows: one statement, rows as stored
            return lambda uow: list(uow.connection.execute(
                insert(scratch).returning(*scratch.c, sort_by_parameter_order=True), rows))

        unaware = await shop.ctx.db.transaction(insert_rows([{"name": "first"}, {"name": "second"}]))
        assert [(r.name, r.kind, r.note, r.count) for r in unaware] == [
            ("first", "python-side", "server-side", 7), ("second", "python-side", "server-side", 7)]
        assert unaware[0].id < unaware[1].id
        given = await shop.ctx.db.transaction(insert_rows([{"name": "third", "note": "given", "count": 1}]))
        assert [(r.kind, r.note, r.count) for r in given] == [("python-side", "given", 1)]
    finally:
        await shop.ctx.db.transaction(lambda uow: metadata.drop_all(uow.connection))


async def test_a_new_columns_defaults_need_nothing_of_the_fast_path(shop):
    """The hot paths' statements (shop.adapters.stores.fast) write the columns given: a column added
    later with a Python-side default gets it, one with the database's own default gets that, and
    RETURNING answers what was stored — for one row and for many in one VALUES list."""
    metadata = sa.MetaData()
    scratch = sa.Table(f"scratch_fast_{shop.ctx.db.dialect}", metadata,
                       sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("name", sa.String(20), nullable=False),
                       sa.Column("kind", sa.String(20), nullable=False, default="python-side"),
                       sa.Column("tags", sa.JSON, nullable=False, default=list),
                       sa.Column("note", sa.String(20), nullable=True, server_default="server-side"),
                       sa.Column("count", sa.Integer, nullable=False, server_default=text("7")))
    one = fast.Statement(insert(scratch).returning(*scratch.c))
    await shop.ctx.db.transaction(lambda uow: metadata.create_all(uow.connection))
    try:
        def write(uow):
            many = fast.insert_rows(uow.connection, scratch, [{"name": "first"}, {"name": "second"}],
                                    returning=list(scratch.c.keys()))
            return sorted(many, key=lambda row: row.id), fast.run(uow.connection, one, {"name": "third"}).first()

        many, single = await shop.ctx.db.transaction(write)
        assert [(r.name, r.kind, r.tags, r.note, r.count) for r in [*many, single]] == [
            ("first", "python-side", [], "server-side", 7), ("second", "python-side", [], "server-side", 7),
            ("third", "python-side", [], "server-side", 7)]
    finally:
        await shop.ctx.db.transaction(lambda uow: metadata.drop_all(uow.connection))


async def test_a_constant_in_a_fast_statement_is_bound_by_itself(shop):
    market_rs = fast.Statement(select(_products.c.sku).where(_products.c.market == "RS"))
    rows = await shop.ctx.db.read(lambda uow: fast.run(uow.connection, market_rs))
    assert rows and all(row.sku.startswith("rs-") for row in rows)


async def test_a_missing_parameter_is_named_before_anything_runs(shop):
    by_sku = fast.Statement(select(_products.c.sku).where(_products.c.sku == sa.bindparam("b_sku")))
    with pytest.raises((TypeError, sa.exc.InvalidRequestError), match="b_sku"):
        await shop.ctx.db.read(lambda uow: fast.run(uow.connection, by_sku, {"other": 1}))


async def test_observers_see_the_transaction_and_its_statements(shop):
    seen: list[str] = []
    database.statement_observers.append(seen.append)
    try:
        await shop.ctx.db.transaction(lambda uow: by_key(uow, "db_f"))
    finally:
        database.statement_observers.remove(seen.append)
    assert seen[0] == "BEGIN" and seen[1].startswith("SELECT") and seen[-1] == "COMMIT" and len(seen) == 3


async def test_reads_run_without_begin_or_commit_and_see_what_was_committed(shop):
    await shop.ctx.db.transaction(lambda uow: uow.ledger.append([fact("db_g")]))
    seen: list[str] = []
    database.statement_observers.append(seen.append)
    try:
        row = await shop.ctx.db.read(lambda uow: by_key(uow, "db_g"))
    finally:
        database.statement_observers.remove(seen.append)
    assert row is not None and row.fact_key == "db_g"
    assert len(seen) == 1 and seen[0].startswith("SELECT")


async def test_reads_refuse_to_write(shop):
    """A write in `read` would be committed at once, outside the transaction the rules rely on."""
    with pytest.raises(database.WriteInReads, match="SELECTs only"):
        await shop.ctx.db.read(lambda uow: uow.ledger.append([fact("db_h")]))
    assert await shop.ctx.db.read(lambda uow: by_key(uow, "db_h")) is None


def _one(uow) -> int:
    return uow.connection.execute(text("SELECT 1")).scalar_one()


async def test_sqlite_keeps_its_one_connection_for_reads_and_transactions_in_turn(tmp_path):
    """SQLite's one SQLAlchemy Connection is kept from one use to the next (a Connection made,
    checked out and closed for each cost 11 µs alone, 30-50 µs in the server), each use with its
    own options: a read still refuses to write and begins nothing, a transaction still begins with
    BEGIN IMMEDIATE and commits all or nothing."""
    db = Database(f"sqlite:///{tmp_path / 'kept.db'}")
    checkouts: list[int] = []
    sa.event.listen(db.sync_engine, "checkout", lambda *_: checkouts.append(1))
    seen: list[str] = []
    try:
        await db.transaction(lambda uow: uow.connection.execute(text("CREATE TABLE t (x INTEGER)")))
        for _ in range(5):
            assert await db.read(_one) == 1 and await db.transaction(_one) == 1
        with pytest.raises(database.WriteInReads):
            await db.read(lambda uow: uow.connection.execute(text("INSERT INTO t VALUES (1)")))
        with pytest.raises(RuntimeError):
            await db.transaction(lambda uow: (uow.connection.execute(text("INSERT INTO t VALUES (2)")),
                                              _raise(RuntimeError("refused"))))
        database.statement_observers.append(seen.append)
        await db.transaction(lambda uow: uow.connection.execute(text("INSERT INTO t VALUES (3)")))
        rows = await db.read(lambda uow: uow.connection.execute(text("SELECT x FROM t")).scalars().all())
        assert rows == [3]  # neither the refused write nor the rolled-back one
        assert seen == ["BEGIN", "INSERT INTO t VALUES (3)", "COMMIT", "SELECT x FROM t"]
        assert len(checkouts) == 1 and db.connections_in_use() == 0
    finally:
        if seen.append in database.statement_observers:
            database.statement_observers.remove(seen.append)
        await db.dispose()


async def test_a_sqlite_schema_change_copies_a_named_table_and_checks_its_foreign_keys_at_the_end(tmp_path):
    """The migrations' transaction (alembic/env.py): a table other rows name can be copied and put
    back (alembic's batch mode; with foreign keys enforced the copy failed), a change that leaves a
    row naming a row gone is refused and rolled back, and foreign keys are enforced again after."""
    db = Database(f"sqlite:///{tmp_path / 'schema.db'}")

    def run(*statements: str):  # type: ignore[no-untyped-def]
        return lambda uow: [uow.connection.execute(text(statement)) for statement in statements]
    try:
        await db.transaction(run("CREATE TABLE parent (id INTEGER PRIMARY KEY)",
                                 "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent)",
                                 "INSERT INTO parent VALUES (1)", "INSERT INTO child VALUES (1, 1)"))

        await db.schema_change(run("CREATE TABLE parent_copy (id INTEGER PRIMARY KEY, extra INTEGER)",
                                   "INSERT INTO parent_copy (id) SELECT id FROM parent", "DROP TABLE parent",
                                   "ALTER TABLE parent_copy RENAME TO parent"))
        with pytest.raises(RuntimeError, match="naming rows that are gone"):
            await db.schema_change(run("DELETE FROM parent"))
        with pytest.raises(sa.exc.IntegrityError):
            await db.transaction(run("INSERT INTO child VALUES (2, 99)"))

        rows = await db.read(lambda uow: uow.connection.execute(text(
            "SELECT child.id, parent.extra FROM child JOIN parent ON parent.id = child.parent_id")).all())
        assert [tuple(row) for row in rows] == [(1, None)]
    finally:
        await db.dispose()


async def test_a_sqlite_connection_sqlalchemy_invalidated_is_replaced(tmp_path):
    """Once SQLAlchemy has invalidated the kept Connection (its DBAPI connection broke), the next
    use gets a new one from the pool."""
    db = Database(f"sqlite:///{tmp_path / 'kept.db'}")
    checkouts: list[int] = []
    sa.event.listen(db.sync_engine, "checkout", lambda *_: checkouts.append(1))
    try:
        await db.read(lambda uow: uow.connection.invalidate())
        assert await db.read(_one) == 1 and await db.transaction(_one) == 1
        assert len(checkouts) == 2
    finally:
        await db.dispose()


def backend_pid(uow) -> int:
    return uow.connection.execute(select(func.pg_backend_pid())).scalar_one()


@pytest.mark.parametrize("use", ["transaction", "read"])
async def test_a_connection_the_database_dropped_fails_once_and_is_replaced(postgres, use):
    """Transactions and reads keep their connection from one use to the next
    (shop.adapters.database.KeptConnections); one the server closed meanwhile (a restart, an
    administrator) fails the work that meets it and is not kept: the next use gets a new one."""
    db, admin = Database(postgres.url), Database(postgres.url)
    run = getattr(db, use)
    try:
        first = await run(backend_pid)
        assert await run(backend_pid) == first  # kept
        await admin.transaction(lambda uow: uow.connection.execute(text("SELECT pg_terminate_backend(:pid)"),
                                                                    {"pid": first}))
        with pytest.raises(sa.exc.DBAPIError):
            await run(backend_pid)
        assert await run(backend_pid) != first
    finally:
        await db.dispose()
        await admin.dispose()


async def test_reads_and_transactions_keep_their_connections_between_uses(postgres):
    """After the first use, reads and transactions one after another take nothing from the pool (a
    checkout and its return cost about 100 µs of CPU each time), and none is in use between them."""
    db = Database(postgres.url)
    checkouts = []
    sa.event.listen(db.sync_engine, "checkout", lambda *_: checkouts.append(1))
    try:
        await db.read(backend_pid)
        await db.transaction(backend_pid)
        assert len(checkouts) == 2
        for _ in range(10):
            await db.read(backend_pid)
            await db.transaction(backend_pid)
        assert len(checkouts) == 2 and db.connections_in_use() == 0
        with pytest.raises(RuntimeError):  # a use that raised gives its connection back to the pool
            await db.read(lambda uow: (backend_pid(uow), _raise(RuntimeError("refused"))))
        await db.read(backend_pid)
        assert len(checkouts) == 3 and db.connections_in_use() == 0
    finally:
        await db.dispose()


def _raise(error: Exception) -> None:
    raise error


async def test_a_connection_dropped_inside_a_transaction_is_not_handed_on(postgres):
    """A transaction whose connection the server drops half-way fails; the pool discards the
    connection, and the next transaction gets a new one."""
    db = Database(postgres.url)
    try:
        first = await db.transaction(backend_pid)

        def dropped_half_way(uow):
            assert backend_pid(uow) == first  # the pool's one connection, in a transaction
            uow.connection.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
            backend_pid(uow)

        with pytest.raises(sa.exc.DBAPIError):
            await db.transaction(dropped_half_way)
        assert await db.transaction(backend_pid) != first
    finally:
        await db.dispose()


async def test_sixteen_requests_at_once_reuse_their_connections(postgres):
    """The pool keeps as many PostgreSQL connections as a worker's requests use at once: none is
    closed on its return and opened again for the next request (with 10 kept, these five rounds
    opened 40 connections, and the bench's bare one-INSERT endpoint served 1,315-1,445 requests/s
    against 2,087-3,514 with 20)."""
    db = Database(postgres.url)
    opened = []
    sa.event.listen(db.sync_engine, "connect", lambda *_: opened.append(1))

    try:
        backends = set()
        for _ in range(5):
            backends |= set(await asyncio.gather(*(_held(db) for _ in range(16))))
        assert len(opened) == len(backends) == 16
    finally:
        await db.dispose()


async def _held(db: Database) -> int:
    """A request that holds its connection for 20 ms, as one waiting on the loop does."""
    assert db.async_engine is not None
    async with db.async_engine.connect() as connection:
        pid = (await connection.execute(select(func.pg_backend_pid()))).scalar_one()
        await asyncio.sleep(0.02)
        return pid
