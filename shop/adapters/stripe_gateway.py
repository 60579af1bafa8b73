"""The only module that speaks Stripe (through the official SDK); its events are read into the
shop's own values by shop.adapters.stripe_events."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import msgspec
import stripe

from shop.adapters.stripe_events import (
    InvalidEvent, InvalidPayload, InvalidWebhook, Refund, RefundList, read_event, refund_news,
)
from shop.clock import system_now
from shop.domain.payment_events import RefundNews, StripeNews

__all__ = ["CreatedIntent", "InvalidEvent", "InvalidPayload", "InvalidWebhook", "ListedIntent",
           "PaymentProviderError", "StripeGateway"]


class PaymentProviderError(Exception):
    """Stripe did not do what was asked; the message says what. `retryable` when Stripe could not
    be reached or failed on its side (a retry may succeed), not when it refused the request."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class CreatedIntent:
    id: str
    client_secret: str


T = TypeVar("T", bound=msgspec.Struct)


def _answer(kind: type[T], data: Any) -> T:
    """Stripe's answer to a request, read as its events are (one reading of each object)."""
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as error:
        raise PaymentProviderError(f"Stripe answered a {kind.__name__} of another shape: {error}",
                                   retryable=False) from None


stripe.enable_telemetry = False
"""The SDK's telemetry (its public switch) is off: with it on, every call sends Stripe the server's
platform string and the previous call's timings, and the first writes an id file under the home
directory (~/.config/stripe), which a server has no business doing; off, a PaymentIntent costs about
17 µs less of CPU (0.40 against 0.42 ms through the SDK, this machine, three runs each)."""

TOLERANCE = stripe.Webhook.DEFAULT_TOLERANCE
"""Seconds a signature's timestamp may be from the real clock, either way (the SDK's 300)."""


def _timestamp(header: str) -> int | None:
    """`t=` of a Stripe-Signature header."""
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _signed_bytes(payload: bytes, header: str, secret: str, now: float) -> bool:
    """Stripe's v1 scheme (HMAC-SHA256 of `t.` + the body) over a body that is not UTF-8, which the
    SDK cannot verify (it signs text): so a signed body that is not text is told from a forgery."""
    signed_at = _timestamp(header)
    if signed_at is None or signed_at < now - TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), f"{signed_at}.".encode() + payload, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value) for key, _, value in
               (item.partition("=") for item in header.split(",")) if key.strip() == "v1")


@dataclass(frozen=True)
class ListedIntent:
    id: str
    status: str
    created: int  # Stripe's Unix time
    order_id: str | None  # its metadata's order_id, when a string


