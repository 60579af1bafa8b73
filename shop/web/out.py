"""The building blocks of every response Struct (shop.web.responses, shop.web.perk_responses, …):
strict (unknown members refused), keyword-only, with the shop's instants, dates, money and addresses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

Instant = Annotated[datetime, msgspec.Meta(description="ISO 8601 instant in UTC, e.g. 2026-11-22T10:15:00Z")]
LocalDate = Annotated[date, msgspec.Meta(description="a calendar date in the market's local calendar")]
Decimal = Annotated[str, msgspec.Meta(pattern=r"^\d+\.\d+$", description="a decimal as text, e.g. 0.20")]


class Out(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class Money(Out):
    amount_minor: int
    currency: str


class AddressOut(Out):
    street: str
    city: str
    postal_code: str
    country: str
