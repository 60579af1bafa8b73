"""The collaborators every use case gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from shop.adapters.background import Background
from shop.adapters.database import Database
from shop.adapters.db import Sessions, create_engine, session_factory
from shop.adapters.group_commit import GroupCommit
from shop.adapters.mailer import SmtpMailer
from shop.adapters.stripe_gateway import StripeGateway
from shop.adapters.prepared import Prepared, Statements
from shop.adapters.tables import TestClock, table_of
from shop.clock import system_now
from shop.settings import Settings


_clock = table_of(TestClock)
_TEST_CLOCK = Prepared(select(_clock.c.now).where(_clock.c.id == 1))


@dataclass(frozen=True)
class ShopContext:
    settings: Settings
    engine: AsyncEngine
    sessions: Sessions
    stripe: StripeGateway
    mailer: SmtpMailer
    db: Database
    """Transactions and reads as functions of a unit of work (shop.adapters.database)."""
    background: Background = field(default_factory=Background)
    """What runs after a request has answered (its e-mails); awaited by `aclose`."""
    group_commit: GroupCommit = field(default_factory=GroupCommit)
    """Requests of one kind that arrive together share a transaction (orders, Stripe's payments)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> tuple[ShopContext, AsyncEngine]:
        """The context every process builds from the same settings (server and make tasks)."""
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        ctx = cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            stripe=StripeGateway(secret_key=settings.stripe_secret_key,
                                 webhook_secret=settings.stripe_webhook_secret,
                                 api_base=settings.stripe_api_base, timeout_seconds=settings.stripe_timeout_seconds),
            mailer=SmtpMailer(host=settings.smtp_host, port=settings.smtp_port, sender=settings.mail_from),
            db=Database(settings.database_url, pool_size=settings.database_pool_size, test_clock=settings.is_test),
        )
        return ctx, engine

    async def aclose(self, engine: AsyncEngine) -> None:
        await self.background.drain()
        await self.stripe.aclose()
        await self.db.dispose()
        await engine.dispose()

    async def now(self, session: AsyncSession | Statements | None = None) -> datetime:
        """The shop's one "now": the test clock when SHOP_ENV=test and it is set, else real time."""
        if not self.settings.is_test:
            return system_now()
        if isinstance(session, Statements):
            clock = await session.first(_TEST_CLOCK)
            return clock.now if clock is not None else system_now()
        if session is not None:
            row = await session.get(TestClock, 1)
        else:
            async with self.sessions() as fresh:
                row = await fresh.get(TestClock, 1)
        return row.now if row is not None else system_now()
