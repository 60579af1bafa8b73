"""The customer's messages from templates (Jinja2), in the market's language with English after it;
money and instants in the local format of that language (babel), instants in the market's time zone
(T-5: stored in UTC, shown in local time).

A template's first line is the subject, the rest the body (templates/<kind>.<language>.txt); it gets
the notice's facts (shop.domain.notices), `reason` for a cancellation's cause in its language, and
`money` and `instant` to show amounts and instants."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import NamedTuple

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_currency
from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from shop.domain.markets import Market, market_info
from shop.domain.money import Money
from shop.domain.notices import Cause, Notice

LANGUAGES: dict[Market, tuple[str, str]] = {
    Market.RS: ("sr", "sr_Latn_RS"),  # Serbian in Latin script, as the RS terms are written
    Market.KZ: ("ru", "ru_KZ"),  # the KZ VIP terms are in Russian
}
ENGLISH = ("en", "en_GB")
"""Follows the local text, for customers who read English better."""

_templates = Environment(loader=PackageLoader("shop.messages", "templates"), autoescape=False,
                         undefined=StrictUndefined, keep_trailing_newline=True)


class Rendered(NamedTuple):
    subject: str
    body: str


def render(notice: Notice) -> Rendered:
    """The subject and the plain-text body of `notice` for a customer of its market."""
    local = _text(notice, LANGUAGES[notice.market])
    english = _text(notice, ENGLISH)
    return Rendered(f"{local[0]} / {english[0]}", f"{local[1]}\n--\n{english[1]}")


def _text(notice: Notice, language: tuple[str, str]) -> tuple[str, str]:
    code, locale_name = language
    market, facts = notice.market, dict(notice.facts)
    if isinstance(cause := facts.get("cause"), Cause):
        facts["reason"] = CAUSES[cause][code]

    def money(amount: Money) -> str:
        return _money(amount.amount_minor, amount.currency, market, locale_name)

    def instant(moment: datetime) -> str:  # shown to the second: orders of one second share the text
        return _instant(moment.replace(microsecond=0), market, locale_name)

    subject, _, body = _template(notice.kind, code).render(facts, money=money, instant=instant).partition("\n")
    return subject.strip(), body


CAUSES: dict[Cause, dict[str, str]] = {  # why an order was cancelled, in each language
    Cause.BY_CUSTOMER: {"sr": "na Vaš zahtev", "ru": "по Вашему запросу", "en": "at your request"},
    Cause.NOT_PAID_IN_TIME: {"sr": "nije plaćena u roku od 2 sata", "ru": "он не был оплачен в течение 2 часов",
                             "en": "it was not paid within 2 hours"},
    Cause.PAID_TOO_LATE: {"sr": "uplata je stigla posle roka od 2 sata",
                          "ru": "оплата поступила после истечения 2 часов",
                          "en": "the payment was made after the 2-hour window"},
    Cause.INSTALMENTS_DECLINED: {"sr": "davalac plaćanja na rate je odbio plaćanje",
                                 "ru": "провайдер рассрочки отклонил платёж",
                                 "en": "the instalment provider declined the payment"},
    Cause.OUT_OF_STOCK: {"sr": "proizvod nije na stanju", "ru": "товара нет в наличии",
                         "en": "a product is out of stock"},
    Cause.NONE_AVAILABLE: {"sr": "nijedan proizvod iz porudžbine nije dostupan",
                           "ru": "ни один товар из заказа недоступен",
                           "en": "no product of the order is available"},
    Cause.DELIVERY_FAILED: {"sr": "isporuka nije uspela", "ru": "доставка не состоялась",
                            "en": "the delivery failed"},
    Cause.PRICE_ERROR: {"sr": "porudžbina je napravljena po očigledno pogrešnoj ceni",
                        "ru": "заказ оформлен по очевидно ошибочной цене",
                        "en": "the order was placed at an obviously wrong price"},
}


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
