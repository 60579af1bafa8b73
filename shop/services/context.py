"""The collaborators every use case gets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from shop.adapters.db import Sessions
from shop.adapters.stripe_gateway import StripeGateway
from shop.adapters.tables import TestClock
from shop.clock import system_now
from shop.settings import Settings


@dataclass(frozen=True)
class ShopContext:
    settings: Settings
    sessions: Sessions
    stripe: StripeGateway

    async def now(self, session: AsyncSession | None = None) -> datetime:
        """The shop's one "now": the test clock when SHOP_ENV=test and it is set, else real time."""
        if not self.settings.is_test:
            return system_now()
        if session is not None:
            row = await session.get(TestClock, 1)
        else:
            async with self.sessions() as fresh:
                row = await fresh.get(TestClock, 1)
        return row.now if row is not None else system_now()
