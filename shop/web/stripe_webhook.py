"""POST /api/v1/webhooks/stripe: Stripe's events, verified against `Stripe-Signature` (on the real
clock), read once into the shop's own values (shop.domain.payment_events, by
shop.adapters.stripe_events: a signed body that is not JSON is a 400 `invalid_payload`, an event of a
wrong shape a 400 `invalid_event` naming the field, never a 5xx that Stripe would retry for days),
dispatched by their type (HANDLERS; a type the shop does not read is acknowledged and ignored) and
applied at most once (shop.services.payments, shop.services.refunds).

A bare ASGI handler rather than a controller method: the endpoint takes raw bytes and one header and
answers two fields, so Litestar's request parsing, dependency injection and response building have
nothing to do here (Litestar's own part of a request: 207 Python calls on a controller route, 47 on
an ASGI route). Measured with `python -m tests.bench.ab` (both versions served by uvicorn, batches
sent to one and the other in turn, five runs): 0.53-0.65 ms of server CPU an event against
0.59-0.75 ms as a controller method, 9-20 % less, and 8-24 % more events a second. Errors still
reach the app's exception handlers: a refused event gets the same problem details as anywhere else.
Unlike the controllers' routes it is not in the OpenAPI schema at /schema (Litestar documents HTTP
route handlers only); the README's API section and STOREFRONT-API.md describe it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import asgi
from litestar.datastructures import Headers
from litestar.enums import MediaType
from litestar.exceptions import ClientException, HTTPException, MethodNotAllowedException
from litestar.handlers import ASGIRouteHandler
from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send

from shop.domain.payment_events import (
    Ignored, PaymentCancelled, PaymentFailed, PaymentSucceeded, RefundUpdated, StripeNews,
)
from shop.services import payments, refunds
from shop.services.context import ShopContext

log = logging.getLogger(__name__)

HANDLERS: dict[type[Any], Callable[[ShopContext, Any], Awaitable[str]]] = {
    PaymentSucceeded: payments.payment_succeeded,
    PaymentFailed: payments.payment_failed,
    PaymentCancelled: payments.payment_cancelled,
    RefundUpdated: refunds.refund_updated,
}
"""The use case of each kind of news; each returns what was done, for the answer."""

MAX_EVENT_BYTES = 1024 * 1024
"""Stripe's events are a few kilobytes; a body larger than this is refused (413) before it is read whole."""


def stripe_webhook(ctx: ShopContext) -> ASGIRouteHandler:
    @asgi("/webhooks/stripe", is_mount=False, copy_scope=False)  # calls no other ASGI app: nothing to copy
    async def receive_stripe_event(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            raise MethodNotAllowedException(detail=f"{scope['method']} is not allowed here: Stripe POSTs its events")
        event = ctx.stripe.verify_event(await _body(receive), Headers.from_scope(scope).get("stripe-signature"))
        answer = {"received": True, "result": await apply(ctx, event)}
        await ASGIResponse(body=msgspec.json.encode(answer), media_type=MediaType.JSON)(scope, receive, send)

    return receive_stripe_event


async def apply(ctx: ShopContext, event: StripeNews) -> str:
    handler = HANDLERS.get(type(event))
    if handler is None:
        assert isinstance(event, Ignored), event
        log.info("ignoring Stripe event type %s", event.type)
        return "ignored"
    return await handler(ctx, event)


async def _body(receive: Receive) -> bytes:
    """The whole body, refused past MAX_EVENT_BYTES. Litestar's `Request.body()` fails in an ASGI
    handler (litestar 2.25: it asks the handler for `resolve_request_max_body_size`, which only
    HTTP handlers have)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientException(detail="the connection closed before the body arrived")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_EVENT_BYTES:
            raise HTTPException(status_code=413, detail=f"a Stripe event is at most {MAX_EVENT_BYTES} bytes here")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)

