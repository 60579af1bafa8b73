"""The VAT invoice of a sale (RS-IV.8–9) and the corrected invoice of a refund after it (RS-IV.10):
the rules on their own, then through the API on both databases, the e-mails read from the real SMTP
server on loopback."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

import pytest

from shop.domain.invoices import (
    DELIVERY, DocumentKind, SoldLine, credit_note, document_number, invoice, series_year,
)
from shop.domain.markets import Market
from shop.domain.money import Money, vat_part
from tests.ops_support import all_available, set_clock
from tests.support import order_body
from tests.test_order_messages import message_to, outbox_rows, words
from tests.test_withdrawals import CHARGER, PHONE, delivered_order, withdraw

RATE = Decimal("0.20")


def rsd(minor: int) -> Money:
    return Money(minor, "RSD")


# --- the rules ------------------------------------------------------------------------------------------

def test_an_invoice_lists_the_confirmed_lines_and_the_delivery_charge_each_with_its_VAT_RS_IV_8_9_RS_III_1():
    document = invoice([SoldLine("rs-15t", "Xiaomi 15T", 2, rsd(6_999_900)),
                        SoldLine("rs-charger", "Charger", 1, rsd(299_900))], rsd(49_900), RATE)

    assert document.kind == DocumentKind.INVOICE
    assert [(line.sku, line.description, line.quantity, line.total) for line in document.lines] == [
        ("rs-15t", "Xiaomi 15T", 2, rsd(13_999_800)), ("rs-charger", "Charger", 1, rsd(299_900)),
        (None, DELIVERY, 1, rsd(49_900))]
    assert [line.vat for line in document.lines] == [vat_part(rsd(13_999_800), RATE), vat_part(rsd(299_900), RATE),
                                                     vat_part(rsd(49_900), RATE)]
    assert document.total == rsd(14_349_600)
    assert document.vat == Money.total((line.vat for line in document.lines), "RSD")


def test_free_delivery_is_no_line_and_an_invoice_of_no_line_is_refused_RS_IV_6():
    document = invoice([SoldLine("rs-15t", "Xiaomi 15T", 1, rsd(6_999_900))], rsd(0), RATE)
    assert [line.sku for line in document.lines] == ["rs-15t"]
    with pytest.raises(ValueError, match="RS-IV.6"):
        invoice([], rsd(49_900), RATE)


@pytest.mark.parametrize(("credited", "refund", "expected"), [
    (0, 10_000, 10_000),  # a partial refund: all of it
    (0, 99_999, 50_000),  # more than invoiced (lines never invoiced): the invoice's part
    (40_000, 20_000, 10_000),  # earlier credit notes count
    (50_000, 5_000, None),  # the invoice credited whole: nothing left to correct
])
def test_a_credit_note_never_credits_more_than_the_invoice_still_holds_RS_IV_10(credited, refund, expected):
    note = credit_note(invoiced=rsd(50_000), credited=rsd(credited), refund=rsd(refund), reason="withdrawal",
                       vat_rate=RATE)
    if expected is None:
        assert note is None
        return
    assert note is not None and note.kind == DocumentKind.CREDIT_NOTE
    assert (note.total, note.vat) == (rsd(expected), vat_part(rsd(expected), RATE))
    assert [line.description for line in note.lines] == ["withdrawal"]


@pytest.mark.parametrize(("issued_at", "market", "year"), [
    ("2026-12-31T22:59:59Z", Market.RS, 2026),  # 23:59:59 in Belgrade
    ("2026-12-31T23:00:00Z", Market.RS, 2027),  # midnight in Belgrade
    ("2026-12-31T18:59:59Z", Market.KZ, 2026),  # 23:59:59 in Almaty (UTC+5)
    ("2026-12-31T19:00:00Z", Market.KZ, 2027),
])
def test_a_document_is_numbered_in_the_series_of_its_local_year_T_5(issued_at, market, year):
    assert series_year(datetime.fromisoformat(issued_at.replace("Z", "+00:00")), market) == year
    assert document_number(DocumentKind.INVOICE, market, year, 7) == f"INV-{market.value}-{year}-000007"
    assert document_number(DocumentKind.CREDIT_NOTE, market, year, 123456) == f"CN-{market.value}-{year}-123456"
    with pytest.raises(ValueError):
        document_number(DocumentKind.INVOICE, market, year, 0)


# --- through the API ------------------------------------------------------------------------------------

def sequence(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


async def test_the_confirmation_issues_the_invoice_of_the_order_and_e_mails_it_RS_IV_8_9(shop, smtp):
    await set_clock(shop, "2026-11-02T10:00:00Z")
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.confirmed_order(customer, order_body(lines=[(CHARGER, 2)]))
    await shop.ctx.background.drain()

    view = await shop.order(customer, order["id"])
    assert view["delivery_charge"]["amount_minor"] > 0  # below the free-delivery threshold
    [issued] = view["invoices"]
    assert (issued["kind"], issued["number"][:12], issued["issued_at"]) == (
        "invoice", "INV-RS-2026-", "2026-11-02T10:00:00Z")
    assert (issued["total"], issued["vat"]) == (view["total"], view["vat"])
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in issued["lines"]] == [
        (line["sku"], line["quantity"], line["unit_price"]) for line in view["lines"]] + [
        (None, 1, view["delivery_charge"])]
    assert (issued["corrects"], issued["refund_id"], issued["sent_to"]) == (None, None, email)
    assert issued["seller"] == {"name": "Xiaomi Technology d.o.o. Beograd",
                                "address": "Francuska ulica 27, Beograd, Republika Srbija",
                                "registration": "matični broj 21777170", "tax_id": "PIB 112959045"}
    assert issued["buyer"] == {"name": "Ana Anić", "email": email,
                               "address": "Knez Mihailova 1, 11000, Beograd, RS"}  # the courier's address
    assert issued["email_accepted_at"] == "2026-11-02T10:00:00Z"  # the SMTP server accepted it (the test clock)
    message, body = await message_to(smtp, email, issued["number"])
    assert message["Subject"] == f"PDV faktura {issued['number']} za porudžbinu {view['number']} / " \
                                 f"Invoice {issued['number']} for order {view['number']}"
    [charger] = view["lines"]
    assert f"- 2 × {charger['name']} po " in body and f"- 2 × {charger['name']} at " in body
    assert "- Dostava: " in body and "- Delivery: " in body
    assert "PDV 20 %" in body and "VAT 20 %" in body
    assert ("Prodavac: Xiaomi Technology d.o.o. Beograd, Francuska ulica 27, Beograd, Republika Srbija, "
            "matični broj 21777170, PIB 112959045") in body
    assert f"Kupac: Ana Anić, Knez Mihailova 1, 11000, Beograd, RS, {email}" in body
    assert view["refunds"] == []


async def test_a_kazakh_invoice_is_in_russian_and_numbered_in_its_own_series_RS_IV_8_9(shop, smtp):
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.confirmed_order(customer, order_body("KZ"))

    [issued] = (await shop.order(customer, order["id"]))["invoices"]
    assert issued["number"].startswith("INV-KZ-")
    message, body = await message_to(smtp, email, issued["number"])
    assert message["Subject"].startswith("Счёт-фактура ") and issued["number"] in message["Subject"]
    assert issued["seller"]["name"] == 'ТОО "XIAOMI TECHNOLOGIES KAZAKHSTAN"'
    assert 'Продавец: ТОО "XIAOMI TECHNOLOGIES KAZAKHSTAN", Республика Казахстан' in words(body)
    assert "БИН 240440000964, БИН" not in body  # named once when it is both
    percent = f"{(Decimal(issued['vat_rate']) * 100).normalize():f}"
    assert f"НДС {percent} %" in words(body) and f"VAT {percent} %" in words(body)


async def test_a_partial_confirmation_invoices_only_the_lines_of_the_contract_and_corrects_nothing_RS_IV_6(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer, order_body(lines=[(PHONE, 1), (CHARGER, 1)]))
    phone, charger = (next(line for line in order["lines"] if line["sku"] == sku) for sku in (PHONE, CHARGER))

    await shop.ops_post(f"/orders/{order['id']}/confirm", {"lines": [
        {"line_id": phone["id"], "available": True}, {"line_id": charger["id"], "available": False}]})

    view = await shop.order(customer, order["id"])
    [issued] = view["invoices"]
    delivery = [None] if view["delivery_charge"]["amount_minor"] else []  # a phone goes free
    assert [line["sku"] for line in issued["lines"]] == [PHONE, *delivery]
    kept = phone["unit_price"]["amount_minor"] + view["delivery_charge"]["amount_minor"]
    assert issued["total"]["amount_minor"] == kept
    [refund] = view["refunds"]  # the charger's, never invoiced
    assert refund["amount"]["amount_minor"] == charger["unit_price"]["amount_minor"]
    assert refund["corrected_invoice"] is None


@pytest.mark.parametrize("when", ["rejected", "cancelled_before_confirmation"])
async def test_an_order_that_never_became_a_sale_has_no_invoice_RS_IV_6(shop, when):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    if when == "rejected":
        await shop.ops_post(f"/orders/{order['id']}/confirm", {"lines": [
            {"line_id": line["id"], "available": False} for line in order["lines"]]})
    else:
        response = await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=customer)
        assert response.status_code == 200, response.text

    view = await shop.order(customer, order["id"])
    assert view["state"] == "cancelled" and view["invoices"] == []
    [refund] = view["refunds"]
    assert refund["corrected_invoice"] is None


async def test_a_refund_after_the_invoice_produces_a_credit_note_that_refers_to_it_RS_IV_10(shop, smtp):
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.confirmed_order(customer)

    response = await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=customer)
    assert response.status_code == 200, response.text

    view = await shop.order(customer, order["id"])
    issued, note = view["invoices"]
    [refund] = view["refunds"]
    assert (note["kind"], note["number"][:11], note["corrects"], note["refund_id"]) == (
        "credit_note", "CN-RS-2026-", issued["number"], refund["id"])
    assert note["total"] == refund["amount"] == issued["total"]
    assert note["vat"] == issued["vat"]  # the whole sale corrected: its VAT as invoiced
    assert (note["seller"], note["buyer"]) == (issued["seller"], issued["buyer"])
    assert refund["corrected_invoice"] == {"id": note["id"], "number": note["number"]}
    message, body = await message_to(smtp, email, note["number"])
    assert message["Subject"].endswith(f"Credit note {note['number']} for order {view['number']}")
    assert f"ispravlja PDV fakturu {issued['number']} (RS-IV.10)" in body
    assert f"corrects invoice {issued['number']} (RS-IV.10)" in body
    await shop.ctx.background.drain()
    kinds = [row.kind for row in await outbox_rows(shop, order["id"])]
    assert sorted(kinds[-2:]) == ["credit_note_issued", "order_cancelled"]  # queued together


async def test_a_withdrawal_refund_is_credited_as_refunded_less_its_deduction_RS_IV_10_RS_VII_10(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")
    made = (await withdraw(shop, customer, order, CHARGER)).json()
    await shop.ops_post(f"/withdrawals/{made['id']}/return-label")
    received = await shop.ops_post(f"/withdrawals/{made['id']}/receive", {"deduction_minor": 1_000})
    assert received.status_code == 200, received.text

    view = await shop.order(customer, order["id"])
    issued, note = view["invoices"]
    [refund] = view["refunds"]
    charger = next(line for line in view["lines"] if line["sku"] == CHARGER)
    assert refund["amount"]["amount_minor"] == charger["unit_price"]["amount_minor"] - 1_000
    assert (note["total"], note["corrects"], note["issued_at"]) == (
        refund["amount"], issued["number"], "2026-10-05T09:00:00Z")
    assert note["vat"]["amount_minor"] == vat_part(rsd(refund["amount"]["amount_minor"]),
                                                   Decimal(issued["vat_rate"])).amount_minor


async def test_numbers_follow_each_other_without_gaps_when_orders_are_confirmed_at_once_RS_IV_8_9(shop):
    customer = await shop.customer()
    orders = [await shop.paid_order(customer, order_body(lines=[(CHARGER, 1)])) for _ in range(5)]
    await shop.ops()  # the staff account made before, not by five requests at once

    answers = await asyncio.gather(*(shop.ops_post(f"/orders/{order['id']}/confirm", all_available(order))
                                     for order in orders))

    assert [answer.status_code for answer in answers] == [200] * 5
    numbers = sorted([sequence((await shop.order(customer, order["id"]))["invoices"][0]["number"])
                      for order in orders])
    assert numbers == list(range(numbers[0], numbers[0] + 5))


async def test_a_number_taken_by_a_transaction_that_rolls_back_is_given_back_RS_IV_8_9(shop):
    """Numbers run without gaps: a transaction that fails after taking one (a confirmation whose
    later step fails) leaves it to the next."""
    def taken(uow):
        return uow.invoices.next_number(DocumentKind.CREDIT_NOTE, "RS", 2031)

    def fails(uow):
        taken(uow)
        raise RuntimeError("a later step of the same transaction failed")

    first = await shop.ctx.db.transaction(taken)
    with pytest.raises(RuntimeError):
        await shop.ctx.db.transaction(fails)
    assert await shop.ctx.db.transaction(taken) == first + 1


async def test_an_invoice_not_yet_sent_is_not_yet_received_RS_IV_8_9(shop, monkeypatch):
    """No SMTP server configured: the invoice is issued, its e-mail waits in the outbox, and the
    order says the customer has not received it."""
    monkeypatch.setattr(shop.ctx.mailer, "host", "")
    customer = await shop.customer()
    order = await shop.confirmed_order(customer)

    [issued] = (await shop.order(customer, order["id"]))["invoices"]
    assert issued["email_accepted_at"] is None
    rows = await outbox_rows(shop, order["id"])
    assert [(row.kind, row.sent_at, row.accepted_at) for row in rows if row.kind == "invoice_issued"] == [
        ("invoice_issued", None, None)]
