"""The customer's messages from templates (Jinja2), in the market's language with English after it;
money and instants in the local format of that language (babel), instants in the market's time zone
(T-5: stored in UTC, shown in local time).

A template's first line is the subject, the rest the body (templates/<kind>.<language>.txt)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_currency
from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from shop.domain.markets import Market, market_info
from shop.domain.money import Money

LANGUAGES: dict[Market, tuple[str, str]] = {
    Market.RS: ("sr", "sr_Latn_RS"),  # Serbian in Latin script, as the RS terms are written
    Market.KZ: ("ru", "ru_KZ"),  # the KZ VIP terms are in Russian
}
ENGLISH = ("en", "en_GB")
"""Follows the local text, for customers who read English better."""

_templates = Environment(loader=PackageLoader("shop.messages", "templates"), autoescape=False,
                         undefined=StrictUndefined, keep_trailing_newline=True)


def render(kind: str, market: Market, **facts: Any) -> tuple[str, str]:
    """The subject and the plain-text body of message `kind` for a customer of `market`."""
    local = _text(kind, market, LANGUAGES[market], facts)
    english = _text(kind, market, ENGLISH, facts)
    return f"{local[0]} / {english[0]}", f"{local[1]}\n--\n{english[1]}"


def _text(kind: str, market: Market, language: tuple[str, str], facts: dict[str, Any]) -> tuple[str, str]:
    code, locale_name = language

    def money(amount: Money) -> str:
        return _money(amount.amount_minor, amount.currency, market, locale_name)

    def instant(moment: datetime) -> str:
        return _instant(moment, market, locale_name)

    subject, _, body = _template(kind, code).render(facts, money=money, instant=instant).partition("\n")
    return subject.strip(), body


# An order's e-mail is written with the order, on the hot path: babel takes 20-60 µs a value, and
# the same totals (the catalogue's prices) and due instants (orders placed in the same second)
# come again and again.
@lru_cache(maxsize=4096)
def _money(amount_minor: int, currency: str, market: Market, locale_name: str) -> str:
    amount = Decimal(amount_minor).scaleb(-market_info(market).currency_minor_digits)
    return format_currency(amount, currency, locale=_locale(locale_name))  # type: ignore[no-any-return]


@lru_cache(maxsize=1024)
def _instant(moment: datetime, market: Market, locale_name: str) -> str:
    return format_datetime(moment, "long", tzinfo=market_info(market).zone,  # type: ignore[no-any-return]
                           locale=_locale(locale_name))


@cache
def _template(kind: str, language: str) -> Template:
    return _templates.get_template(f"{kind}.{language}.txt")


@cache
def _locale(name: str) -> Locale:
    return Locale.parse(name)
