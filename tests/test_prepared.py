"""shop.adapters.prepared on both databases: a statement run on the driver stores and reads the same
values as through the ORM session (the columns' own conversions), commits all or nothing, and fails
as the session fails (SQLAlchemy's IntegrityError, a missing parameter named); `driver_reads` reads
without a transaction and refuses to write; a PostgreSQL connection the server dropped is replaced,
never handed to the next request."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from shop.adapters import prepared
from shop.adapters.prepared import NewRows, Prepared, driver_reads, driver_transaction, in_session
from shop.adapters.tables import OrderLine, OutboxEmail, PaymentEvent, Product, table_of

_facts, _products = table_of(PaymentEvent), table_of(Product)
INSERT = Prepared(insert(_facts))
BY_KEY = Prepared(select(*_facts.c).where(_facts.c.fact_key == bindparam("key")))
CATALOGUE_ROW = Prepared(select(_products.c.sku, _products.c.delivery_methods, _products.c.vat_rate)
                         .where(_products.c.sku == bindparam("sku")))
COUNT_RS = Prepared(select(_products.c.sku).where(_products.c.market == "RS"))  # a constant in the SQL
AT = datetime(2026, 11, 20, 9, 59, 59, 123456, tzinfo=UTC)


def fact(key: str, **overrides: object) -> dict[str, object]:
    return {"fact_key": key, "kind": "payment_intent.succeeded", "order_id": None, "payment_intent_id": "pi_1",
            "amount_minor": 399_000, "currency": "RSD", "occurred_at": AT, "recorded_at": AT, "flagged": None,
            **overrides}


async def test_values_go_in_and_come_out_as_through_the_session(shop):
    engine = shop.ctx.engine
    async with driver_transaction(engine) as db:
        await db.execute(INSERT, **fact("evt_a"))
        read_here = await db.first(BY_KEY, key="evt_a")
        catalogue = await db.first(CATALOGUE_ROW, sku="rs-charger-67w")
    async with shop.ctx.sessions() as session:
        read_there = await in_session(session).first(BY_KEY, key="evt_a")
        catalogue_there = await in_session(session).first(CATALOGUE_ROW, sku="rs-charger-67w")
    assert read_here == read_there
    assert read_here.occurred_at == AT and read_here.occurred_at.tzinfo is not None  # aware UTC, to the µs
    assert (read_here.amount_minor, read_here.currency, read_here.flagged) == (399_000, "RSD", None)
    assert catalogue == catalogue_there and isinstance(catalogue.delivery_methods, list)


async def test_a_constant_in_the_statement_is_bound_by_itself(shop):
    async with driver_transaction(shop.ctx.engine) as db:
        rows = await db.fetch(COUNT_RS)
    assert rows and all(row.sku.startswith("rs-") for row in rows)


async def test_a_failure_in_the_block_rolls_back_everything_it_wrote(shop):
    with pytest.raises(RuntimeError):
        async with driver_transaction(shop.ctx.engine) as db:
            await db.execute(INSERT, **fact("evt_b"))
            raise RuntimeError("the use case refused")
    async with driver_transaction(shop.ctx.engine) as db:
        assert await db.first(BY_KEY, key="evt_b") is None


async def test_a_constraint_violation_is_sqlalchemys_integrity_error_and_the_connection_lives_on(shop):
    async with driver_transaction(shop.ctx.engine) as db:
        await db.execute(INSERT, **fact("evt_c"))
    with pytest.raises(IntegrityError):
        async with driver_transaction(shop.ctx.engine) as db:
            await db.execute(INSERT, **fact("evt_d"))
            await db.execute(INSERT, **fact("evt_c"))  # fact_key is unique
    async with driver_transaction(shop.ctx.engine) as db:
        assert await db.first(BY_KEY, key="evt_d") is None  # the whole transaction was undone
        assert await db.execute(INSERT, **fact("evt_e")) == 1


async def test_a_column_left_out_gets_its_python_side_default(shop):
    """As SQLAlchemy's execution fills `Field(default=…)` and `default_factory` (order_lines.state, .imeis)."""
    lines = table_of(OrderLine)
    insert_line = Prepared(insert(lines).returning(lines.c.state, lines.c.imeis, lines.c.returnable))
    customer = await shop.customer()
    order = await shop.place(customer)
    line = {"order_id": order["id"], "sku": "rs-charger-67w", "name": "Charger", "model": "67W",
            "category": "accessory", "quantity": 1, "unit_price_minor": 1, "vat_rate": "0.20"}
    async with driver_transaction(shop.ctx.engine) as db:
        first, = await db.fetch(insert_line, **line)
    assert (first.state, first.imeis, first.returnable) == ("ordered", [], True)


