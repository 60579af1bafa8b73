"""Real parts for every test: a throwaway PostgreSQL and SQLite, localstripe on loopback, the app
in process. Database-backed tests run once per database (ids `[sqlite]`, `[postgresql]`)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import httpx
from sqlalchemy import delete, exists, literal, select, text, union_all
from sqlmodel import SQLModel

from shop.jobs.__main__ import migrate
from shop.jobs.demo_catalogue import demo_products
from shop.domain.markets import market_info
from shop.settings import Environment, Settings
from shop.web.app import create_app
from tests.infra.localstripe_server import LocalStripe
from tests.infra.postgres import PostgresServer
from tests.infra.smtp import SmtpServer
from tests.support import ShopClient, WEBHOOK_SECRET

DATABASES = ["sqlite", "postgresql"]

WRITTEN_TABLES = union_all(*(select(literal(table.name)).where(exists(select(1).select_from(table)))
                             for table in SQLModel.metadata.sorted_tables))
"""The tables with a row, in one statement: a test writes to a few of the 28, and a DELETE of each took
15 ms a test on PostgreSQL."""


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    with LocalStripe(persist=False) as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="session")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="shop-tests-") as directory:
        yield Path(directory)


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest, scratch: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{scratch / 'shop.db'}"
    else:
        url = request.getfixturevalue("postgres").url
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, localstripe: LocalStripe, smtp: SmtpServer) -> Settings:
    settings = Settings.from_env({
        "DATABASE_URL": database_url,
        "SHOP_ENV": Environment.TEST.value,
        "STRIPE_SECRET_KEY": localstripe.secret_key,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe.api_base,
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
    })
    migrate(settings)
    return settings


@pytest_asyncio.fixture(scope="session")
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this test's event loop (Litestar's AsyncTestClient runs it in another loop,
    which asyncpg connections made here cannot follow)."""
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop.test") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client
    await app.state["ctx"].aclose()


@pytest_asyncio.fixture
async def shop(http: httpx.AsyncClient, localstripe: LocalStripe, smtp: SmtpServer) -> AsyncIterator[ShopClient]:
    """A clean shop for each test: empty tables, the demo catalogue, the real clock, no e-mail received."""
    ctx = http.app.state["ctx"]
    products = [{**data, "vat_rate": str(market_info(data["market"]).vat_rate)} for data in demo_products()]

    def clean(uow) -> None:  # type: ignore[no-untyped-def]
        written = set(uow.connection.execute(WRITTEN_TABLES).scalars())
        for table in reversed(SQLModel.metadata.sorted_tables):
            if table.name in written:
                uow.connection.execute(delete(table))
        uow.products.add_missing(products)

    await ctx.db.transaction(clean)
    # The app lives for the session: each test's failed logins and notices are its own (a fuzz run's
    # wrong passwords from the one test address would otherwise lock the next tests' logins out).
    http.app.state["login_throttle"].clear()
    http.app.state["notice_throttle"].clear()
    smtp.clear()  # the last test's e-mails, sent before it ended (below): a wait reads only this test's
    client = ShopClient(http, localstripe)
    yield client
    await ctx.background.drain()  # the e-mails a test's requests left to send: none leaks into the next
    await client.close()
    # A line follows its order (shop.services.orders_common.cancel_lines): the per-customer count
    # (RS-V.5.5, shop.adapters.stores.units_ordered) reads open lines only, trusting that no order
    # cancelled keeps one. Every test that used the shop checks it, on both databases.
    open_lines = await ctx.db.read(lambda uow: uow.connection.execute(text(
        "SELECT o.id, l.id, l.state FROM orders o JOIN order_lines l ON l.order_id = o.id "
        "WHERE o.state = 'cancelled' AND l.state <> 'cancelled'")).all())
    assert not open_lines, f"lines left open in cancelled orders (order, line, state): {open_lines}"
