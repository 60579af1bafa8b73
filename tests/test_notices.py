"""The customer is told, by e-mail over a real SMTP server on loopback: the order information after
ordering (RS-IV.5), that delivery has started (RS-IV.5), and why an order was cancelled (RS-V.1)."""

from __future__ import annotations

import asyncio

from tests.support import order_body


async def registered(shop) -> tuple[dict, str]:
    headers = await shop.customer()
    return headers, shop.last_email


async def test_order_information_message_after_ordering_RS_IV_5(shop, smtp):
    customer, email = await registered(shop)
    order = await shop.place(customer)

    message = await smtp.wait_for_async(lambda m: m["To"] == email)
    assert message["Subject"] == f"Porudžbina {order['number']} je primljena / Order {order['number']} received"
    body = message.get_body(("plain",)).get_content()
    assert "otkazati dok Vas ne obavestimo da je isporuka počela (RS-IV.5)" in body
    assert "cancel it until we tell you that delivery has started (RS-IV.5)" in body


async def test_delivery_started_message_when_shipped_RS_IV_5(shop, smtp):
    customer, email = await registered(shop)
    order = await shop.shipped_order(customer)

    message = await smtp.wait_for_async(lambda m: m["To"] == email and "on its way" in m["Subject"])
    assert message["Subject"].startswith(f"Porudžbina {order['number']} je na putu / ")
    assert "DE123456" in message.get_body(("plain",)).get_content()
    assert order["state"] == "shipped"


async def test_declined_instalments_cancel_and_tell_the_customer_why_RS_V_1(shop, smtp):
    customer, email = await registered(shop)
    order = await shop.place(customer, order_body(payment_method="installments"))

    response = await shop.ops_post(f"/orders/{order['id']}/installment-decision", {"approved": False})

    assert response.json()["state"] == "cancelled"
    message = await smtp.wait_for_async(lambda m: m["To"] == email and "cancelled" in m["Subject"])
    body = message.get_body(("plain",)).get_content()
    assert "davalac plaćanja na rate je odbio plaćanje (RS-V.1)" in body
    assert "the instalment provider declined the payment (RS-V.1)" in body


async def test_a_mail_server_that_never_answers_neither_holds_nor_fails_the_order_RS_IV_5(shop, settings):
    """A real TCP server that accepts the connection and never greets (no mock): the order is
    answered while the e-mail is still waiting for it; when the server hangs up, the e-mail stays in
    the outbox with its error, for the next attempt."""
    import dataclasses

    import httpx

    from shop.web.app import create_app
    from tests.support import ShopClient

    held: list[asyncio.StreamWriter] = []

    async def never_greet(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    silent = await asyncio.start_server(never_greet, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    app = create_app(dataclasses.replace(settings, smtp_port=port))
    ctx = app.state["ctx"]
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop.test") as http:
            http.app = app  # type: ignore[attr-defined]
            client = ShopClient(http, shop.localstripe)
            try:
                order = await client.place(await client.customer())
                assert order["state"] == "awaiting_payment"
                waiting = await outbox_row(ctx, order["id"])  # answered; the e-mail still on its way
                assert waiting.sent_at is None and waiting.attempts == 0
                while not held:  # the sender has reached the silent server
                    await asyncio.sleep(0.01)
                for writer in held:  # which hangs up without a word
                    writer.close()
                await ctx.background.drain()
            finally:
                await client.close()
        email = await outbox_row(ctx, order["id"])
        assert email.sent_at is None and email.attempts == 1 and email.last_error
    finally:
        silent.close()
        await ctx.aclose()


async def outbox_row(ctx, order_id: str):
    from sqlalchemy import select

    from shop.adapters.tables import OutboxEmail, table_of

    emails = table_of(OutboxEmail)
    return await ctx.db.read(lambda uow: uow.connection.execute(
        select(emails).where(emails.c.order_id == order_id)).one())


async def test_order_e_mail_shows_the_payment_deadline_in_local_time_and_language_T_5(shop, smtp):
    """Placed at 13:05:30 UTC on 6 December 2026: due 15:05:30 UTC, which a Belgrade customer reads
    as 16:05:30 (CET) in Serbian, and money in the local format."""
    customer, email = await registered(shop)
    await shop.http.put("/api/v1/test/clock", json={"now": "2026-12-06T13:05:30Z"})
    order = await shop.place(customer)

    message = await smtp.wait_for_async(lambda m: m["To"] == email)
    body = message.get_body(("plain",)).get_content()
    assert "platite do 6. decembar 2026. 16:05:30 CET" in body
    assert "Please pay by 6 December 2026, 16:05:30 CET" in body
    assert "UTC" not in body
    amount = order["total"]["amount_minor"]
    assert f"{amount // 100:,}".replace(",", ".") + f",{amount % 100:02d}\xa0RSD" in body  # 89.999,00 RSD


async def test_kazakh_order_e_mail_is_in_russian_with_almaty_time_T_5(shop, smtp):
    """The same instant in Almaty (UTC+5 since March 2024) is 20:05:30, in Russian."""
    customer, email = await registered(shop)
    await shop.http.put("/api/v1/test/clock", json={"now": "2026-12-06T13:05:30Z"})
    order = await shop.place(customer, order_body("KZ"))

    message = await smtp.wait_for_async(lambda m: m["To"] == email)
    assert message["Subject"] == f"Заказ {order['number']} получен / Order {order['number']} received"
    body = message.get_body(("plain",)).get_content()
    assert "оплатите его до 6 декабря 2026 г., 20:05:30 +0500" in " ".join(body.split())  # babel's narrow spaces
