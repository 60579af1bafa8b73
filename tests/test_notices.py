"""The customer is told, by e-mail over a real SMTP server on loopback: the order information after
ordering (RS-IV.5), that delivery has started (RS-IV.5), and why an order was cancelled (RS-V.1); and
every message renders in the market's language and in English, the withdrawal's (RS-VII.6, RS-VII.7,
RS-VII.10) too (tests/test_order_messages.py reads the confirmation and the delivery from the server)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from shop.adapters.tables import OutboxEmail, table_of
from shop.domain import notices
from shop.domain.markets import Market, market_info
from shop.domain.money import Money
from shop.messages import render
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


# --- every message in every language: the withdrawal's, ready for its use cases -------------------

AT = datetime(2026, 12, 6, 13, 5, 30, tzinfo=UTC)  # 14:05:30 in Belgrade, 18:05:30 in Almaty
DUE = datetime(2026, 12, 21, 22, 59, 59, tzinfo=UTC)  # 23:59:59 on 21 December in Belgrade
LOCAL_DUE = {Market.RS: ("21. decembar 2026. 23:59:59 CET", "21 December 2026, 23:59:59 CET"),
             Market.KZ: ("22 декабря 2026 г., 03:59:59 +0500", "22 December 2026, 03:59:59 +0500")}
CURRENCY = {Market.RS: "RSD", Market.KZ: "KZT"}


def rendered(notice) -> tuple[str, str, str, str]:
    """(local subject, English subject, local body, English body), spaces as words between them."""
    subject, body = render(notice)
    local_subject, english_subject = subject.split(" / ")
    local_body, english_body = body.split("\n--\n")
    return local_subject, english_subject, " ".join(local_body.split()), " ".join(english_body.split())


@pytest.mark.parametrize("market", [Market.RS, Market.KZ])
def test_withdrawal_received_confirms_the_statement_and_the_refund_due_date_RS_VII_6_RS_VII_10(market):
    local_subject, english_subject, local, english = rendered(
        notices.withdrawal_received(market, "N-1", AT, DUE))

    assert english_subject == "Withdrawal from order N-1 received"
    assert local_subject == {Market.RS: "Izjava o odustanku od porudžbine N-1 je primljena",
                             Market.KZ: "Заявление об отказе от заказа N-1 получено"}[market]
    local_due, english_due = LOCAL_DUE[market]
    assert f"by {english_due} at the latest (RS-VII.10)" in english and "(RS-VII.6)" in english
    assert f"{local_due} (RS-VII.10)" in " ".join(local.split()) and "(RS-VII.6)" in local
    assert "UTC" not in local + english


@pytest.mark.parametrize("market", [Market.RS, Market.KZ])
def test_return_label_gives_the_return_deadline_and_the_shop_pays_the_shipping_RS_VII_7_RS_VII_12(market):
    local_subject, english_subject, local, english = rendered(
        notices.return_label(market, "N-1", DUE, label="RET-42"))

    assert english_subject == "Return label for order N-1"
    assert "N-1" in local_subject and local_subject != english_subject
    local_due, english_due = LOCAL_DUE[market]
    assert f"send the goods back by {english_due} (RS-VII.7" in english
    assert local_due in local and "(RS-VII.7" in local
    assert "We pay the return shipping (RS-VII.12)." in english
    assert {Market.RS: "Troškove vraćanja robe snosimo mi (RS-VII.12).",
            Market.KZ: "Обратную доставку оплачиваем мы (RS-VII.12)."}[market] in local
    assert "RET-42" in local and "RET-42" in english
    assert "RET-42" not in rendered(notices.return_label(market, "N-1", DUE))[3]  # no label: not named


@pytest.mark.parametrize("market", [Market.RS, Market.KZ])
def test_refund_sent_names_the_amount_in_local_format_RS_VII_10(market):
    amount = Money(1_234_567, CURRENCY[market])
    local_subject, english_subject, local, english = rendered(notices.refund_sent(market, "N-1", amount))

    assert english_subject == "Refund for order N-1 sent"
    assert "N-1" in local_subject
    assert f"We have refunded {CURRENCY[market]}12,345.67 for your order N-1" in english
    assert {Market.RS: "Vratili smo Vam 12.345,67 RSD", Market.KZ: "Мы вернули Вам 12 345,67 ₸"}[market] in local
    assert "(RS-VII.10, RS-III.4)" in local and "(RS-VII.10, RS-III.4)" in english


@pytest.mark.parametrize("market", [Market.RS, Market.KZ])
def test_order_confirmed_and_delivered_render_in_every_language_RS_IV_6_RS_VII_1(market):
    currency = CURRENCY[market]
    confirmed = rendered(notices.order_confirmed(market, "N-1", Money(100_00, currency), Money(16_67, currency),
                                                 ["1 × Redmi Buds 6"], Money(50_00, currency)))
    delivered = rendered(notices.delivered(market, "N-1", AT, DUE))

    assert confirmed[1] == "Order N-1 confirmed" and delivered[1] == "Order N-1 delivered"
    for text in (confirmed[2], confirmed[3]):
        assert "(RS-IV.6)" in text and "- 1 × Redmi Buds 6" in text and "(RS-III.4)" in text
    assert f"Total: {currency}100.00, including VAT {currency}16.67." in confirmed[3]
    local_due, english_due = LOCAL_DUE[market]
    assert f"until {english_due} (RS-VII.1" in delivered[3] and f"{local_due} (RS-VII.1" in delivered[2]


def every_notice(market: Market) -> list[notices.Notice]:
    """Every kind of message, with the longest ids and numbers the shop makes."""
    number, uid = f"{market.value}261231-ABCDEFGHJKMN", "0b0b8f2e-2f3c-4b7e-9d5e-1c1a2b3c4d5e"
    money, at = Money(99_999_999_900, market_info(market).currency), datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC)
    seller = market_info(market).seller.__dict__
    buyer = {"name": "Ana Anić", "email": "ana@example.rs", "address": "Knez Mihailova 1, 11000, Beograd, RS"}
    return [
        notices.order_received(market, number, money, at),
        notices.delivery_started(market, number, "D Express" * 5, "X" * 64),
        *[notices.order_cancelled(market, number, cause, "RS-V.5.6", money) for cause in notices.Cause],
        notices.order_confirmed(market, number, money, money, ["1 × Xiaomi 15T Pro 12GB/512GB"], money),
        notices.delivered(market, number, at, at),
        notices.withdrawal_received(market, number, at, at),
        notices.return_label(market, number, at, "label"),
        notices.refund_sent(market, number, money),
        *[notices.price_corrected(market, number, [{"quantity": 99, "name": "Xiaomi 15T Pro 12GB/512GB",
                                                    "charged": money, "correct": money}], money, can_cancel=can_cancel)
          for can_cancel in (True, False)],
        notices.invoice_issued(market, number, f"INV-{market.value}-2026-999999", at,
                               [{"description": None, "quantity": 1, "unit_price": money, "total": money}], "20",
                               money, money, seller, buyer),
        notices.credit_note_issued(market, number, f"CN-{market.value}-2026-999999", f"INV-{market.value}-2026-999999",
                                   at, "withdrawal", "RS-VII.10", money, money, seller, buyer),
        notices.complaint_received(market, uid, at, at, number),
        notices.complaint_answered(market, uid, at, "An answer."),
        *[notices.conformity_claim(market, number, uid, event, remedy, "a reason", money)
          for event in ("claim", "accept", "complete", "reject", "refuse_remedy", "ask_reduction", "grant_reduction",
                        "withdraw", "refuse_withdrawal", "receive_return") for remedy in ("repair", "replacement")],
        *([notices.perk_code(market, number, "google_ai_pro", "KZ-4.3", "https://shop.example/api/v1/perks/" + uid,
                             "ABCD", at)] if market == Market.KZ else []),  # the perks are KZ's alone
        *(take_back_notices(market, number, uid) if market == Market.RS else []),  # the take-back is RS's alone
        *(review_notices(market, uid, at) if market == Market.RS else []),  # RS-XIII is the RS terms' alone
    ]


def review_notices(market: Market, uid: str, at: datetime) -> list[notices.Notice]:
    """Every message of reviews, notices of illegal content and blocks (RS-XIII), texts at the longest
    the API takes."""
    return [notices.content_notice_received(market, uid, uid, at),
            *[notices.content_notice_decided(market, uid, uid, removed, "R" * 2000) for removed in (True, False)],
            notices.review_removed(market, uid, "Xiaomi 15T Pro 12GB/512GB" * 8, uid, "R" * 2000, at),
            notices.account_blocked(market, "R" * 500, at), notices.account_unblocked(market, at)]


def take_back_notices(market: Market, number: str, uid: str) -> list[notices.Notice]:
    """Every message of a take-back (RS-V.5.4), the old device described at the longest the API takes."""
    about = {"market": market, "number": number, "reference": uid, "device": "D" * 500,
             "product": "Xiaomi 15T Pro 12GB/512GB"}
    address = {"street": "S" * 200, "city": "C" * 200, "postal_code": "P" * 16, "country": "RS"}
    return [notices.take_back_requested(**about, address=address),
            notices.take_back_collected(**about, collected_at=datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC)),
            notices.take_back_refused(**about, reason="R" * 500),
            notices.take_back_lapsed(**about), notices.take_back_cancelled(**about)]


@pytest.mark.parametrize("market", list(Market))
def test_every_subject_fits_the_outbox_in_every_language(market):
    """PostgreSQL keeps 200 characters of a subject and refuses more (a 500, the step undone):
    every message's subject, with the longest ids and numbers, fits; every body names something."""
    limit = table_of(OutboxEmail).c.subject.type.length
    for notice in every_notice(market):
        subject, body = render(notice)
        assert len(subject) <= limit, (notice.kind, len(subject), subject)
        assert body.strip() and " / " in subject, notice.kind
