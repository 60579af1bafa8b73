"""Stripe's events read once, at the boundary, into the shop's own values
(shop.domain.payment_events): the only module that knows the shape of Stripe's JSON.

Only the fields the shop reads are declared (Stripe's other fields are skipped); each is checked for
its type and bounds, so nothing of a wrong type reaches the services or the database: a signed body
that is not JSON is an InvalidPayload, an event of a wrong shape an InvalidEvent naming the field
(both a 400, never a 5xx that Stripe would retry for days)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from shop.domain.money import Money
from shop.domain.payment_events import (
    Ignored, PaymentCancelled, PaymentFailed, PaymentSucceeded, RefundNews, RefundUpdated, StripeNews,
)
from shop.domain.refunds import RefundState


class InvalidWebhook(Exception):
    """A webhook body whose signature does not verify (or, in the subclasses, that is signed but
    cannot be read). `code` is the problem's code, `field` the part of the event at fault."""

    code = "invalid_signature"
    field: str | None = None


class InvalidPayload(InvalidWebhook):
    """A validly signed body that is not JSON (or not UTF-8)."""

    code = "invalid_payload"


class InvalidEvent(InvalidWebhook):
    """A validly signed event whose `field` is not of the shape Stripe gives it."""

    code = "invalid_event"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


StripeId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Amount = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]  # minor units; the ledger's BIGINT
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Za-z]{3}$")]
UnixTime = Annotated[int, msgspec.Meta(ge=946_684_800, lt=4_102_444_800)]  # 2000-01-01 ≤ t < 2100-01-01 UTC


class Metadata(msgspec.Struct):
    """The metadata the shop sets: on a PaymentIntent its order, on a refund the shop's refund
    and the attempt (Stripe's metadata values are strings)."""

    order_id: StripeId | None = None
    refund_id: StripeId | None = None
    attempt: str | None = None


class PaymentError(msgspec.Struct):
    code: str | None = None
    message: str | None = None


class PaymentIntent(msgspec.Struct):
    id: StripeId
    amount: Amount = 0
    amount_received: Amount = 0
    currency: Currency | None = None
    metadata: Metadata | None = None
    last_payment_error: PaymentError | None = None


class Refund(msgspec.Struct):
    """A refund, as an event carries it and as Stripe answers a request about one."""

    id: StripeId
    status: str | None = None  # pending | succeeded | failed | requires_action | canceled
    failure_reason: str | None = None
    payment_intent: StripeId | None = None
    metadata: Metadata | None = None


class RefundList(msgspec.Struct):
    data: list[Refund] = []


class Charge(msgspec.Struct):
    id: StripeId
    payment_intent: StripeId | None = None
    refunds: RefundList | None = None  # listed in API versions before 2022-11-15


StripeObject = PaymentIntent | Charge | Refund

EVENT_OBJECTS: dict[str, type[StripeObject]] = {
    "payment_intent.succeeded": PaymentIntent,
    "payment_intent.payment_failed": PaymentIntent,
    "payment_intent.canceled": PaymentIntent,
    "charge.refunded": Charge,
    "refund.created": Refund,
    "refund.updated": Refund,
    "refund.failed": Refund,
    "charge.refund.updated": Refund,
}
"""The event types the shop reads, and the object each carries in `data.object`."""


class _Data(msgspec.Struct):
    object: msgspec.Raw  # decoded by its event type


class _Envelope(msgspec.Struct):
    id: StripeId
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    created: UnixTime
    data: _Data


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_OBJECTS = {kind: msgspec.json.Decoder(object_type) for kind, object_type in EVENT_OBJECTS.items()}
_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_MISSING = re.compile(r"missing required field `([^`]+)`")


def _decode(decoder: msgspec.json.Decoder[Any], json: bytes | msgspec.Raw, *, inside: str) -> Any:
    try:
        return decoder.decode(json)
    except msgspec.ValidationError as error:
        raise InvalidEvent(f"the event does not have Stripe's shape: {error}", _field(error, inside)) from None
    except (msgspec.DecodeError, RecursionError) as error:  # RecursionError: JSON nested too deep
        raise InvalidPayload(f"the body is not a JSON event: {error}") from None


def _field(error: msgspec.ValidationError, inside: str) -> str:
    """The offending field as a path (`data.object.metadata.order_id`) from msgspec's message."""
    message = str(error)
    at = _AT.search(message)
    path = [part for part in (inside, at.group(1) if at else "") if part]
    if missing := _MISSING.search(message):
        path.append(missing.group(1))
    return ".".join(path) or "body"


def read_event(payload: bytes) -> StripeNews:
    """A signed body as the shop's value of the event, or InvalidPayload (not JSON) / InvalidEvent
    (naming the field of a wrong shape)."""
    envelope = _decode(_ENVELOPE, payload, inside="")
    decoder = _OBJECTS.get(envelope.type)
    if decoder is None:
        return Ignored(envelope.id, envelope.type)
    stripe_object = _decode(decoder, envelope.data.object, inside="data.object")
    occurred_at = datetime.fromtimestamp(envelope.created, UTC)
    if isinstance(stripe_object, PaymentIntent):
        return _payment_news(envelope, stripe_object, occurred_at)
    refunds = ((stripe_object.refunds.data if stripe_object.refunds is not None else [])
               if isinstance(stripe_object, Charge) else [stripe_object])
    return RefundUpdated(envelope.id, occurred_at, envelope.type,
                         stripe_object.payment_intent or stripe_object.id,
                         tuple(refund_news(refund) for refund in refunds))


def _payment_news(envelope: _Envelope, intent: PaymentIntent,
                  occurred_at: datetime) -> PaymentSucceeded | PaymentFailed | PaymentCancelled:
    order_id = intent.metadata.order_id if intent.metadata is not None else None
    if envelope.type == "payment_intent.succeeded":
        return PaymentSucceeded(envelope.id, occurred_at, intent.id, order_id,
                                _money(intent.amount_received or intent.amount, intent.currency))
    if envelope.type == "payment_intent.payment_failed":
        error = intent.last_payment_error
        reason = (error.message or error.code if error else None) or "the payment failed"
        return PaymentFailed(envelope.id, occurred_at, intent.id, order_id, _money(intent.amount, intent.currency),
                             reason)
    return PaymentCancelled(envelope.id, occurred_at, intent.id, order_id)


def _money(amount: int, currency: str | None) -> Money | None:
    return Money(amount, currency.upper()) if currency else None


_STATUS = {"succeeded": RefundState.SUCCEEDED, "failed": RefundState.FAILED, "canceled": RefundState.FAILED}


def refund_news(refund: Refund) -> RefundNews:
    """A refund as the shop reads it: its state in the shop's words (a cancelled refund failed;
    `pending` and `requires_action` are on their way)."""
    metadata = refund.metadata
    return RefundNews(refund.id, metadata.refund_id if metadata else None, metadata.attempt if metadata else None,
                      _STATUS.get(refund.status or "", RefundState.PENDING), (refund.failure_reason or "")[:500] or None)
