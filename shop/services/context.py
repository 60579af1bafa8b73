"""The collaborators every use case gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine  # the old engine's, until the lead removes it

from shop.adapters.background import Background
from shop.adapters.database import Database
from shop.adapters.db import Sessions, create_engine, session_factory
from shop.adapters.group_commit import GroupCommit
from shop.adapters.mailer import SmtpMailer
from shop.adapters.stripe_gateway import StripeGateway
from shop.clock import system_now
from shop.settings import Settings


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

    async def now(self, _ignored: object = None) -> datetime:
        """The shop's one "now": the test clock when SHOP_ENV=test and it is set, else real time
        (read without a connection outside the test environment). The argument is ignored: parts
        not converted yet still pass their session (removed once they are)."""
        if not self.settings.is_test:
            return system_now()
        return await self.db.read(lambda uow: uow.now())
