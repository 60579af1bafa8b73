"""The markets the shop runs (REQUIREMENTS.md, "Markets"): currency, time zone, holiday calendar,
VAT and the terms edition in force, one row per market."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from zoneinfo import ZoneInfo

from shop.domain.errors import DomainError


class OutsideTables(DomainError):
    """A date before the first VAT rate the shop knows (or past the range it supports): the shop
    cannot price it, and says so instead of guessing a rate."""

    status = 422
    title = "Date outside the shop's tables"


def packaged_zone(key: str) -> ZoneInfo:
    """The zone as the pinned `tzdata` package has it, never the server's own zone files (T-5):
    Almaty is UTC+5 since 1 March 2024, and a server with older files would say +6. `ZoneInfo(key)`
    reads the system's files first and falls back to `tzdata` only where they are missing; tzdata's
    documented way in is its package resources."""
    area, _, city = key.rpartition("/")
    package = "tzdata.zoneinfo" + (f".{area.replace('/', '.')}" if area else "")
    with resources.files(package).joinpath(city).open("rb") as data:
        return ZoneInfo.from_file(data, key=key)


class Market(StrEnum):
    RS = "RS"
    KZ = "KZ"


@dataclass(frozen=True)
class VatPeriod:
    """A standard VAT rate in force from `since` (local date of the tax point) until the next one."""

    since: date
    rate: Decimal


@dataclass(frozen=True)
class Seller:
    """Who sells in a market, as its VAT invoices name it (RS-IV.8–9): from the terms themselves."""

    name: str
    address: str
    registration: str
    """The company's registration, with its label (e.g. `matični broj 21777170`)."""
    tax_id: str
    """The VAT/tax identification, with its label (e.g. `PIB 112959045`)."""


@dataclass(frozen=True)
class MarketInfo:
    market: Market
    currency: str
    """ISO 4217 code; prices and refunds stay in it (RS-III.1, RS-III.4)."""
    currency_minor_digits: int
    """ISO 4217 minor unit: RSD 2 (para), KZT 2 (tiyn)."""
    zone: ZoneInfo
    """Local time for computing and showing deadlines (T-5)."""
    holiday_country: str
    """Country code for the `holidays` package (T-3)."""
    country: str
    """Delivery addresses must be in this country (RS-V.5.1)."""
    vat_rates: tuple[VatPeriod, ...]
    """Standard VAT rates, oldest first; prices include VAT (RS-III.1)."""
    terms_version: str
    terms_in_force_from: date
    terms_title: str
    seller: Seller
    delivery_working_days: int = 4  # RS-V.5.2

    @property
    def vat_rate(self) -> Decimal:
        """The latest standard VAT rate. Invoices use `vat_rate_on(tax point)`."""
        return self.vat_rates[-1].rate

    def vat_rate_on(self, day: date) -> Decimal:
        """The standard VAT rate in force on a local date (RS-III.1, RS-IV.8)."""
        in_force = [period for period in self.vat_rates if period.since <= day]
        if not in_force:
            raise OutsideTables("date_outside_tables",
                                f"no VAT rate known for {self.market} on {day.isoformat()}", field="now")
        return in_force[-1].rate


MARKETS: Mapping[Market, MarketInfo] = MappingProxyType(
    {
        Market.RS: MarketInfo(
            market=Market.RS,
            currency="RSD",
            currency_minor_digits=2,
            zone=packaged_zone("Europe/Belgrade"),
            holiday_country="RS",
            country="RS",
            vat_rates=(VatPeriod(date(2012, 10, 1), Decimal("0.20")),),
            terms_version="2025-12-18",  # RS-XV
            terms_in_force_from=date(2025, 12, 18),  # RS-XV
            terms_title="Uslovi i odredbe za mi.com Srbija",
            seller=Seller(  # the RS terms, "Xiaomi: Prodavac"
                name="Xiaomi Technology d.o.o. Beograd", address="Francuska ulica 27, Beograd, Republika Srbija",
                registration="matični broj 21777170", tax_id="PIB 112959045"),
        ),
        Market.KZ: MarketInfo(
            market=Market.KZ,
            currency="KZT",
            currency_minor_digits=2,
            zone=packaged_zone("Asia/Almaty"),  # UTC+5 since 1 March 2024
            holiday_country="KZ",
            country="KZ",
            vat_rates=(
                VatPeriod(date(2009, 1, 1), Decimal("0.12")),
                VatPeriod(date(2026, 1, 1), Decimal("0.16")),  # Tax Code of 18 July 2025
            ),
            terms_version="2025-09-24",  # RS-XV Decision
            terms_in_force_from=date(2025, 9, 24),  # RS-XV Decision, KZ-2 first purchase window
            terms_title=(
                "mi.com Kazakhstan purchase terms, with the Xiaomi 15T / Xiaomi 15T Pro "
                "VIP service terms (Условия оказания VIP-сервиса)"
            ),
            seller=Seller(  # the KZ VIP terms' opening: the company that provides the service and sells
                name='ТОО "XIAOMI TECHNOLOGIES KAZAKHSTAN"',
                address="Республика Казахстан, 050000, г. Алматы, Алмалинский район, проспект Жибек Жолы, 135, "
                        "офис 2101",
                registration="БИН 240440000964", tax_id="БИН 240440000964"),
        ),
    }
)


SUPPORTED_INSTANTS = (
    datetime.combine(max(info.vat_rates[0].since for info in MARKETS.values()), datetime.min.time(), UTC),
    datetime(2100, 1, 1, tzinfo=UTC),
)
"""The instants the shop runs at (the test clock, a delivery's instant): from the first day every
market's VAT is known, before 2100 (calendars and deadlines stay far from datetime's limits)."""


def market_info(market: Market | str) -> MarketInfo:
    """The market's row; `ValueError` for a market the shop does not run."""
    try:
        return MARKETS[Market(market)]
    except (ValueError, KeyError):
        raise ValueError(f"unknown market {market!r}; known: {', '.join(MARKETS)}") from None
