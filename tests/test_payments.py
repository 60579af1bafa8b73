"""Stripe's webhook (STOREFRONT-API.md, Stripe; RS-V.1, RS-III.4): only signed events count, each
is applied once, a failure or a wrong amount never pays an order, money for a cancelled order goes
back, and the payment window is two hours on the clock (T-4)."""

from __future__ import annotations

import json
import time

import pytest

from tests.ops_support import assert_refunded_at_stripe, deadline, events, set_clock
from tests.support import event, sign

DECLINED_CARD = "4000000000000341"


async def post_raw(shop, payload: bytes, headers: dict[str, str]):
    return await shop.http.post("/api/v1/webhooks/stripe", content=payload,
                                headers={"Content-Type": "application/json", **headers})


@pytest.mark.parametrize("signature", [
    None,
    "t=1700000000,v1=deadbeef",
    "wrong secret",
    "too old",
    "too new",
], ids=["missing", "garbage", "wrong-secret", "outside-tolerance", "beyond-tolerance-in-the-future"])
async def test_webhook_with_bad_signature_is_refused_and_changes_nothing(shop, signature):
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)
    payload = json.dumps(event("payment_intent.succeeded", intent)).encode()
    headers = {
        None: {},
        "wrong secret": {"Stripe-Signature": sign(payload, secret="whsec_someone_else")},
        "too old": {"Stripe-Signature": sign(payload, timestamp=int(time.time()) - 3600)},
        "too new": {"Stripe-Signature": sign(payload, timestamp=int(time.time()) + 3600)},
    }.get(signature, {"Stripe-Signature": signature})

    response = await post_raw(shop, payload, headers)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    after = await shop.order(customer, order["id"])
    assert after["state"] == "awaiting_payment" and events(after) == ["place"]


async def test_same_event_delivered_twice_is_applied_once(shop):
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)

    first = await shop.send_event("payment_intent.succeeded", intent, event_id="evt_twice")
    second = await shop.send_event("payment_intent.succeeded", intent, event_id="evt_twice")

    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["result"], second.json()["result"]) == ("paid", "duplicate")
    after = await shop.order(customer, order["id"])
    assert after["state"] == "paid" and events(after) == ["place", "pay"]


async def test_unknown_event_type_is_acknowledged_and_ignored(shop):
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)

    response = await shop.send_event("payment_intent.amount_capturable_updated", intent)

    assert response.status_code == 200 and response.json()["result"] == "ignored"
    assert (await shop.order(customer, order["id"]))["state"] == "awaiting_payment"


async def test_failed_payment_keeps_the_order_payable_with_the_reason_RS_V_1(shop):
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order, card=DECLINED_CARD)
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["code"] == "card_declined"

    response = await shop.send_event("payment_intent.payment_failed", intent)

    assert response.status_code == 200
    after = await shop.order(customer, order["id"])
    assert after["state"] == "awaiting_payment" and after["payment_due_at"] == order["payment_due_at"]
    failed = after["timeline"][-1]
    assert (failed["event"], failed["from_state"], failed["to_state"], failed["actor"]) == (
        "payment_failed", "awaiting_payment", "awaiting_payment", "stripe")
    error = intent["last_payment_error"]
    assert failed["reason"] == (error.get("message") or error["code"])


async def test_payment_for_a_different_amount_is_not_applied(shop):
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)
    short = {**intent, "amount": intent["amount"] - 100, "amount_received": intent["amount"] - 100}

    response = await shop.send_event("payment_intent.succeeded", short)

    assert response.status_code == 200 and response.json()["result"] == "flagged"
    after = await shop.order(customer, order["id"])
    assert after["state"] == "awaiting_payment" and events(after) == ["place"]
    assert "ledger" not in after  # the customer's view

    staff_view = (await shop.http.get(f"/api/v1/ops/orders/{order['id']}", headers=await shop.ops())).json()
    money = staff_view["ledger"]
    assert (money["paid"]["amount_minor"], money["refunded"]["amount_minor"]) == (0, 0)
    flagged = [fact for fact in money["facts"] if fact["flagged"]]
    assert [(fact["kind"], fact["amount"]["amount_minor"], fact["payment_intent_id"]) for fact in flagged] == [
        ("payment_intent.succeeded", intent["amount"] - 100, intent["id"])]
    assert flagged[0]["flagged"].startswith("amount_mismatch: got ")
    listed = await shop.http.get("/api/v1/ops/payments/flagged", headers=await shop.ops())
    assert flagged[0] in listed.json()["facts"]


