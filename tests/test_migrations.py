"""The migrations build exactly the tables the code declares, on both databases."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

from shop.settings import async_database_url

ROOT = Path(__file__).resolve().parents[1]


def test_migrations_match_the_tables(settings):
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = settings.database_url
    config.attributes["configure_logger"] = False
    command.check(config)  # raises when autogenerate would find a difference


def database_at(revision: str, kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, Config]:
    """A new database of `kind` upgraded to `revision`: its URL and the alembic config to go on."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'before.db'}"
    else:
        postgres = request.getfixturevalue("postgres")
        url = postgres.create_database(f"backfill_{tmp_path.name[-12:].lower().replace('-', '_')}")
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, revision)
    return url, config


def a_customer() -> tuple[str, dict[str, object]]:
    """Customer 1."""
    return ("INSERT INTO users (id, email, password_hash, full_name, birth_date, is_ops, created_at) "
            "VALUES (1, 'a@mail.example.rs', 'x', 'A B', :born, false, :at)", {"born": date(1990, 1, 1), "at": AT})


def an_order(number: int, state: str, imei: str) -> list[tuple[str, dict[str, object]]]:
    """An order of customer 1 with one phone line, as the tables were at 0003."""
    order = {"id": f"order-{number}", "number": f"RS-{number}", "state": state, "at": AT, "on": date(2026, 11, 1)}
    return [(
        "INSERT INTO orders (id, number, customer_id, market, state, payment_method, currency, items_minor, "
        "delivery_minor, total_minor, vat_minor, terms_version, delivery, placed_at, shipped_at, "
        "expected_delivery_on) VALUES (:id, :number, 1, 'RS', :state, 'card', 'RSD', 1, 0, 1, 0, 't', '{}', "
        ":at, :at, :on)", order), (
        "INSERT INTO order_lines (order_id, sku, name, model, category, quantity, unit_price_minor, "
        "vat_rate, requires_imei, returnable, set_items, state, imeis) VALUES (:order_id, 'rs-15t', "
        "'Xiaomi 15T', '15T', 'phone', 1, 1, '0.20', true, true, '[]', 'confirmed', :imeis)",
        {"order_id": order["id"], "imeis": json.dumps([imei])})]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_devices_already_out_are_copied_into_shipped_devices_RS_IV_5(kind, tmp_path, request):
    """0004: the IMEIs of orders shipped or delivered before it (not those of a cancelled order)."""
    url, config = database_at("0003", kind, tmp_path, request)
    statements = [a_customer(), *an_order(0, "delivered", "490154203237518")]
    statements += an_order(1, "cancelled", "356938035643809")
    asyncio.run(run_sql(url, statements))

    command.upgrade(config, "head")

    rows = asyncio.run(run_sql(url, [("SELECT imei, order_id FROM shipped_devices", {})]))
    assert [tuple(row) for row in rows] == [("490154203237518", "order-0")]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_refunds_attempts_are_counted_from_the_ledger_RS_VII_10(kind, tmp_path, request):
    """0005: a refund retried once by staff has made two attempts; one never retried, one."""
    url, config = database_at("0004", kind, tmp_path, request)
    statements = [a_customer(), *an_order(0, "cancelled", "490154203237518")]
    for refund_id, facts in (("retried", ["requested:1", "failed:1", "requested:2"]), ("once", ["requested:1"])):
        statements.append((
            "INSERT INTO refunds (id, order_id, amount_minor, currency, reason, clause, due_by, state, created_at, "
            "updated_at) VALUES (:id, 'order-0', 1, 'RSD', 'r', 'RS-IV.5', :at, 'failed', :at, :at)",
            {"id": refund_id, "at": AT}))
        statements += [("INSERT INTO payment_events (fact_key, kind, order_id, amount_minor, currency, occurred_at, "
                         "recorded_at) VALUES (:key, :kind, 'order-0', 1, 'RSD', :at, :at)",
                         {"key": f"{refund_id}:refund.{fact}", "kind": f"refund.{fact.split(':')[0]}", "at": AT})
                        for fact in facts]
    asyncio.run(run_sql(url, statements))

    command.upgrade(config, "head")

    rows = asyncio.run(run_sql(url, [("SELECT id, attempts, claimed_until FROM refunds ORDER BY id", {})]))
    assert [tuple(row) for row in rows] == [("once", 1, None), ("retried", 2, None)]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_lines_from_before_price_errors_were_never_corrected_and_name_no_market_price_RS_III_2(
        kind, tmp_path, request):
    """0017: every line already there has had nothing refunded for its price, and no market price."""
    url, config = database_at("0016", kind, tmp_path, request)
    asyncio.run(run_sql(url, [a_customer(), *an_order(0, "delivered", "490154203237518")]))

    command.upgrade(config, "head")

    rows = asyncio.run(run_sql(url, [("SELECT price_corrected_minor, market_price_minor FROM order_lines", {})]))
    assert [tuple(row) for row in rows] == [(0, None)]
    command.downgrade(config, "0016")
    command.upgrade(config, "head")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_lines_of_orders_cancelled_before_are_cancelled_with_them(kind, tmp_path, request):
    """0020: a line follows its order; those of a delivered order stay as they were."""
    url, config = database_at("0019", kind, tmp_path, request)
    asyncio.run(run_sql(url, [a_customer(), *an_order(0, "delivered", "490154203237518"),
                              *an_order(1, "cancelled", "356938035643809")]))

    command.upgrade(config, "head")

    rows = asyncio.run(run_sql(url, [("SELECT order_id, state FROM order_lines ORDER BY order_id", {})]))
    assert [tuple(row) for row in rows] == [("order-0", "confirmed"), ("order-1", "cancelled")]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_accounts_from_before_erasure_are_not_erased_RS_XII(kind, tmp_path, request):
    """0021: every account already there keeps its data and has no `erased_at`; down and up again."""
    url, config = database_at("0020", kind, tmp_path, request)
    asyncio.run(run_sql(url, [a_customer()]))

    command.upgrade(config, "head")

    rows = asyncio.run(run_sql(url, [("SELECT email, erased_at FROM users", {})]))
    assert [tuple(row) for row in rows] == [("a@mail.example.rs", None)]
    command.downgrade(config, "0020")
    command.upgrade(config, "head")


