"""What Stripe's events tell the shop, as the shop's own values (STYLE.md example 4; docs/architecture.md,
"Stripe: typed events at the boundary"). The gateway (shop.adapters.stripe_gateway) reads a verified
event into one of these; the use cases never see Stripe's JSON, its field names or its vocabulary.

Every value carries the event's id (a delivery Stripe repeats has the same one) and `occurred_at`,
when Stripe created the event: for a payment, the instant it succeeded, which alone decides whether
it came within the order's window (RS-V.1), whenever the news arrives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shop.domain.money import Money
from shop.domain.refunds import RefundState


@dataclass(frozen=True)
class PaymentSucceeded:
    event_id: str
    occurred_at: datetime
    payment_intent_id: str
    order_id: str | None  # the order the shop named in the PaymentIntent's metadata
    amount: Money | None  # what Stripe received (None: Stripe named no currency, never applied)


@dataclass(frozen=True)
class PaymentFailed:
    """An attempt that failed: the order stays payable within its window (RS-V.1)."""

    event_id: str
    occurred_at: datetime
    payment_intent_id: str
    order_id: str | None
    amount: Money | None  # what was asked
    reason: str  # Stripe's message, or its code


@dataclass(frozen=True)
class PaymentCancelled:
    event_id: str
    occurred_at: datetime
    payment_intent_id: str
    order_id: str | None


@dataclass(frozen=True)
class RefundNews:
    """One refund as Stripe reports it, in an event or in its answer to a request."""

    stripe_refund_id: str
    shop_refund_id: str | None  # the shop's refund its metadata names
    attempt: str | None  # the attempt its metadata names (Stripe's metadata values are strings)
    status: RefundState  # Stripe's `canceled` a failure for the shop, its `requires_action` on its way
    failure: str | None  # why it failed, at most 500 characters


@dataclass(frozen=True)
class RefundUpdated:
    """News of refunds (a charge refunded, a refund created or updated)."""

    event_id: str
    occurred_at: datetime
    kind: str  # the event's type, as the ledger records the fact ("charge.refunded", "refund.updated" …)
    payment_intent_id: str  # the PaymentIntent refunded; the object's own id when Stripe names none
    refunds: tuple[RefundNews, ...]


@dataclass(frozen=True)
class Ignored:
    """An event of a type the shop does not read: acknowledged, nothing done."""

    event_id: str
    type: str


StripeNews = PaymentSucceeded | PaymentFailed | PaymentCancelled | RefundUpdated | Ignored
APPLIED = (PaymentSucceeded, PaymentFailed, PaymentCancelled, RefundUpdated)
"""The values a use case applies (every other is Ignored)."""