async def test_rows_inserted_together_read_back_as_through_the_session(shop):
    """`insert_rows` (group commit's orders): each row as written, every column, converted by its type;
    a column a row leaves out takes its default or NULL, as on the session's path, which runs the
    same statement with the same rows."""
    lines = table_of(OrderLine)
    order = await shop.place(await shop.customer())
    rows = [{"order_id": order["id"], "sku": f"rs-test-{n}", "name": "Charger", "model": "67W",
             "category": "accessory", "quantity": n, "unit_price_minor": 100 * n, "vat_rate": "0.20",
             **({"set_items": ["cable", "brick"], "returnable": False} if n == 2 else {})} for n in (1, 2, 3)]

    async with driver_transaction(shop.ctx.engine) as db:
        here = sorted(await db.insert_rows(lines, rows), key=lambda row: row.id)
    async with shop.ctx.sessions() as session, session.begin():
        there = sorted(await in_session(session).insert_rows(lines, rows), key=lambda row: row.id)

    def written(row: object) -> tuple[object, ...]:
        return tuple(value for key, value in row._asdict().items() if key != "id")  # type: ignore[attr-defined]
    assert [written(row) for row in here] == [written(row) for row in there]
    assert [(row.sku, row.quantity, row.set_items, row.returnable, row.state, row.imeis) for row in here] == [
        ("rs-test-1", 1, [], True, "ordered", []), ("rs-test-2", 2, ["cable", "brick"], False, "ordered", []),
        ("rs-test-3", 3, [], True, "ordered", [])]
    with pytest.raises(TypeError, match="column sku needs a value"):
        async with driver_transaction(shop.ctx.engine) as db:
            no_sku = {key: value for key, value in rows[0].items() if key != "sku"}
            await db.insert_rows(lines, [{**rows[0], "sku": "rs-test-4"}, no_sku])


async def test_rows_of_several_tables_inserted_at_once_are_returned_as_stored(shop):
    """`insert_together` (group commit's orders; on PostgreSQL one statement, its rows built from the
    values sent and the new ids): every row as the database then reads it, each table's rows in the
    order given, a row that `unless_exists` leaves out neither written nor returned."""
    lines, outbox = table_of(OrderLine), table_of(OutboxEmail)
    order = await shop.place(await shop.customer())
    async with driver_transaction(shop.ctx.engine) as db:
        await db.execute(INSERT, **fact("evt_there_before"))
    new_lines = [{"order_id": order["id"], "sku": f"rs-test-{n}", "name": "Charger", "model": "67W",
                  "category": "accessory", "quantity": n, "unit_price_minor": 100 * n, "vat_rate": "0.20",
                  **({"set_items": ["cable"], "returnable": False} if n == 2 else {})} for n in (1, 2, 3)]
    email = {"order_id": order["id"], "to": "a@mail.example.rs", "subject": "Order", "body": "Thank you",
             "kind": "order_received", "created_at": AT, "claimed_until": AT}

    async with driver_transaction(shop.ctx.engine) as db:
        written_lines, nothing, facts, emails = await db.insert_together(
            NewRows(lines, new_lines), NewRows(outbox, []),
            NewRows(_facts, [fact("evt_new_1"), fact("evt_there_before"), fact("evt_new_2")],
                    unless_exists="fact_key"),
            NewRows(outbox, [email]))

    assert [row.sku for row in written_lines] == ["rs-test-1", "rs-test-2", "rs-test-3"]
    assert nothing == [] and [row.fact_key for row in facts] == ["evt_new_1", "evt_new_2"]
    async with shop.ctx.sessions() as session:
        connection = await session.connection()
        for table, returned in ((lines, written_lines), (_facts, facts), (outbox, emails)):
            stored = (await connection.execute(
                select(*table.c).where(table.c.id.in_([row.id for row in returned])).order_by(table.c.id))).all()
            assert [tuple(row) for row in returned] == [tuple(row) for row in stored]
    with pytest.raises(IntegrityError):  # a fact there already, without unless_exists: nothing written
        async with driver_transaction(shop.ctx.engine) as db:
            await db.insert_together(NewRows(lines, new_lines[:1]), NewRows(_facts, [fact("evt_new_1")]))
    async with shop.ctx.sessions() as session:
        connection = await session.connection()
        assert len((await connection.execute(select(lines.c.id).where(lines.c.sku == "rs-test-1"))).all()) == 1