def a_notice() -> list[tuple[str, dict[str, object]]]:
    """A product, customer 2's review of it and a notice about it received at AT, as at 0023."""
    return [("INSERT INTO users (id, email, password_hash, full_name, birth_date, is_ops, created_at) "
             "VALUES (2, 'b@mail.example.rs', 'x', 'C D', :born, false, :at)", {"born": date(1990, 1, 1), "at": AT}), (
        "INSERT INTO products (sku, market, name, model, category, price_minor, currency, vat_rate, on_hand, "
        "reserved, max_per_customer, returnable, requires_imei, delivery_methods, set_items) VALUES ('rs-15t', "
        "'RS', 'Xiaomi 15T', '15T', 'phone', 1, 'RSD', '0.20', 1, 0, 5, true, true, '[]', '[]')", {}), (
        "INSERT INTO reviews (id, sku, customer_id, rating, text, state, posted_at) "
        "VALUES ('review-1', 'rs-15t', 2, 5, 'good', 'published', :at)", {"at": AT}), (
        "INSERT INTO content_notices (id, review_id, explanation, name, email, state, received_at) "
        "VALUES ('notice-1', 'review-1', 'why', 'E F', 'e@example.rs', 'received', :at)", {"at": AT})]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_notices_from_before_get_their_decision_deadline_RS_XIII(kind, tmp_path, request):
    """0024: a notice received before it is due by the end of the 2nd working day after its receipt
    (received Friday 30 Oct 2026: Tuesday 3 Nov 23:59:59 Belgrade). Down and up again."""
    url, config = database_at("0023", kind, tmp_path, request)
    asyncio.run(run_sql(url, [a_customer(), *a_notice()]))

    command.upgrade(config, "0024")

    [notice] = asyncio.run(run_sql(url, [("SELECT decide_by FROM content_notices", {})]))
    due = notice[0] if isinstance(notice[0], datetime) else datetime.fromisoformat(notice[0])
    assert due.replace(tzinfo=None) == datetime(2026, 11, 3, 22, 59, 59, 999999)
    command.downgrade(config, "0023")
    command.upgrade(config, "head")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_account_blocked_before_has_its_block_as_its_history_RS_XIII(kind, tmp_path, request):
    """0025: an account blocked before it has that block, not lifted, as its history; one not blocked
    has none. Down and up again."""
    url, config = database_at("0024", kind, tmp_path, request)
    asyncio.run(run_sql(url, [a_customer(), *a_notice()[:1], (
        "UPDATE users SET blocked_at = :at, blocked_reason = 'spam', blocked_by = 'ops:9' WHERE id = 1", {"at": AT})]))

    command.upgrade(config, "head")

    blocks = asyncio.run(run_sql(url, [("SELECT account_id, blocked_by, reason, unblocked_at FROM account_blocks", {})]))
    assert [tuple(row) for row in blocks] == [(1, "ops:9", "spam", None)]
    command.downgrade(config, "0024")
    command.upgrade(config, "head")


AT = datetime(2026, 10, 30, 9, 0, tzinfo=UTC).replace(tzinfo=None)  # naive UTC, as the shop stores it


async def run_sql(url: str, statements: list[tuple[str, dict[str, object]]]) -> list[object]:
    """The statements in one transaction; the last one's rows."""
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.begin() as db:
            for sql, params in statements:
                result = await db.execute(sa.text(sql), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_every_line_from_before_carries_its_orders_customer_RS_V_5_5(kind, tmp_path, request):
    """0027: the lines already there get their order's customer (the count of open units reads it);
    down and up again."""
    url, config = database_at("0026", kind, tmp_path, request)
    asyncio.run(run_sql(url, [a_customer(), *an_order(0, "delivered", "490154203237518"),
                              *an_order(1, "cancelled", "356938035643809")]))

    command.upgrade(config, "head")

    rows = asyncio.run(run_sql(url, [("SELECT order_id, customer_id FROM order_lines ORDER BY order_id", {})]))
    assert [tuple(row) for row in rows] == [("order-0", 1), ("order-1", 1)]
    command.downgrade(config, "0026")
    command.upgrade(config, "head")
