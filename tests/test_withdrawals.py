"""The right of withdrawal through the API, on SQLite and PostgreSQL, with localstripe as Stripe:
the customer's statement within 14 days of delivery (RS-VII.1, T-1) and staff's record of one sent
by another channel (RS-VII.3, T-6); sets (RS-VII.13), non-returnables (RS-VII.14), partial
withdrawals; the return label (RS-VII.7), the goods received and the refund (RS-VII.10, RS-VII.11)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.ops_support import assert_refunded_at_stripe, set_clock, stock_of
from tests.support import ShopClient, order_body

PHONE, CHARGER, BUDS, BAND = "rs-15t-12-256", "rs-charger-67w", "rs-redmi-buds-6", "rs-band-9-set"
DELIVERED_AT = "2026-10-01T12:00:00Z"  # 14:00 in Belgrade; the period ends 15 Oct 23:59:59 local
LAST_MINUTE = "2026-10-15T21:59:00Z"  # 23:59 in Belgrade (UTC+2)
DAY_AFTER = "2026-10-15T22:00:00Z"  # 16 Oct 00:00 in Belgrade


async def delivered_order(shop: ShopClient, lines: list[tuple[str, int]] | None = None
                          ) -> tuple[dict[str, str], dict[str, Any]]:
    await set_clock(shop, "2026-10-01T08:00:00Z")
    customer = await shop.customer()
    order = await shop.shipped_order(customer, order_body(lines=lines) if lines else None)
    await set_clock(shop, "2026-10-01T13:00:00Z")
    response = await shop.ops_post(f"/orders/{order['id']}/deliver", {"delivered_at": DELIVERED_AT})
    assert response.status_code == 200, response.text
    return customer, response.json()


def line_of(order: dict[str, Any], sku: str) -> dict[str, Any]:
    [line] = [line for line in order["lines"] if line["sku"] == sku]
    return line


async def withdraw(shop: ShopClient, customer: dict[str, str], order: dict[str, Any], *skus: str,
                   **headers: str) -> Any:
    body = {"line_ids": [line_of(order, sku)["id"] for sku in skus]} if skus else {}
    return await shop.http.post(f"/api/v1/orders/{order['id']}/withdrawals", json=body,
                                headers={**customer, **headers})


def problem(response: Any) -> tuple[int, str, str | None]:
    body = response.json()
    return response.status_code, body["code"], body.get("clause")


# --- the statement: RS-VII.1, RS-VII.2, T-1, T-6 -----------------------------------------------------

async def test_a_withdrawal_on_the_last_day_at_local_23_59_is_accepted_RS_VII_1(shop):
    customer, order = await delivered_order(shop)
    await set_clock(shop, LAST_MINUTE)

    response = await withdraw(shop, customer, order)

    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["state"], made["channel"], made["sent_at"]) == ("requested", "web", "2026-10-15T21:59:00Z")
    assert made["refund_due_by"] == "2026-10-29T22:59:59Z"  # 14 days from the statement (RS-VII.10)
    assert [line["sku"] for line in made["lines"]] == [PHONE]
    view = await shop.order(customer, order["id"])
    assert [w["id"] for w in view["withdrawals"]] == [made["id"]]
    assert line_of(view, PHONE)["state"] == "withdrawn"
    entries = await shop.ctx.db.read(lambda uow: uow.timeline.of_order(order["id"]))
    assert [(e.machine, e.event, e.clause) for e in entries if e.machine in ("withdrawal", "order line")][-2:] == [
        ("withdrawal", "request", "RS-VII.1"), ("order line", "withdraw", "RS-VII.1")]


async def test_a_withdrawal_the_day_after_the_period_is_refused_RS_VII_1(shop):
    customer, order = await delivered_order(shop)
    await set_clock(shop, DAY_AFTER)

    response = await withdraw(shop, customer, order)

    assert problem(response) == (409, "withdrawal_period_expired", "RS-VII.1")
    assert (await shop.order(customer, order["id"]))["withdrawals"] == []


async def test_an_order_not_delivered_has_nothing_to_withdraw_RS_VII_1(shop):
    await set_clock(shop, "2026-10-01T08:00:00Z")
    customer = await shop.customer()
    order = await shop.shipped_order(customer)

    assert problem(await withdraw(shop, customer, order)) == (409, "order_not_delivered", "RS-VII.1")


async def test_an_emailed_statement_sent_in_time_and_recorded_late_is_accepted_T_6(shop):
    _, order = await delivered_order(shop)
    await set_clock(shop, "2026-10-20T09:00:00Z")

    response = await shop.ops_post(f"/orders/{order['id']}/withdrawals",
                                   {"channel": "email", "sent_at": "2026-10-15T21:30:00Z"})

    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["channel"], made["sent_at"], made["recorded_at"]) == (
        "email", "2026-10-15T21:30:00Z", "2026-10-20T09:00:00Z")
    assert made["refund_due_by"] == "2026-10-29T22:59:59Z"  # from the statement, not from its recording


async def test_a_statement_sent_in_the_future_or_too_late_is_refused_T_6(shop):
    _, order = await delivered_order(shop)
    await set_clock(shop, "2026-10-05T09:00:00Z")
    future = await shop.ops_post(f"/orders/{order['id']}/withdrawals",
                                 {"channel": "phone", "sent_at": "2026-10-05T09:00:01Z"})
    await set_clock(shop, "2026-10-20T09:00:00Z")
    late = await shop.ops_post(f"/orders/{order['id']}/withdrawals",
                               {"channel": "chat", "sent_at": DAY_AFTER})

    assert (future.status_code, future.json()["code"], future.json()["field"]) == (422, "sent_at_in_future", "sent_at")
    assert problem(late) == (409, "withdrawal_period_expired", "RS-VII.1")


# --- the lines: RS-VII.13, RS-VII.14 -----------------------------------------------------------------

async def test_a_set_is_withdrawn_whole_with_every_item_RS_VII_13(shop):
    customer, order = await delivered_order(shop, [(BAND, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")

    response = await withdraw(shop, customer, order, BAND)

    assert response.status_code == 201, response.text
    [line] = response.json()["lines"]
    assert (line["sku"], line["quantity"], line["set_items"]) == (
        BAND, 1, ["Xiaomi Smart Band 9 Active", "Spare strap", "Charging cable"])


async def test_a_non_returnable_product_is_refused_RS_VII_14(shop):
    customer, order = await delivered_order(shop, [(BUDS, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")

    assert problem(await withdraw(shop, customer, order, BUDS)) == (409, "not_returnable", "RS-VII.14")
    every = await withdraw(shop, customer, order)  # all lines: every one that can be returned
    assert [line["sku"] for line in every.json()["lines"]] == [CHARGER]


async def test_partial_withdrawals_then_a_line_twice_is_refused_RS_VII_1(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")

    first = await withdraw(shop, customer, order, CHARGER)
    again = await withdraw(shop, customer, order, CHARGER)
    await set_clock(shop, "2026-10-06T09:00:00Z")
    second = await withdraw(shop, customer, order, PHONE)
    nothing_left = await withdraw(shop, customer, order)

    assert (first.status_code, second.status_code) == (201, 201)
    assert problem(again)[:2] == problem(nothing_left)[:2] == (409, "line_already_withdrawn")
    view = await shop.order(customer, order["id"])
    assert [[line["sku"] for line in w["lines"]] for w in view["withdrawals"]] == [[CHARGER], [PHONE]]


async def test_the_same_idempotency_key_answers_the_same_withdrawal(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")

    first = await withdraw(shop, customer, order, CHARGER, **{"Idempotency-Key": "w-1"})
    replay = await withdraw(shop, customer, order, CHARGER, **{"Idempotency-Key": "w-1"})
    other_body = await withdraw(shop, customer, order, PHONE, **{"Idempotency-Key": "w-1"})

    assert (first.status_code, replay.status_code, replay.json()) == (201, 201, first.json())
    assert problem(other_body)[:2] == (409, "idempotency_key_reused")


# --- the return and the refund: RS-VII.7–VII.11 ------------------------------------------------------

async def test_label_then_receipt_with_a_deduction_refunds_the_rest_at_stripe_RS_VII_7_RS_VII_10(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")
    made = (await withdraw(shop, customer, order, CHARGER)).json()
    early = await shop.ops_post(f"/withdrawals/{made['id']}/receive", {"deduction_minor": 0})

    label = await shop.ops_post(f"/withdrawals/{made['id']}/return-label")
    await set_clock(shop, "2026-10-09T10:00:00Z")
    too_much = await shop.ops_post(f"/withdrawals/{made['id']}/receive", {"deduction_minor": 349_901})
    received = await shop.ops_post(f"/withdrawals/{made['id']}/receive",
                                   {"deduction_minor": 10_000, "note": "box opened, scratched"})

    assert problem(early) == (409, "receive_not_allowed", "RS-VII.8")
    assert (label.json()["state"], label.json()["return_due_by"]) == ("awaiting_return", "2026-10-19T09:00:00Z")
    assert (too_much.status_code, too_much.json()["field"]) == (422, "deduction_minor")
    assert received.status_code == 200, received.text
    assert (received.json()["state"], received.json()["deduction_minor"]) == ("refunded", 10_000)
    view = await shop.order(customer, order["id"])
    await assert_refunded_at_stripe(shop, view, 349_900 - 10_000)  # no delivery charge: the phone is kept
    assert view["refunds"][0]["due_by"] == made["refund_due_by"]
    assert await stock_of(shop, CHARGER) == (50, 0)  # resaleable: back on hand


async def test_a_whole_order_withdrawn_gets_the_delivery_charge_back_RS_VII_10(shop):
    customer, order = await delivered_order(shop, [(CHARGER, 1)])
    assert order["delivery_charge"]["amount_minor"] == 39_000
    await set_clock(shop, "2026-10-05T09:00:00Z")
    made = (await withdraw(shop, customer, order)).json()
    await shop.ops_post(f"/withdrawals/{made['id']}/return-label")

    received = await shop.ops_post(f"/withdrawals/{made['id']}/receive",
                                   {"deduction_minor": 0, "resaleable": False})

    assert received.json()["state"] == "refunded"
    view = await shop.order(customer, order["id"])
    await assert_refunded_at_stripe(shop, view, order["total"]["amount_minor"])
    assert order["total"]["amount_minor"] == 349_900 + 39_000
    assert await stock_of(shop, CHARGER) == (49, 0)  # not resaleable: not back on hand


# --- at the same moment -------------------------------------------------------------------------------

async def test_two_statements_for_one_line_at_once_withdraw_it_once_RS_VII_1(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")

    answers = await asyncio.gather(*(withdraw(shop, customer, order, CHARGER) for _ in range(3)))

    assert sorted(response.status_code for response in answers) == [201, 409, 409]
    assert len((await shop.order(customer, order["id"]))["withdrawals"]) == 1


async def test_two_staff_receiving_one_return_at_once_refund_it_once_RS_VII_10(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")
    made = (await withdraw(shop, customer, order, CHARGER)).json()
    await shop.ops_post(f"/withdrawals/{made['id']}/return-label")

    answers = await asyncio.gather(*(shop.ops_post(f"/withdrawals/{made['id']}/receive", {"deduction_minor": 0})
                                     for _ in range(2)))

    assert sorted(response.status_code for response in answers) == [200, 409]
    await assert_refunded_at_stripe(shop, await shop.order(customer, order["id"]), 349_900)
    assert await stock_of(shop, CHARGER) == (50, 0)  # back on hand once


# --- the customer's messages: RS-VII.6, RS-VII.7, RS-VII.10 ------------------------------------------

async def test_each_step_tells_the_customer_in_their_language_RS_VII_6_RS_VII_7_RS_VII_10(shop, smtp):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    email = shop.last_email
    await set_clock(shop, "2026-10-05T09:00:00Z")
    made = (await withdraw(shop, customer, order, CHARGER)).json()
    await shop.ops_post(f"/withdrawals/{made['id']}/return-label")
    await set_clock(shop, "2026-10-09T10:00:00Z")
    assert (await shop.ops_post(f"/withdrawals/{made['id']}/receive", {"deduction_minor": 0})).status_code == 200

    def body_of(subject_part: str):
        return smtp.wait_for_async(lambda m: m["To"] == email and subject_part in m["Subject"])

    received = " ".join((await body_of("Izjava o odustanku")).get_body(("plain",)).get_content().split())
    label = " ".join((await body_of("Return label")).get_body(("plain",)).get_content().split())
    refunded = await body_of("Refund")
    assert "Primili smo Vašu izjavu o odustanku" in received and "(RS-VII.6)" in received
    assert "vratite do 19. oktobar 2026. 11:00:00 CEST" in label  # the label of 5 Oct 11:00 local, 14 days on
    assert "We pay the return shipping (RS-VII.12)" in label
    assert refunded["Message-ID"]


async def test_a_kazakh_customer_is_told_in_russian_RS_VII_6(shop, smtp):
    await set_clock(shop, "2026-10-01T04:00:00Z")
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.shipped_order(customer, order_body("KZ"))
    await set_clock(shop, "2026-10-01T09:00:00Z")
    delivered = await shop.ops_post(f"/orders/{order['id']}/deliver", {"delivered_at": "2026-10-01T08:00:00Z"})
    assert delivered.status_code == 200, delivered.text
    await set_clock(shop, "2026-10-03T06:00:00Z")
    made = await withdraw(shop, customer, delivered.json())
    assert made.status_code == 201, made.text

    message = await smtp.wait_for_async(lambda m: m["To"] == email and "Заявление об отказе" in m["Subject"])
    body = " ".join(message.get_body(("plain",)).get_content().split())
    assert f"Мы получили Ваше заявление об отказе от договора по заказу {order['number']}" in body
    assert "(RS-VII.6)" in body and f"We received your statement of withdrawal from the contract for order {order['number']}" in body