async def test_a_missing_parameter_is_named_before_anything_runs(shop):
    async with driver_transaction(shop.ctx.engine) as db:
        with pytest.raises(TypeError, match="'key'"):
            await db.first(BY_KEY)


async def test_observers_see_the_transaction_and_its_statements(shop):
    seen: list[str] = []
    prepared.statement_observers.append(seen.append)
    try:
        async with driver_transaction(shop.ctx.engine) as db:
            await db.first(BY_KEY, key="evt_f")
    finally:
        prepared.statement_observers.remove(seen.append)
    assert seen[0] == "BEGIN" and seen[1].startswith("SELECT") and seen[-1] == "COMMIT"


async def test_reads_run_without_begin_or_commit_and_see_what_was_committed(shop):
    async with driver_transaction(shop.ctx.engine) as db:
        await db.execute(INSERT, **fact("evt_g"))
    seen: list[str] = []
    prepared.statement_observers.append(seen.append)
    try:
        async with driver_reads(shop.ctx.engine) as db:
            row = await db.first(BY_KEY, key="evt_g")
    finally:
        prepared.statement_observers.remove(seen.append)
    assert row is not None and row.fact_key == "evt_g"
    assert len(seen) == 1 and seen[0].startswith("SELECT")


async def test_reads_refuse_to_write(shop):
    async with driver_reads(shop.ctx.engine) as db:
        with pytest.raises(TypeError, match="SELECTs only"):
            await db.execute(INSERT, **fact("evt_h"))
        with pytest.raises(TypeError, match="SELECTs only"):
            await db.fetch(Prepared(insert(_facts).returning(_facts.c.id)), **fact("evt_h"))
    async with driver_transaction(shop.ctx.engine) as db:
        assert await db.first(BY_KEY, key="evt_h") is None


async def test_a_connection_the_database_dropped_fails_once_and_is_replaced(postgres):
    """A PostgreSQL connection closed under the pool (a server restart, an administrator) fails the
    transaction that meets it; the pool then discards it, and the next transaction gets a new one."""
    import asyncpg
    from sqlalchemy import func, text

    from shop.adapters.db import create_engine

    backend = Prepared(select(func.pg_backend_pid().label("pid")))
    engine, admin = create_engine(postgres.url), create_engine(postgres.url)
    try:
        async with driver_transaction(engine) as db:
            first = (await db.first(backend)).pid
        async with admin.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        # The driver's error, which depends on when it notices: the server's notice, a closed socket.
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)):
            async with driver_transaction(engine) as db:
                await db.first(backend)
        async with driver_transaction(engine) as db:
            assert (await db.first(backend)).pid != first
    finally:
        await engine.dispose()
        await admin.dispose()


async def test_a_connection_dropped_inside_a_transaction_is_not_handed_on(postgres):
    import asyncpg
    from sqlalchemy import func, text

    from shop.adapters.db import create_engine

    backend = Prepared(select(func.pg_backend_pid().label("pid")))
    engine, admin = create_engine(postgres.url), create_engine(postgres.url)
    try:
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)):
            async with driver_transaction(engine) as db:
                first = (await db.first(backend)).pid
                async with admin.connect() as other:
                    await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
                await db.first(backend)  # the statement after the drop fails, and so does the rollback
        async with driver_transaction(engine) as db:
            assert (await db.first(backend)).pid != first
    finally:
        await engine.dispose()
        await admin.dispose()


async def test_sixteen_requests_at_once_reuse_their_connections(postgres):
    """The pool keeps as many PostgreSQL connections as a worker's requests use at once: none is
    closed on its return and opened again for the next request. With 10 kept (the pool's former
    size; a connection past them is closed on its return), these five rounds opened 40 connections,
    and the bench's bare one-INSERT endpoint (`make bench`, the yardstick row) served 1,315-1,445
    requests/s against 2,087-3,514 with 20."""
    import asyncio

    from sqlalchemy import event, func

    from shop.adapters.db import create_engine

    backend = Prepared(select(func.pg_backend_pid().label("pid")))
    engine = create_engine(postgres.url)
    opened = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))

    async def request() -> int:
        async with driver_transaction(engine) as db:
            pid = (await db.first(backend)).pid
            await asyncio.sleep(0.02)  # all 16 hold a connection at once
            return pid

    try:
        backends = set()
        for _ in range(5):
            backends |= set(await asyncio.gather(*(request() for _ in range(16))))
        assert len(opened) == len(backends) == 16
    finally:
        await engine.dispose()