class StripeGateway:
    def __init__(self, *, secret_key: str, webhook_secret: str, api_base: str, timeout_seconds: float = 10) -> None:
        """`timeout_seconds` bounds each request (the SDK retries one that timed out twice, as it
        does a lost connection, with the same idempotency key)."""
        self._webhook_secret = webhook_secret
        # aiohttp under the SDK: about 0.45 ms of CPU per PaymentIntent created against 1.0 ms with
        # httpx (this machine, the bench's Stripe stub, 2,000 calls one after another, two runs each).
        self._http = stripe.AIOHTTPClient(timeout=aiohttp.ClientTimeout(total=timeout_seconds))
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base},
            http_client=self._http,
            max_network_retries=2,
        )

    async def aclose(self) -> None:
        await self._http.close_async()

    async def create_payment_intent(
        self, *, order_id: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> CreatedIntent:
        intent = await self._post("/v1/payment_intents", idempotency_key=idempotency_key,
                                  amount=amount_minor, currency=currency.lower(), metadata={"order_id": order_id})
        return CreatedIntent(intent["id"], intent.get("client_secret") or "")

    async def cancel_payment_intent(self, payment_intent_id: str) -> None:
        await self._post(f"/v1/payment_intents/{quote(payment_intent_id, safe='')}/cancel")

    async def payment_intents_since(self, created_since: int) -> list[ListedIntent]:
        """The PaymentIntents created at or after `created_since` (Unix time). Stripe lists them newest
        first, 100 a page: pages are read until one holds none that recent, so a sweep reads its
        window, not the account's history."""
        found: list[ListedIntent] = []
        after: dict[str, str] = {}
        while True:
            listed = await self._call(self._client.raw_request_async("get", "/v1/payment_intents", limit=100, **after))
            page = listed.data.get("data") or []
            recent = [intent for intent in page if isinstance(intent, dict)
                      and isinstance(intent.get("created"), int) and intent["created"] >= created_since]
            for intent in recent:
                metadata = intent.get("metadata")
                order_id = metadata.get("order_id") if isinstance(metadata, dict) else None
                found.append(ListedIntent(str(intent["id"]), str(intent.get("status")), intent["created"],
                                          order_id if isinstance(order_id, str) else None))
            if not recent or not listed.data.get("has_more"):
                return found
            after = {"starting_after": str(page[-1]["id"])}

    async def refund(
        self, *, payment_intent_id: str, amount_minor: int, idempotency_key: str, refund_id: str, attempt: int
    ) -> RefundNews:
        """A refund of the PaymentIntent, its metadata naming the shop's refund and attempt."""
        refund = await self._post("/v1/refunds", idempotency_key=idempotency_key,
                                  payment_intent=payment_intent_id, amount=amount_minor,
                                  metadata={"refund_id": refund_id, "attempt": str(attempt)})
        return refund_news(_answer(Refund, refund))

    async def refund_now(self, refund_id: str) -> RefundNews:
        """Stripe's refund as it stands now."""
        refund = await self._call(self._client.raw_request_async("get", f"/v1/refunds/{quote(refund_id, safe='')}"))
        return refund_news(_answer(Refund, refund.data))

    async def refunds_made_for(self, *, payment_intent_id: str, refund_id: str) -> list[RefundNews]:
        """The PaymentIntent's refunds whose metadata names the shop's refund `refund_id`, newest
        first (an order has a few refunds: one page of 100 holds them)."""
        listed = await self._call(self._client.raw_request_async(
            "get", "/v1/refunds", payment_intent=payment_intent_id, limit=100))
        return [news for news in map(refund_news, _answer(RefundList, listed.data).data)
                if news.shop_refund_id == refund_id]

    async def _post(self, path: str, *, idempotency_key: str | None = None, **params: Any) -> dict[str, Any]:
        """A POST through the SDK's own request path (authentication, form encoding, retries,
        idempotency, Stripe's errors raised as `stripe.StripeError`), answered with Stripe's JSON as
        a dict: the typed services (`client.v1.payment_intents.create_async`) first build an object
        for every field of the answer, about 130 µs of CPU a call on this machine (a quarter of
        the SDK's cost of a PaymentIntent), where the shop reads one or two fields."""
        options = {"idempotency_key": idempotency_key} if idempotency_key else {}
        response = await self._call(self._client.raw_request_async("post", path, **options, **params))
        return dict(response.data)

    def verify_event(self, payload: bytes, signature: str | None) -> StripeNews:
        """The event as the shop's value of it (shop.adapters.stripe_events.read_event) if
        `Stripe-Signature` verifies with the webhook secret and its timestamp is within the
        tolerance of the real clock, past or future (the SDK checks the signature and the past only).
        A signed body that is not a JSON event is an InvalidPayload, one of a wrong shape an
        InvalidEvent; neither is read before its signature verified."""
        if not signature:
            raise InvalidWebhook("Stripe-Signature header is missing")
        if not signature.isascii():  # Stripe's are `t=` digits and hex; the SDK's compare raises on others
            raise InvalidWebhook("Stripe-Signature header is not ASCII")
        now = system_now().timestamp()  # the real clock, as Stripe's (the SDK reads it too)
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        try:
            if text is not None:
                stripe.WebhookSignature.verify_header(text, signature, self._webhook_secret, TOLERANCE)
            elif not _signed_bytes(payload, signature, self._webhook_secret, now):
                raise InvalidWebhook("No signatures found matching the expected signature for payload")
        except stripe.SignatureVerificationError as error:
            raise InvalidWebhook(str(error)) from None
        signed_at = _timestamp(signature)
        if signed_at is None or signed_at > now + TOLERANCE:
            raise InvalidWebhook(f"Timestamp outside the tolerance zone ({signed_at}): in the future")
        if text is None:
            raise InvalidPayload("the body is not UTF-8")
        return read_event(payload)

    @staticmethod
    async def _call(awaitable: Any) -> Any:
        try:
            return await awaitable
        except stripe.StripeError as error:
            retryable = isinstance(error, (stripe.APIConnectionError, stripe.RateLimitError)) or (
                error.http_status is None or error.http_status >= 500)
            raise PaymentProviderError(error.user_message or str(error), retryable=retryable) from error
