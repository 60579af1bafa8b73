"""shop.adapters.stripe_gateway against localstripe, read back through the official SDK's typed
services: what the shop sends is what Stripe records, and Stripe's answers and refusals come back
as the shop's own types (PaymentProviderError says whether a retry can help)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest

from shop.adapters.stripe_gateway import PaymentProviderError, StripeGateway
from tests.infra.ports import free_port


@pytest.fixture
async def gateway(shop) -> AsyncIterator[StripeGateway]:
    gateway = StripeGateway(secret_key=shop.localstripe.secret_key, webhook_secret="whsec_x",
                            api_base=shop.localstripe.api_base)
    yield gateway
    await gateway.aclose()


async def test_a_payment_intent_carries_the_order_amount_currency_and_id_RS_V_1(shop, gateway):
    created = await gateway.create_payment_intent(order_id="order-1", amount_minor=349_900, currency="RSD",
                                                  idempotency_key="order-1:intent")
    assert created.id.startswith("pi_") and created.client_secret.startswith(created.id)
    intent = await shop.stripe.v1.payment_intents.retrieve_async(created.id)
    assert (intent.amount, intent.currency, intent.metadata["order_id"]) == (349_900, "rsd", "order-1")
    assert intent.status == "requires_payment_method"


async def test_cancelling_a_payment_intent_cancels_it_at_stripe_RS_V_1(shop, gateway):
    created = await gateway.create_payment_intent(order_id="order-2", amount_minor=1_000, currency="RSD",
                                                  idempotency_key="order-2:intent")
    await gateway.cancel_payment_intent(created.id)
    assert (await shop.stripe.v1.payment_intents.retrieve_async(created.id)).status == "canceled"


async def test_a_refund_of_a_paid_intent_records_amount_and_refund_id_RS_VII_10(shop, gateway):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    intent_id = order["payment"]["payment_intent_id"]
    refund = await gateway.refund(payment_intent_id=intent_id, amount_minor=1_000,
                                  idempotency_key="refund-7", refund_id="7", attempt=2)
    assert refund.stripe_refund_id.startswith("re_") and refund.status == "succeeded"
    stored = await shop.stripe.v1.refunds.retrieve_async(refund.stripe_refund_id)
    assert (stored.amount, stored.payment_intent, stored.metadata.to_dict()) == (
        1_000, intent_id, {"refund_id": "7", "attempt": "2"})


async def test_the_refunds_made_for_a_refund_are_found_by_its_metadata(shop, gateway):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    intent_id = order["payment"]["payment_intent_id"]
    made = [await gateway.refund(payment_intent_id=intent_id, amount_minor=100, idempotency_key=f"k-{name}",
                                 refund_id=name, attempt=1) for name in ("ours", "another", "ours")]
    found = await gateway.refunds_made_for(payment_intent_id=intent_id, refund_id="ours")
    assert sorted(refund.stripe_refund_id for refund in found) == sorted(
        [made[0].stripe_refund_id, made[2].stripe_refund_id])
    assert await gateway.refunds_made_for(payment_intent_id=intent_id, refund_id="none") == []


async def test_stripe_refusing_a_request_is_not_retryable(gateway):
    with pytest.raises(PaymentProviderError) as refused:
        await gateway.cancel_payment_intent("pi_does_not_exist")
    assert not refused.value.retryable and str(refused.value)


async def test_stripe_out_of_reach_is_retryable():
    unreachable = StripeGateway(secret_key="sk_test_x", webhook_secret="whsec_x",
                                api_base=f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(PaymentProviderError) as failed:
            await unreachable.create_payment_intent(order_id="o", amount_minor=1, currency="RSD",
                                                    idempotency_key="k")
        assert failed.value.retryable
    finally:
        await unreachable.aclose()


async def test_a_refund_is_read_as_it_stands_now(shop, gateway):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    made = await gateway.refund(payment_intent_id=order["payment"]["payment_intent_id"], amount_minor=100,
                                idempotency_key="k-now", refund_id="now", attempt=1)
    assert await gateway.refund_now(made.stripe_refund_id) == made
    with pytest.raises(PaymentProviderError) as unknown:
        await gateway.refund_now("re_never_made")
    assert not unknown.value.retryable


async def test_stripe_that_never_answers_is_given_up_on_and_retryable():
    """A real TCP peer on loopback that takes the request and never answers: each of the SDK's three
    tries ends at the timeout, not after the SDK's own 80 seconds."""
    async def listen_in_silence(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)  # until the shop hangs up
        writer.close()

    server = await asyncio.start_server(listen_in_silence, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    silent = StripeGateway(secret_key="sk_test_x", webhook_secret="whsec_x", api_base=f"http://127.0.0.1:{port}",
                           timeout_seconds=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(PaymentProviderError) as failed:
            await silent.create_payment_intent(order_id="o", amount_minor=1, currency="RSD", idempotency_key="k")
        assert failed.value.retryable
        assert 0.6 <= time.monotonic() - started < 10  # three tries of 0.2 s and the SDK's backoff between
    finally:
        await silent.aclose()
        server.close()
        await server.wait_closed()


async def test_the_shop_sends_stripe_no_telemetry_and_writes_nothing_under_home(tmp_path, monkeypatch):
    """A real HTTP peer on loopback that answers as Stripe does, a `Request-Id` included (what the
    SDK's telemetry reports on the next call): no call carries `X-Stripe-Client-Telemetry` or the
    server's platform, and no telemetry id is written under the configuration directory."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    seen: list[dict[str, str]] = []

    async def answer_like_stripe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:  # the shop hung up
                writer.close()
                return
            lines = head.decode().split("\r\n")[1:-2]
            headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
            await reader.readexactly(int(headers.get("content-length", 0)))
            seen.append(headers)
            body = b'{"id": "pi_1", "object": "payment_intent", "client_secret": "pi_1_secret_x"}'
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nRequest-Id: req_%d\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(seen), len(body), body))
            await writer.drain()

    server = await asyncio.start_server(answer_like_stripe, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    gateway = StripeGateway(secret_key="sk_test_x", webhook_secret="whsec_x", api_base=f"http://127.0.0.1:{port}")
    try:
        for number in range(2):
            await gateway.create_payment_intent(order_id=f"o{number}", amount_minor=1, currency="RSD",
                                                idempotency_key=f"k{number}")
    finally:
        await gateway.aclose()
        server.close()
        await server.wait_closed()
    assert len(seen) == 2
    assert not any("x-stripe-client-telemetry" in headers for headers in seen)
    assert not any("platform" in json.loads(headers["x-stripe-client-user-agent"]) for headers in seen)
    assert not (tmp_path / "stripe").exists()
