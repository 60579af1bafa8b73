"""The whole path over real sockets: the shop under uvicorn on loopback, localstripe delivering its
own signed webhook to it (RS-V.1: the order is paid when Stripe says the payment succeeded)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from shop.settings import Settings
from shop.web.app import create_app
from tests.infra.ports import free_port
from tests.support import WEBHOOK_SECRET, order_body

DELIVERY_TIMEOUT = 15.0  # localstripe posts about a second after the payment


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The shop served by uvicorn in a thread of its own, on the test database."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


async def test_localstripe_webhook_pays_the_order_over_http_RS_V_1(shop, live_server):
    shop.localstripe.register_webhook(f"{live_server}/api/v1/webhooks/stripe", WEBHOOK_SECRET,
                                      events=["payment_intent.succeeded"])
    try:
        await _pay_over_http(shop, live_server)
    finally:  # later tests send their own events: stop localstripe's deliveries
        shop.localstripe.register_webhook(f"{live_server}/gone", WEBHOOK_SECRET, events=["none"])


async def _pay_over_http(shop, live_server: str) -> None:
    async with httpx.AsyncClient(base_url=live_server) as client:
        customer = await shop.customer()
        placed = await client.post("/api/v1/orders", json=order_body(), headers=customer)
        assert placed.status_code == 201, placed.text
        order = placed.json()
        assert order["state"] == "awaiting_payment"

        intent = await shop.pay_at_stripe(order)
        assert intent["status"] == "succeeded"

        state, waited = order["state"], time.monotonic()
        while state != "paid" and time.monotonic() - waited < DELIVERY_TIMEOUT:
            await asyncio.sleep(0.1)  # waiting for localstripe's delivery, not for a deadline
            state = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer)).json()["state"]
        assert state == "paid"
        timeline = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer)).json()["timeline"]
        assert [(e["event"], e["actor"], e["clause"]) for e in timeline][-1] == ("pay", "stripe", "RS-V.1")
