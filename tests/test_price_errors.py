"""Price errors (RS-III.2): the rule on its own (the 20 % decided for "materially lower", a promotion
never an error, what a correction may refund), then through the API on SQLite and PostgreSQL with
localstripe as Stripe and the real SMTP server: the seller's cancellation of an order placed at an
obvious price error, and the refund of the difference for a line charged above its correct price."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from shop.domain.errors import Conflict, InvalidInput
from shop.domain.price_errors import (
    CorrectPrice, MarketPrice, check_corrections, check_price_error, highest_material_price, materially_lower,
)
from tests.ops_support import assert_refunded_at_stripe, set_clock, stock_of, stripe_refund
from tests.support import order_body
from tests.test_checkout import refusal
from tests.test_order_messages import message_to
from tests.test_withdrawals import delivered_order, withdraw

PHONE, CHARGER = "rs-15t-12-256", "rs-charger-67w"
PHONE_PRICE, CHARGER_PRICE = 8_999_900, 349_900  # the demo catalogue's, RSD minor units
AT_THE_BOUNDARY = 11_249_875  # PHONE_PRICE × 100 / 80: the phone charged exactly 20 % below it
STOCK = 50


def line(line_id: int = 1, price: int = 100_000, quantity: int = 1, state: str = "confirmed",
         corrected: int = 0) -> SimpleNamespace:
    return SimpleNamespace(id=line_id, sku=f"sku-{line_id}", unit_price_minor=price, quantity=quantity, state=state,
                           price_corrected_minor=corrected)


# --- the rule ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("charged", "market", "material"), [
    (80_000, 100_000, True),  # exactly 20 % below: material
    (80_000, 99_999, False),  # a minor unit less of a gap: not
    (79_999, 99_999, True),
    (1, 2, True),
    (100_000, 100_000, False),
    (PHONE_PRICE, AT_THE_BOUNDARY, True),
    (PHONE_PRICE, AT_THE_BOUNDARY - 1, False),
])
def test_materially_lower_is_at_least_20_percent_below_the_market_price_RS_III_2(charged, market, material):
    assert materially_lower(charged, market) is material
    assert materially_lower(highest_material_price(market), market)
    assert not materially_lower(highest_material_price(market) + 1, market)


def test_a_promotions_price_is_no_price_error_RS_III_2():
    with pytest.raises(Conflict) as refused:
        check_price_error(coupon_code="BLACKFRIDAY", lines=[line(price=10)], evidence=[MarketPrice(1, 100_000)])
    error = refused.value
    assert (error.code, error.clause, error.field, error.status) == ("promotion_price", "RS-III.2", "coupon_code", 409)
    assert check_price_error(coupon_code=None, lines=[line(price=10)], evidence=[MarketPrice(1, 100_000)])


@pytest.mark.parametrize(("evidence", "code", "field"), [
    ([], "no_lines", "lines"),
    ([MarketPrice(9, 200_000)], "unknown_line", "lines[0].line_id"),
    ([MarketPrice(1, 200_000), MarketPrice(1, 200_000)], "line_named_twice", "lines[1].line_id"),
    ([MarketPrice(1, 0)], "invalid_market_price", "lines[0].market_price_minor"),
    ([MarketPrice(2, 200_000), MarketPrice(1, 124_999)], "price_not_materially_lower", "lines[1].market_price_minor"),
])
def test_a_price_error_names_lines_of_the_order_each_materially_below_its_market_price_RS_III_2(
        evidence, code, field):
    with pytest.raises(InvalidInput) as refused:
        check_price_error(coupon_code=None, lines=[line(1), line(2)], evidence=evidence)
    assert (refused.value.code, refused.value.field, refused.value.clause) == (code, field, "RS-III.2")


def test_a_line_left_out_of_the_order_is_no_evidence_RS_III_2():
    with pytest.raises(Conflict) as refused:
        check_price_error(coupon_code=None, lines=[line(1, state="cancelled")], evidence=[MarketPrice(1, 200_000)])
    assert (refused.value.code, refused.value.field) == ("line_not_in_contract", "lines[0].line_id")


def test_a_correction_refunds_the_difference_and_only_the_rest_of_it_the_second_time_RS_III_2():
    [first] = check_corrections(order_state="confirmed", lines=[line(price=100_000, quantity=2)],
                                corrections=[CorrectPrice(1, 90_000)])
    assert (first.refund_minor, first.corrected_minor) == (20_000, 20_000)
    [second] = check_corrections(order_state="delivered", lines=[line(price=100_000, quantity=2, corrected=20_000)],
                                 corrections=[CorrectPrice(1, 0)])
    assert (second.refund_minor, second.corrected_minor) == (180_000, 200_000)  # in all: the line's price


@pytest.mark.parametrize(("state", "correct", "corrected", "error", "code"), [
    ("confirmed", 100_000, 0, InvalidInput, "correct_price_not_lower"),
    ("confirmed", 100_001, 0, InvalidInput, "correct_price_not_lower"),
    ("confirmed", 90_000, 20_000, Conflict, "price_already_corrected"),  # the same correction again
    ("confirmed", 95_000, 20_000, Conflict, "price_already_corrected"),
    ("confirmed", -1, 20_000, InvalidInput, "correction_exceeds_line_price"),
])
def test_no_correction_refunds_nothing_or_more_than_the_line_price_in_all_RS_III_2(state, correct, corrected, error,
                                                                                    code):
    with pytest.raises(error) as refused:
        check_corrections(order_state=state, lines=[line(price=100_000, quantity=2, corrected=corrected)],
                          corrections=[CorrectPrice(1, correct)])
    assert (refused.value.code, refused.value.clause, refused.value.field) == (
        code, "RS-III.2", "lines[0].correct_unit_price_minor")


@pytest.mark.parametrize("state", ["awaiting_payment", "awaiting_installment_approval", "cancelled", "withdrawn"])
def test_only_a_paid_order_that_stands_is_corrected_RS_III_2(state):
    with pytest.raises(Conflict) as refused:
        check_corrections(order_state=state, lines=[line()], corrections=[CorrectPrice(1, 1)])
    assert (refused.value.code, refused.value.clause) == ("order_not_paid", "RS-III.2")


@pytest.mark.parametrize("line_state", ["cancelled", "withdrawn"])
def test_a_line_not_kept_is_not_corrected_RS_III_2(line_state):
    with pytest.raises(Conflict) as refused:
        check_corrections(order_state="delivered", lines=[line(state=line_state)], corrections=[CorrectPrice(1, 1)])
    assert (refused.value.code, refused.value.field) == ("line_not_kept", "lines[0].line_id")


# --- the seller cancels for an obvious price error, through the API -----------------------------------------

def evidence(order: dict[str, Any], market_price_minor: int, sku: str = PHONE) -> dict[str, Any]:
    [found] = [item for item in order["lines"] if item["sku"] == sku]
    return {"reason": "the phone was listed at the charger's price for an hour",
            "lines": [{"line_id": found["id"], "market_price_minor": market_price_minor}]}


async def test_the_seller_cancels_an_order_at_an_obvious_price_error_refunds_it_in_full_and_e_mails_RS_III_2(
        shop, smtp):
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.paid_order(customer, order_body(lines=[(PHONE, 1), (CHARGER, 1)]))
    assert await stock_of(shop, PHONE) == (STOCK, 1)

    response = await shop.ops_post(f"/orders/{order['id']}/price-error", evidence(order, AT_THE_BOUNDARY))

    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["state"] == "cancelled"
    last = cancelled["timeline"][-1]
    assert (last["event"], last["clause"], last["actor"].split(":")[0]) == ("price_error", "RS-III.2", "ops")
    assert last["reason"].startswith("the phone was listed at the charger's price for an hour")
    assert f"charged {PHONE_PRICE}, market {AT_THE_BOUNDARY} RSD" in last["reason"]
    market_prices = {item["sku"]: item["market_price"] for item in cancelled["lines"]}
    assert market_prices == {PHONE: {"amount_minor": AT_THE_BOUNDARY, "currency": "RSD"}, CHARGER: None}
    await assert_refunded_at_stripe(shop, cancelled, order["total"]["amount_minor"])
    [refund] = cancelled["refunds"]
    assert (refund["clause"], refund["reason"]) == ("RS-III.2", evidence(order, 0)["reason"])
    assert await stock_of(shop, PHONE) == (STOCK, 0) and await stock_of(shop, CHARGER) == (STOCK, 0)
    message, body = await message_to(smtp, email, f"Order {order['number']} cancelled")
    assert "otkazana: porudžbina je napravljena po očigledno pogrešnoj ceni (RS-III.2)" in body
    assert "cancelled: the order was placed at an obviously wrong price (RS-III.2)" in body


async def test_a_confirmed_order_cancelled_for_a_price_error_gets_its_credit_note_RS_III_2_RS_IV_10(shop):
    customer = await shop.customer()
    order = await shop.confirmed_order(customer)

    response = await shop.ops_post(f"/orders/{order['id']}/price-error", evidence(order, 2 * PHONE_PRICE))

    cancelled = response.json()
    assert cancelled["state"] == "cancelled", response.text
    issued, note = cancelled["invoices"]
    [refund] = cancelled["refunds"]
    assert (note["kind"], note["corrects"], note["refund_id"]) == ("credit_note", issued["number"], refund["id"])
    assert note["total"] == refund["amount"] == issued["total"]


@pytest.mark.parametrize("stage", ["shipped", "delivered"])
async def test_no_cancellation_for_a_price_error_once_delivery_has_started_RS_III_2(shop, stage):
    if stage == "shipped":
        customer = await shop.customer()
        order = await shop.shipped_order(customer)
    else:
        customer, order = await delivered_order(shop)

    response = await shop.ops_post(f"/orders/{order['id']}/price-error", evidence(order, 2 * PHONE_PRICE))

    refusal(response, 409, code="price_error_not_allowed", clause="RS-III.2")
    assert (await shop.order(customer, order["id"]))["state"] == stage


async def test_a_price_not_materially_lower_than_the_market_price_is_honoured_RS_III_2(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)

    response = await shop.ops_post(f"/orders/{order['id']}/price-error", evidence(order, AT_THE_BOUNDARY - 1))

    body = refusal(response, 422, code="price_not_materially_lower", clause="RS-III.2",
                   field="lines[0].market_price_minor")
    assert "not at least 20 % below" in body["detail"]
    view = await shop.order(customer, order["id"])
    assert view["state"] == "paid" and view["refunds"] == []
    assert view["lines"][0]["market_price"] is None


async def test_only_staff_cancel_for_a_price_error_or_correct_a_price_RS_III_2(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    line_id = order["lines"][0]["id"]

    cancel = await shop.http.post(f"/api/v1/ops/orders/{order['id']}/price-error", headers=customer,
                                  json=evidence(order, 2 * PHONE_PRICE))
    correct = await shop.http.post(f"/api/v1/ops/orders/{order['id']}/price-corrections", headers=customer,
                                   json={"reason": "x", "lines": [{"line_id": line_id, "correct_unit_price_minor": 1}]})
    anonymous = await shop.http.post(f"/api/v1/ops/orders/{order['id']}/price-error",
                                     json=evidence(order, 2 * PHONE_PRICE))

    refusal(cancel, 403, code="forbidden")
    refusal(correct, 403, code="forbidden")
    refusal(anonymous, 401)
    assert (await shop.order(customer, order["id"]))["state"] == "paid"


@pytest.mark.parametrize(("body", "field"), [
    ({"reason": "  ", "lines": [{"line_id": "LINE", "market_price_minor": 2 * PHONE_PRICE}]}, "reason"),
    ({"reason": "r", "lines": []}, "lines"),
    ({"reason": "r", "lines": [{"line_id": "LINE", "market_price_minor": 0}]}, "lines[0].market_price_minor"),
    ({"reason": "r", "lines": [{"line_id": "LINE", "market_price_minor": -5}]}, "lines[0].market_price_minor"),
    ({"reason": "r", "lines": [{"line_id": 2_000_000_000, "market_price_minor": 1}]}, "lines[0].line_id"),
    ({"reason": "r", "lines": [{"line_id": "LINE", "market_price_minor": 2 * PHONE_PRICE}] * 2}, "lines[1].line_id"),
])
async def test_a_price_error_body_that_cannot_be_judged_is_a_422_naming_the_field_RS_III_2(shop, body, field):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    body = {**body, "lines": [{**item, "line_id": order["lines"][0]["id"]} if item["line_id"] == "LINE" else item
                              for item in body["lines"]]}

    response = await shop.ops_post(f"/orders/{order['id']}/price-error", body)

    refusal(response, 422, clause="RS-III.2", field=field)
    assert (await shop.order(customer, order["id"]))["state"] == "paid"


@pytest.mark.parametrize(("path", "body", "field"), [
    ("price-error", {"reason": "r"}, "lines"),
    ("price-error", {"reason": "r", "lines": [{"line_id": 1, "market_price_minor": "9"}]},
     "lines[0].market_price_minor"),
    ("price-corrections", {"lines": []}, "reason"),
    ("price-corrections", {"reason": "r", "lines": [{"line_id": 1, "correct_unit_price_minor": 1.5}]},
     "lines[0].correct_unit_price_minor"),
    ("price-corrections", {"reason": "r" * 201, "lines": []}, "reason"),
])
async def test_a_malformed_body_is_refused_naming_the_field(shop, path, body, field):
    """What the body's types refuse is the shop's `validation_error` (400), as on every route."""
    customer = await shop.customer()
    order = await shop.paid_order(customer)

    response = await shop.ops_post(f"/orders/{order['id']}/{path}", body)

    refusal(response, 400, code="validation_error", field=field)


# --- the difference refunded for a line charged too high, through the API ------------------------------------

def correction(order: dict[str, Any], correct_unit_price_minor: int, sku: str = PHONE,
               reason: str = "the 15T was listed above the recommended retail price") -> dict[str, Any]:
    [found] = [item for item in order["lines"] if item["sku"] == sku]
    return {"reason": reason, "lines": [{"line_id": found["id"], "correct_unit_price_minor": correct_unit_price_minor}]}


async def correct(shop, order: dict[str, Any], body: dict[str, Any], **headers: str) -> Any:
    return await shop.http.post(f"/api/v1/ops/orders/{order['id']}/price-corrections", json=body,
                                headers={**await shop.ops(), **headers})


async def test_a_price_correction_refunds_the_difference_with_a_credit_note_of_the_invoice_RS_III_2_RS_IV_10(
        shop, smtp):
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.confirmed_order(customer, order_body(lines=[(PHONE, 2), (CHARGER, 1)]))

    response = await correct(shop, order, correction(order, 7_999_900))

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["state"] == "confirmed"
    await assert_refunded_at_stripe(shop, view, 2 * 1_000_000)  # (89 999 − 79 999) RSD × 2
    [refund] = view["refunds"]
    assert (refund["clause"], refund["reason"]) == (
        "RS-III.2", "price corrected: the 15T was listed above the recommended retail price")
    issued, note = view["invoices"]
    assert (note["kind"], note["corrects"], note["refund_id"]) == ("credit_note", issued["number"], refund["id"])
    assert note["total"] == refund["amount"]
    assert refund["corrected_invoice"] == {"id": note["id"], "number": note["number"]}
    corrected = {item["sku"]: item["price_corrected"]["amount_minor"] for item in view["lines"]}
    assert corrected == {PHONE: 2_000_000, CHARGER: 0}
    message, body = await message_to(smtp, email, f"Price corrected for order {order['number']}")
    assert message["Subject"].startswith(f"Ispravka cene za porudžbinu {order['number']} / ")
    assert "2 × Xiaomi 15T 12GB/256GB: charged" in body and "(RS-III.2)" in body
    assert "cancel the order until we tell you that delivery has started (RS-IV.5)" in body


async def test_a_second_correction_refunds_only_the_rest_never_more_than_the_line_price_RS_III_2(shop):
    customer, order = await delivered_order(shop, [(CHARGER, 2)])
    await set_clock(shop, "2026-10-05T09:00:00Z")

    first = await correct(shop, order, correction(order, 299_900, CHARGER))
    again = await correct(shop, order, correction(order, 299_900, CHARGER))
    higher = await correct(shop, order, correction(order, 320_000, CHARGER))
    below_nothing = await correct(shop, order, correction(order, -1, CHARGER))
    rest = await correct(shop, order, correction(order, 0, CHARGER))
    beyond = await correct(shop, order, correction(order, 0, CHARGER))

    assert first.status_code == 200, first.text
    refusal(again, 409, code="price_already_corrected", clause="RS-III.2", field="lines[0].correct_unit_price_minor")
    refusal(higher, 409, code="price_already_corrected", clause="RS-III.2")
    refusal(below_nothing, 422, code="correction_exceeds_line_price", clause="RS-III.2",
            field="lines[0].correct_unit_price_minor")
    assert rest.status_code == 200, rest.text
    refusal(beyond, 409, code="price_already_corrected", clause="RS-III.2")
    view = await shop.order(customer, order["id"])
    amounts = [item["amount"]["amount_minor"] for item in view["refunds"]]
    assert sorted(amounts) == sorted([2 * 50_000, 2 * 299_900])
    assert sum(amounts) == 2 * CHARGER_PRICE == view["lines"][0]["price_corrected"]["amount_minor"]
    for item in view["refunds"]:
        assert (await stripe_refund(shop, item)).status == "succeeded"


async def test_a_line_corrected_then_withdrawn_is_refunded_what_the_customer_paid_for_it_RS_III_2_RS_VII_10(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")
    assert (await correct(shop, order, correction(order, 299_900, CHARGER))).status_code == 200

    made = (await withdraw(shop, customer, order, CHARGER)).json()
    await shop.ops_post(f"/withdrawals/{made['id']}/return-label")
    received = await shop.ops_post(f"/withdrawals/{made['id']}/receive", {"deduction_minor": 0})

    assert received.status_code == 200, received.text
    view = await shop.order(customer, order["id"])
    assert sorted(item["amount"]["amount_minor"] for item in view["refunds"]) == [50_000, 299_900]


@pytest.mark.parametrize("stage", ["awaiting_payment", "cancelled"])
async def test_an_order_not_paid_or_cancelled_has_no_price_to_correct_RS_III_2(shop, stage):
    customer = await shop.customer()
    order = await shop.place(customer)
    if stage == "cancelled":
        assert (await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer)).status_code == 200

    response = await correct(shop, order, correction(order, 1))

    refusal(response, 409, code="order_not_paid", clause="RS-III.2")


async def test_a_correction_names_a_line_the_customer_keeps_at_a_lower_price_RS_III_2(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer, order_body(lines=[(PHONE, 1), (CHARGER, 1)]))
    [phone] = [item for item in order["lines"] if item["sku"] == PHONE]
    [charger] = [item for item in order["lines"] if item["sku"] == CHARGER]
    await shop.ops_post(f"/orders/{order['id']}/confirm", {"lines": [
        {"line_id": phone["id"], "available": True}, {"line_id": charger["id"], "available": False}]})

    not_lower = await correct(shop, order, correction(order, PHONE_PRICE))
    left_out = await correct(shop, order, correction(order, 1, CHARGER))
    unknown = await correct(shop, order, {"reason": "r", "lines": [{"line_id": 2_000_000_000,
                                                                    "correct_unit_price_minor": 1}]})
    blank = await correct(shop, order, correction(order, 1, reason=" "))
    nothing = await correct(shop, order, {"reason": "r", "lines": []})

    refusal(not_lower, 422, code="correct_price_not_lower", clause="RS-III.2",
            field="lines[0].correct_unit_price_minor")
    refusal(left_out, 409, code="line_not_kept", clause="RS-III.2", field="lines[0].line_id")
    refusal(unknown, 422, code="unknown_line", clause="RS-III.2", field="lines[0].line_id")
    refusal(blank, 422, code="reason_missing", clause="RS-III.2", field="reason")
    refusal(nothing, 422, code="no_lines", clause="RS-III.2", field="lines")
    view = await shop.order(customer, order["id"])
    assert [item["clause"] for item in view["refunds"]] == ["RS-IV.6"]  # the charger left out, nothing else


async def test_a_correction_with_an_idempotency_key_refunds_once_RS_III_2(shop):
    customer = await shop.customer()
    order = await shop.confirmed_order(customer)
    body = correction(order, 8_499_900)

    first = await correct(shop, order, body, **{"Idempotency-Key": "call-42"})
    replay = await correct(shop, order, body, **{"Idempotency-Key": "call-42"})
    other = await correct(shop, order, correction(order, 8_000_000), **{"Idempotency-Key": "call-42"})

    assert (first.status_code, replay.status_code) == (200, 200), replay.text
    assert replay.json()["refunds"] == first.json()["refunds"]
    refusal(other, 409, code="idempotency_key_reused")
    view = await shop.order(customer, order["id"])
    await assert_refunded_at_stripe(shop, view, 500_000)

