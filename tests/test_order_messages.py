"""The customer's messages about the order's life, read from a real SMTP server on loopback, in the
market's language and in English: the confirmation that forms the contract, whole or partial
(RS-IV.6), delivery started (RS-IV.5) and done with the withdrawal deadline (RS-VII.1); every e-mail
with a stable Message-ID and the time the SMTP server accepted it."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from shop.adapters.tables import OutboxEmail, table_of
from shop.domain.money import Money, vat_part
from shop.services.expiry import expire_unpaid_orders
from shop.services.mail import send_queued_emails
from tests.infra.ports import free_port
from tests.infra.smtp import SmtpServer
from tests.ops_support import all_available, set_clock
from tests.support import ROOT, order_body, task_env

LANGUAGE = {"RS": {"confirmed": "je potvrđena", "contract": "ugovor je zaključen kada primite ovu poruku (RS-IV.6)",
                   "left_out": "Sledeći proizvodi nisu dostupni", "total": "Ukupno: {total}, od toga PDV {vat}.",
                   "refund": "vraćamo Vam {refund} na način na koji ste platili (RS-III.4)"},
            "KZ": {"confirmed": "подтверждён", "contract": "договор заключён, когда Вы получаете это сообщение (RS-IV.6)",
                   "left_out": "Следующие товары недоступны", "total": "Итого: {total}, в том числе НДС {vat}.",
                   "refund": "мы возвращаем {refund} тем же способом, которым Вы оплатили (RS-III.4)"}}
ENGLISH = {"contract": "the contract is concluded when you receive this message (RS-IV.6)",
           "left_out": "These products are not available", "total": "Total: {total}, including VAT {vat}.",
           "refund": "We are refunding {refund} for the products not available"}


def local_money(minor: int, market: str) -> str:
    """89.999,00 RSD in Serbian; 89 999,00 ₸ in Russian (spaces as the words between them)."""
    whole = f"{minor // 100:,}".replace(",", "." if market == "RS" else " ")
    return f"{whole},{minor % 100:02d} " + ("RSD" if market == "RS" else "₸")


def english_money(minor: int, currency: str) -> str:
    return f"{currency}{minor // 100:,}.{minor % 100:02d}"


def words(text: str) -> str:
    """The text with every run of spaces one space (babel's are narrow and non-breaking)."""
    return " ".join(text.split())


async def message_to(smtp, email: str, subject_part: str):
    message = await smtp.wait_for_async(lambda m: m["To"] == email and subject_part in m["Subject"])
    return message, words(message.get_body(("plain",)).get_content())


async def outbox_rows(shop, order_id: str):
    emails = table_of(OutboxEmail)
    return await shop.ctx.db.read(lambda uow: list(uow.connection.execute(
        select(emails).where(emails.c.order_id == order_id).order_by(emails.c.id))))


# --- order confirmed (RS-IV.6) --------------------------------------------------------------------

@pytest.mark.parametrize("market", ["RS", "KZ"])
async def test_full_confirmation_forms_the_contract_with_the_orders_total_and_VAT_RS_IV_6(shop, smtp, market):
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.paid_order(customer, order_body(market))

    confirmed = await shop.ops_post(f"/orders/{order['id']}/confirm", all_available(order))

    assert confirmed.json()["state"] == "confirmed"
    message, body = await message_to(smtp, email, "confirmed")
    assert message["Subject"].endswith(f" / Order {order['number']} confirmed")
    assert LANGUAGE[market]["confirmed"] in message["Subject"]
    total, vat, currency = order["total"]["amount_minor"], order["vat"]["amount_minor"], order["total"]["currency"]
    local, english = body.split(" -- ")
    assert LANGUAGE[market]["contract"] in local and ENGLISH["contract"] in english
    assert words(LANGUAGE[market]["total"].format(total=local_money(total, market), vat=local_money(vat, market))) in local
    assert ENGLISH["total"].format(total=english_money(total, currency), vat=english_money(vat, currency)) in english
    assert LANGUAGE[market]["left_out"] not in local and ENGLISH["left_out"] not in english


@pytest.mark.parametrize("market", ["RS", "KZ"])
async def test_partial_confirmation_names_the_lines_left_out_the_new_total_VAT_and_refund_RS_IV_6(
        shop, smtp, market):
    """The charger stays, the buds are not available: the contract is the charger and the delivery
    charge, their VAT each rounded as the order's was; the buds are refunded."""
    prefix = market.lower()
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.paid_order(customer, order_body(market, lines=[(f"{prefix}-charger-67w", 1),
                                                                      (f"{prefix}-redmi-buds-6", 1)]))
    charger, buds = sorted(order["lines"], key=lambda line: line["sku"])
    charge = order["delivery_charge"]["amount_minor"]
    assert charge > 0 or market == "KZ"  # KZ delivers two products free (from 25,000 ₸)

    response = await shop.ops_post(f"/orders/{order['id']}/confirm", {"lines": [
        {"line_id": charger["id"], "available": True}, {"line_id": buds["id"], "available": False}]})

    assert response.json()["state"] == "confirmed"
    currency = order["total"]["currency"]
    kept = charger["unit_price"]["amount_minor"]
    refund = buds["unit_price"]["amount_minor"]
    total = kept + charge
    assert total == order["total"]["amount_minor"] - refund
    vat = (vat_part(Money(kept, currency), Decimal(charger["vat_rate"])) + vat_part(Money(charge, currency), Decimal(charger["vat_rate"])))
    message, body = await message_to(smtp, email, "confirmed")
    local, english = body.split(" -- ")
    assert LANGUAGE[market]["contract"] in local and ENGLISH["contract"] in english
    assert LANGUAGE[market]["left_out"] in local and ENGLISH["left_out"] in english
    assert f"- 1 × {buds['name']}" in local and f"- 1 × {buds['name']}" in english
    assert charger["name"] not in body
    assert words(LANGUAGE[market]["total"].format(total=local_money(total, market),
                                                  vat=local_money(vat.amount_minor, market))) in local
    assert ENGLISH["total"].format(total=english_money(total, currency),
                                   vat=english_money(vat.amount_minor, currency)) in english
    assert words(LANGUAGE[market]["refund"].format(refund=local_money(refund, market))) in local
    assert ENGLISH["refund"].format(refund=english_money(refund, currency)) in english


async def test_a_rejected_order_is_told_its_cancellation_and_no_confirmation_RS_IV_6(shop, smtp):
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.paid_order(customer)

    await shop.ops_post(f"/orders/{order['id']}/confirm", {"lines": [
        {"line_id": line["id"], "available": False} for line in order["lines"]]})

    await message_to(smtp, email, "cancelled")
    await shop.ctx.background.drain()
    assert [row.kind for row in await outbox_rows(shop, order["id"])] == ["order_received", "order_cancelled"]


# --- delivery started (RS-IV.5) and delivered (RS-VII.1) ---------------------------------------

async def test_delivery_started_says_the_order_can_no_longer_be_cancelled_RS_IV_5(shop, smtp):
    customer = await shop.customer()
    email = shop.last_email
    await shop.shipped_order(customer)

    _, body = await message_to(smtp, email, "on its way")
    assert "porudžbina više ne može otkazati (RS-IV.5)" in body
    assert "the order can no longer be cancelled (RS-IV.5)" in body
    assert "its 14 days start when you receive the goods (RS-VII.1)" in body


@pytest.mark.parametrize(("market", "local"), [
    ("RS", ["isporučena 27. oktobar 2026. 15:00:00 CET",
            "odustati bez navođenja razloga do 10. novembar 2026. 23:59:59 CET (RS-VII.1"]),
    ("KZ", ["доставлен 27 октября 2026 г., 19:00:00 +0500",
            "отказаться от договора без объяснения причин до 10 ноября 2026 г., 23:59:59 +0500 (RS-VII.1"]),
])
async def test_delivered_message_tells_the_withdrawal_deadline_in_local_time_RS_VII_1(shop, smtp, market, local):
    """Delivered on Tuesday 27 October 2026 at 14:00 UTC: the 14 days end with Tuesday 10 November,
    a working day in both markets, at local midnight (T-1, T-5)."""
    await set_clock(shop, "2026-10-26T09:00:00Z")
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.shipped_order(customer, order_body(market))
    await set_clock(shop, "2026-10-27T15:00:00Z")

    response = await shop.ops_post(f"/orders/{order['id']}/deliver", {"delivered_at": "2026-10-27T14:00:00Z"})

    assert response.status_code == 200, response.text
    [withdrawal] = [d for d in response.json()["deadlines"] if d["name"] == "withdrawal"]
    message, body = await message_to(smtp, email, "delivered")
    assert message["Subject"].endswith(f" / Order {order['number']} delivered")
    for text in local:
        assert words(text) in body
    zone = "CET" if market == "RS" else "+0500"
    time = "15:00:00" if market == "RS" else "19:00:00"
    assert f"delivered on 27 October 2026, {time} {zone}" in body
    assert f"without giving a reason until 10 November 2026, 23:59:59 {zone} (RS-VII.1" in body
    local_end = datetime.fromisoformat(withdrawal["due_at"].replace("Z", "+00:00")) + (
        timedelta(hours=1) if market == "RS" else timedelta(hours=5))
    assert local_end.strftime("%H:%M:%S") == "23:59:59" and local_end.day == 10  # the order's own deadline


# --- Message-ID and accepted_at -------------------------------------------------------------------

async def test_every_e_mail_has_its_message_id_from_the_queue_and_the_time_the_server_accepted_it(shop, smtp):
    await set_clock(shop, "2026-12-06T13:05:30Z")
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.confirmed_order(customer)
    await shop.ctx.background.drain()

    rows = await outbox_rows(shop, order["id"])
    assert [row.kind for row in rows] == ["order_received", "order_confirmed", "invoice_issued"]  # RS-IV.8–9
    for row in rows:
        message = await smtp.wait_for_async(lambda m, row=row: m["To"] == email and m["Subject"] == row.subject)
        assert message["Message-ID"] == shop.ctx.mailer.message_id_header(row.message_id)
        assert re.fullmatch(rf"<{order['id']}\.[0-9a-f]{{16}}@[^>]+>", message["Message-ID"])
        assert row.accepted_at == datetime(2026, 12, 6, 13, 5, 30, tzinfo=UTC)  # the shop's (test) clock
    assert len({row.message_id for row in rows}) == 3


async def test_an_e_mail_sent_again_keeps_its_message_id(shop, smtp, monkeypatch):
    """The first attempt finds no server (nothing listens on the port): the e-mail stays queued with
    its error and no accepted_at; the next attempt, to the real server, sends the Message-ID given
    when it was queued."""
    customer = await shop.customer()
    email = shop.last_email
    monkeypatch.setattr(shop.ctx.mailer, "port", free_port())
    order = await shop.place(customer)
    await shop.ctx.background.drain()
    [failed] = await outbox_rows(shop, order["id"])
    assert failed.sent_at is None and failed.accepted_at is None and failed.last_error and failed.attempts == 1
    monkeypatch.undo()

    assert await send_queued_emails(shop.ctx, datetime.now(UTC) + timedelta(minutes=6)) >= 1

    message = await smtp.wait_for_async(lambda m: m["To"] == email)
    assert message["Message-ID"] == shop.ctx.mailer.message_id_header(failed.message_id)
    [sent] = await outbox_rows(shop, order["id"])
    assert (sent.message_id, sent.attempts) == (failed.message_id, 2)
    assert sent.accepted_at is not None and sent.sent_at is not None


async def test_an_e_mail_the_server_refuses_does_not_hold_up_the_others(shop, smtp, monkeypatch):
    """The SMTP server refuses one recipient (550, a mailbox it does not know): that e-mail stays
    queued with the server's answer, and the e-mails after it still go. Before, the first refusal
    stopped the sending as if the server were down, and every later run met the same e-mail first:
    no customer got an e-mail from the jobs again."""
    refused_customer = await shop.customer()
    refused_email = shop.last_email
    other_customer = await shop.customer()
    other_email = shop.last_email
    monkeypatch.setattr(shop.ctx.mailer, "port", free_port())  # both orders' e-mails stay queued
    refused_order = await shop.place(refused_customer)
    other_order = await shop.place(other_customer)
    await shop.ctx.background.drain()
    monkeypatch.undo()
    smtp.refuse(refused_email)

    assert await send_queued_emails(shop.ctx, datetime.now(UTC) + timedelta(minutes=6)) == 1

    message = await smtp.wait_for_async(lambda m: m["To"] == other_email)
    assert other_order["number"] in message["Subject"]
    [refused] = await outbox_rows(shop, refused_order["id"])
    assert (refused.sent_at, refused.accepted_at, refused.attempts) == (None, None, 2)
    assert "550" in refused.last_error and "No such mailbox" in refused.last_error
    [sent] = await outbox_rows(shop, other_order["id"])
    assert sent.sent_at is not None and sent.accepted_at is not None

    smtp.clear()  # the mailbox exists after all: the next run sends it
    assert await send_queued_emails(shop.ctx, datetime.now(UTC) + timedelta(minutes=12)) == 1
    await smtp.wait_for_async(lambda m: m["To"] == refused_email)


async def test_make_expire_payments_names_each_e_mail_the_server_refused(shop, smtp, settings, monkeypatch):
    """Staff who run the job see which e-mail the mail server refused and why (an address to check);
    the summary counts them."""
    customer = await shop.customer()
    email = shop.last_email
    monkeypatch.setattr(shop.ctx.mailer, "port", free_port())  # the order's e-mail stays queued
    order = await shop.place(customer)
    await shop.ctx.background.drain()
    [queued] = await outbox_rows(shop, order["id"])
    smtp.refuse(email)
    later = (datetime.now(UTC) + timedelta(minutes=6)).isoformat()  # past the first attempt's lease

    done = subprocess.run([sys.executable, "-m", "shop.jobs", "expire-payments", "--now", later], cwd=ROOT,
                          env={**task_env(settings), "SMTP_HOST": smtp.host, "SMTP_PORT": str(smtp.port)},
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    [told] = [line for line in lines if line.startswith("e-mail ")]
    assert told.startswith(f"e-mail {queued.id} to {email} (order {order['id']}, order_received) refused by "
                           "the mail server, kept queued: check the address: recipient refused: "), lines
    assert "550" in told
    assert "; 0 e-mails sent, 1 refused by the mail server (kept queued); " in lines[-1]


async def test_an_address_in_cyrillic_gets_its_e_mails(shop, smtp):
    """RS-IV.5: an internationalized address (SMTPUTF8, RFC 6531) is accepted at registration and
    its order e-mail goes out to it."""
    customer = await shop.customer(email="ана.анић@пример.срб")
    order = await shop.place(customer)
    await shop.ctx.background.drain()

    message = await smtp.wait_for_async(lambda m: order["number"] in m["Subject"])
    assert message["X-RcptTo"] == "ана.анић@пример.срб"
    [sent] = await outbox_rows(shop, order["id"])
    assert sent.accepted_at is not None and sent.to == "ана.анић@пример.срб"


async def test_a_server_without_smtputf8_refuses_only_the_cyrillic_address(shop, monkeypatch):
    """A server that does not offer SMTPUTF8 cannot carry a non-ASCII address (smtplib refuses to
    send it): that e-mail waits, with the reason, and the others go."""
    cyrillic = await shop.customer(email="ана.анић@пример.срб")
    plain = await shop.customer()
    plain_email = shop.last_email
    monkeypatch.setattr(shop.ctx.mailer, "port", free_port())  # both stay queued
    cyrillic_order, plain_order = await shop.place(cyrillic), await shop.place(plain)
    await shop.ctx.background.drain()
    with SmtpServer(smtputf8=False) as ascii_only:
        monkeypatch.setattr(shop.ctx.mailer, "port", ascii_only.port)

        assert await send_queued_emails(shop.ctx, datetime.now(UTC) + timedelta(minutes=6)) == 1

        await ascii_only.wait_for_async(lambda m: m["To"] == plain_email)
    [waiting] = await outbox_rows(shop, cyrillic_order["id"])
    assert waiting.sent_at is None and "SMTPUTF8" in waiting.last_error
    assert (await outbox_rows(shop, plain_order["id"]))[0].accepted_at is not None


async def test_the_expiry_jobs_e_mails_each_have_a_message_id_of_their_own_RS_V_1(shop, smtp):
    """The cancellations the expiry job writes by one INSERT … SELECT: each its order's id and the
    statement's token, different for every order."""
    orders = [await shop.place(await shop.customer()) for _ in range(3)]
    await shop.ctx.background.drain()

    later = datetime.now(UTC) + timedelta(hours=3)
    await expire_unpaid_orders(shop.ctx, later)
    assert await send_queued_emails(shop.ctx, later) == 3  # as `make expire-payments` does

    ids = []
    for order in orders:
        [received, cancelled] = await outbox_rows(shop, order["id"])
        assert cancelled.kind == "order_cancelled"
        assert re.fullmatch(rf"{order['id']}\.[0-9a-f]{{16}}", cancelled.message_id)
        assert cancelled.message_id != received.message_id
        ids.append(cancelled.message_id)
    assert len(set(ids)) == 3
    rows = [row for order in orders for row in await outbox_rows(shop, order["id"])]
    message = await smtp.wait_for_async(lambda m: m["Message-ID"] == shop.ctx.mailer.message_id_header(ids[0]))
    assert orders[0]["number"] in message["Subject"]
    assert all(row.accepted_at is not None for row in rows if row.kind == "order_cancelled")