async def test_staff_page_through_the_flagged_payments_newest_first(shop):
    customer = await shop.customer()
    stray = []
    for _ in range(3):  # paid at Stripe for no order the shop knows
        intent = await shop.pay_at_stripe(await shop.place(await shop.customer()))
        stray.append({**intent, "id": f"{intent['id']}_stray", "metadata": {}})
        assert (await shop.send_event("payment_intent.succeeded", stray[-1])).json()["result"] == "flagged"
    ops = await shop.ops()

    first = (await shop.http.get("/api/v1/ops/payments/flagged?limit=2", headers=ops)).json()
    second = (await shop.http.get(f"/api/v1/ops/payments/flagged?limit=2&before={first['next_before']}",
                                  headers=ops)).json()

    newest = [fact["payment_intent_id"] for fact in first["facts"] + second["facts"][:1]]
    assert newest == [intent["id"] for intent in reversed(stray)]
    assert all(fact["order_id"] is None and fact["flagged"] == "unknown_order" for fact in first["facts"])
    refused = await shop.http.get("/api/v1/ops/payments/flagged?limit=0", headers=ops)
    assert (refused.status_code, refused.json()["field"]) == (400, "limit")
    assert (await shop.http.get("/api/v1/ops/payments/flagged", headers=customer)).status_code == 403


async def test_payment_arriving_for_a_cancelled_order_is_refunded_automatically_RS_IV_5(shop):
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)  # paid at Stripe, the news not yet at the shop
    cancel = await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer)
    assert cancel.json()["state"] == "cancelled" and cancel.json()["refunds"] == []

    response = await shop.send_event("payment_intent.succeeded", intent)

    assert response.status_code == 200 and response.json()["result"] == "refunded"
    after = await shop.order(customer, order["id"])
    assert after["state"] == "cancelled" and "pay" not in events(after)
    await assert_refunded_at_stripe(shop, after, order["total"]["amount_minor"])


@pytest.mark.parametrize(("placed_at", "due_at"), [
    ("2026-11-20T08:00:00Z", "2026-11-20T10:00:00Z"),
    ("2026-12-31T22:59:59Z", "2027-01-01T00:59:59Z"),   # into a new year and a holiday
    ("2027-03-28T00:30:00Z", "2027-03-28T02:30:00Z"),   # across the switch to summer time in Belgrade
])
async def test_payment_is_due_two_hours_after_placing_to_the_second_RS_V_1_T_4(shop, placed_at, due_at):
    await set_clock(shop, placed_at)

    order = await shop.place(await shop.customer())

    assert (order["placed_at"], order["payment_due_at"]) == (placed_at, due_at)
    assert deadline(order, "payment_due") == {"name": "payment_due", "due_at": due_at, "clause": "RS-V.1"}


# --- the endpoint itself (shop/web/stripe_webhook.py: a bare ASGI handler) -------------------------


async def test_an_event_sent_in_chunks_is_read_whole_and_applied(shop):
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)
    payload = json.dumps(event("payment_intent.succeeded", intent)).encode()

    async def chunks():  # httpx sends an iterator with Transfer-Encoding: chunked
        for start in range(0, len(payload), 100):
            yield payload[start:start + 100]

    response = await shop.http.post("/api/v1/webhooks/stripe", content=chunks(), headers={
        "Stripe-Signature": sign(payload), "Content-Type": "application/json"})

    assert (response.status_code, response.json()) == (200, {"received": True, "result": "paid"})
    assert response.headers["content-type"] == "application/json"
    assert (await shop.order(customer, order["id"]))["state"] == "paid"


async def test_a_body_larger_than_any_stripe_event_is_a_413_problem(shop):
    payload = b'{"id": "' + b"x" * (1024 * 1024) + b'"}'

    response = await post_raw(shop, payload, {"Stripe-Signature": sign(payload)})

    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_only_post_reaches_the_webhook(shop, method):
    response = await shop.http.request(method, "/api/v1/webhooks/stripe")

    assert response.status_code == 405, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "method_not_allowed"


async def test_a_sender_that_goes_away_mid_body_gets_a_client_error_not_a_500():
    """uvicorn reports a closed connection as `http.disconnect`; a test client cannot close one
    mid-body, so the reader gets the ASGI messages uvicorn would send."""
    from litestar.exceptions import ClientException

    from shop.web.stripe_webhook import _body

    messages = iter([{"type": "http.request", "body": b'{"id": ', "more_body": True}, {"type": "http.disconnect"}])

    async def receive():
        return next(messages)

    with pytest.raises(ClientException):
        await _body(receive)
