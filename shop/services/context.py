"""The collaborators every use case gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shop.adapters.background import Background
from shop.adapters.database import Database
from shop.adapters.mailer import SmtpMailer
from shop.adapters.password_work import PasswordWork
from shop.adapters.stripe_gateway import StripeGateway
from shop.clock import system_now
from shop.settings import Settings


@dataclass(frozen=True)
class ShopContext:
    settings: Settings
    stripe: StripeGateway
    mailer: SmtpMailer
    db: Database
    """Transactions and reads as functions of a unit of work (shop.adapters.database)."""
    background: Background = field(default_factory=Background)
    """What runs after a request has answered (its e-mails); awaited by `aclose`."""
    password_work: PasswordWork = field(default_factory=PasswordWork)
    """Argon2 hashes and verifications, a bounded number at once (shop.adapters.password_work)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ShopContext:
        """The context every process builds from the same settings (server and make tasks)."""
        return cls(
            settings=settings,
            stripe=StripeGateway(secret_key=settings.stripe_secret_key,
                                 webhook_secret=settings.stripe_webhook_secret,
                                 api_base=settings.stripe_api_base, timeout_seconds=settings.stripe_timeout_seconds),
            mailer=SmtpMailer(host=settings.smtp_host, port=settings.smtp_port, sender=settings.mail_from),
            db=Database(settings.database_url, pool_size=settings.database_pool_size, test_clock=settings.is_test),
        )

    async def aclose(self) -> None:
        await self.background.drain()
        self.password_work.close()
        await self.stripe.aclose()
        await self.db.dispose()

    async def now(self) -> datetime:
        """The shop's one "now": the test clock when SHOP_ENV=test and it is set, else real time
        (read without a connection outside the test environment). In a transaction: `uow.now()`."""
        if not self.settings.is_test:
            return system_now()
        return await self.db.read(lambda uow: uow.now())
