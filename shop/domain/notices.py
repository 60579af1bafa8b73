"""What the shop tells the customer, and when (RS-IV.5, RS-V.1, RS-V.3, RS-IV.6, RS-V.5.6), in the
market's language with English after it, instants in the market's local time (T-5). The wording is
in shop/messages/templates; this module says which message, with which facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shop.domain.markets import Market
from shop.domain.money import Money
from shop.messages import render


@dataclass(frozen=True)
class Notice:
    kind: str
    subject: str
    body: str


class Cause(StrEnum):
    """Why an order was cancelled, as the customer is told (each has its wording in every language)."""

    BY_CUSTOMER = "by_customer"  # RS-IV.5
    NOT_PAID_IN_TIME = "not_paid_in_time"  # RS-V.1
    PAID_TOO_LATE = "paid_too_late"  # RS-V.1
    INSTALMENTS_DECLINED = "instalments_declined"  # RS-V.1
    OUT_OF_STOCK = "out_of_stock"  # RS-V.5.6
    NONE_AVAILABLE = "none_available"  # RS-IV.6
    DELIVERY_FAILED = "delivery_failed"  # RS-V.3


CAUSES: dict[Cause, dict[str, str]] = {
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
}


def order_received(market: Market, number: str, total: Money, due: datetime | None) -> Notice:
    """RS-IV.5: after the order, the customer gets an order-information message."""
    return _notice("order_received", market, number=number, total=total, due=due)


def delivery_started(market: Market, number: str, carrier: str, tracking: str) -> Notice:
    """RS-IV.5: the message that delivery has started ends the right to cancel the order."""
    return _notice("delivery_started", market, number=number, carrier=carrier, tracking=tracking)


def order_cancelled(market: Market, number: str, cause: Cause, clause: str, refund: Money | None) -> Notice:
    """Every cancellation tells the customer why, with the clause, and what comes back."""
    return _notice("order_cancelled", market, number=number, reason=CAUSES[cause], clause=clause, refund=refund)


def _notice(kind: str, market: Market, **facts: object) -> Notice:
    subject, body = render(kind, market, **facts)
    return Notice(kind, subject, body)
