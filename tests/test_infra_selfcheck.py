"""Self-check of tests/infra: each real server starts, answers and stops.

Uses the context managers directly (no shared fixtures) so that a failure
here points at the infrastructure, not at the shop code.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

import asyncpg
import pytest
import stripe
from aiohttp import web

from tests.infra.localstripe_server import LocalStripe
from tests.infra.ports import free_port
from tests.infra.postgres import PostgresServer
from tests.infra.smtp import SmtpServer

pytestmark = [
    # stripe's HTTPXClient passes the form body as `data=<str>`, which httpx
    # deprecates (warned from httpx._models on every POST).
    pytest.mark.filterwarnings(
        "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
    ),
]


async def test_postgres_answers_and_creates_databases() -> None:
    with PostgresServer() as pg:
        assert pg.url == f"postgresql://shop@127.0.0.1:{pg.port}/shop"
        conn = await asyncpg.connect(pg.url)
        try:
            assert await conn.fetchval("select 1") == 1
            assert await conn.fetchval("show server_encoding") == "UTF8"
        finally:
            await conn.close()

        other_url = pg.create_database("other")
        conn = await asyncpg.connect(other_url)
        try:
            assert await conn.fetchval("select current_database()") == "other"
        finally:
            await conn.close()
        pg.drop_database("other")
        data_dir = pg.base_dir
    assert not data_dir.exists()


def _card(client: stripe.StripeClient, number: str) -> stripe.PaymentMethod:
    return client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )


def test_localstripe_payment_intent_lifecycle() -> None:
    with LocalStripe() as ls:
        http_client = stripe.HTTPXClient(allow_sync_methods=True)
        client = stripe.StripeClient(
            ls.secret_key, base_addresses={"api": ls.api_base}, http_client=http_client
        )
        try:
            # success: create -> attach payment method -> confirm -> refund
            pi = client.v1.payment_intents.create(
                params={"amount": 1000, "currency": "rsd", "metadata": {"order_id": "x"}}
            )
            assert pi.status == "requires_payment_method"
            assert pi.metadata["order_id"] == "x"
            pm = _card(client, "4242424242424242")
            pi = client.v1.payment_intents.update(pi.id, params={"payment_method": pm.id})
            assert pi.status == "requires_confirmation"
            pi = client.v1.payment_intents.confirm(pi.id)
            assert pi.status == "succeeded"
            refund = client.v1.refunds.create(params={"payment_intent": pi.id})
            assert (refund.status, refund.amount) == ("succeeded", 1000)

            # decline: confirm raises CardError, intent goes back to
            # requires_payment_method and can only be cancelled.
            bad = _card(client, "4000000000000341")
            declined = client.v1.payment_intents.create(
                params={"amount": 500, "currency": "rsd", "payment_method": bad.id}
            )
            with pytest.raises(stripe.CardError) as excinfo:
                client.v1.payment_intents.confirm(declined.id)
            assert excinfo.value.code == "card_declined"
            declined = client.v1.payment_intents.retrieve(declined.id)
            assert declined.status == "requires_payment_method"
            assert declined.last_payment_error.code == "card_declined"

            # cancel
            cancelled = client.v1.payment_intents.cancel(declined.id)
            assert cancelled.status == "canceled"
        finally:
            http_client.close()


async def test_localstripe_webhook_is_signed_and_delivered() -> None:
    secret = "whsec_selfcheck"
    received: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        await received.put((await request.read(), request.headers["Stripe-Signature"]))
        return web.Response()

    receiver = web.Application()
    receiver.router.add_post("/stripe/webhook", receive)
    runner = web.AppRunner(receiver)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    http_client = stripe.HTTPXClient()
    try:
        with LocalStripe(persist=False) as ls:
            ls.register_webhook(f"http://127.0.0.1:{port}/stripe/webhook", secret)
            client = stripe.StripeClient(
                ls.secret_key, base_addresses={"api": ls.api_base}, http_client=http_client
            )
            pi = await client.v1.payment_intents.create_async(
                params={
                    "amount": 2500,
                    "currency": "rsd",
                    "metadata": {"order_id": "o-1"},
                    "payment_method": "pm_card_visa",
                    "confirm": True,
                }
            )
            assert pi.status == "succeeded"
            payload, signature = await asyncio.wait_for(received.get(), timeout=10)
    finally:
        await http_client.close_async()
        await runner.cleanup()

    event = stripe.Webhook.construct_event(payload, signature, secret)
    assert event.type == "payment_intent.succeeded"
    assert event.data.object.id == pi.id
    assert event.data.object.metadata["order_id"] == "o-1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, signature, "whsec_wrong")


def test_smtp_collects_messages() -> None:
    with SmtpServer() as smtp:
        msg = EmailMessage()
        msg["From"] = "prodaja@example.com"
        msg["To"] = "Đorđe Kupac <kupac@example.com>"
        msg["Subject"] = "Potvrda porudžbine"
        msg.set_content("Hvala na kupovini.")
        with smtplib.SMTP(smtp.host, smtp.port) as client:
            client.send_message(msg, to_addrs=["kupac@example.com", "arhiva@example.com"])

        got = smtp.wait_for(lambda m: m["Subject"] == "Potvrda porudžbine")
        assert got["To"].addresses[0].display_name == "Đorđe Kupac"
        assert got["X-RcptTo"] == "kupac@example.com, arhiva@example.com"
        assert got.get_content().strip() == "Hvala na kupovini."
        assert len(smtp.messages) == 1
        smtp.clear()
        assert smtp.messages == []
        with pytest.raises(TimeoutError):
            smtp.wait_for(timeout=0.1)
