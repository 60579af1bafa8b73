"""What the shop tells the customer, and when (RS-IV.5, RS-V.1, RS-V.3, RS-IV.6, RS-V.5.6): which
message, to a customer of which market, with which facts. The wording, in the market's language
with English after it and instants in its local time (T-5), is shop.messages'."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shop.domain.markets import Market
from shop.domain.money import Money


@dataclass(frozen=True)
class Notice:
    kind: str
    market: Market
    facts: Mapping[str, object]


class Cause(StrEnum):
    """Why an order was cancelled, as the customer is told (each has its wording in every language)."""

    BY_CUSTOMER = "by_customer"  # RS-IV.5
    NOT_PAID_IN_TIME = "not_paid_in_time"  # RS-V.1
    PAID_TOO_LATE = "paid_too_late"  # RS-V.1
    INSTALMENTS_DECLINED = "instalments_declined"  # RS-V.1
    OUT_OF_STOCK = "out_of_stock"  # RS-V.5.6
    NONE_AVAILABLE = "none_available"  # RS-IV.6
    DELIVERY_FAILED = "delivery_failed"  # RS-V.3


def order_received(market: Market, number: str, total: Money, due: datetime | None) -> Notice:
    """RS-IV.5: after the order, the customer gets an order-information message."""
    return Notice("order_received", market, {"number": number, "total": total, "due": due})


def delivery_started(market: Market, number: str, carrier: str, tracking: str) -> Notice:
    """RS-IV.5: the message that delivery has started ends the right to cancel the order."""
    return Notice("delivery_started", market, {"number": number, "carrier": carrier, "tracking": tracking})


def order_cancelled(market: Market, number: str, cause: Cause, clause: str, refund: Money | None) -> Notice:
    """Every cancellation tells the customer why, with the clause, and what comes back."""
    return Notice("order_cancelled", market, {"number": number, "cause": cause, "clause": clause, "refund": refund})

