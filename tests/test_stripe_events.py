"""Stripe's events as a hostile sender holding the secret would send them (issue 16): a signature
dated in the future is refused like a stale one; a signed body that is not JSON, or an event of a
wrong shape, is a 400 naming what is wrong, never a 500 (Stripe retries every 5xx for days) and
never half-stored; a flagged payment never hides the correct one; and a payment Stripe recorded
after the 2-hour window is refunded at once, whenever its news comes (RS-V.1)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from shop.adapters.tables import OutboxEmail, table_of
from shop.services.expiry import expire_unpaid_orders
from tests import payment_support
from tests.payment_support import paid_minor, refunded_minor, select_all
from tests.ops_support import assert_refunded_at_stripe, events, set_clock, stock_of
from tests.support import event, sign

PLACED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
DUE = PLACED + timedelta(hours=2)


async def post_signed(shop, payload: bytes, *, timestamp: int | None = None):
    return await shop.http.post("/api/v1/webhooks/stripe", content=payload, headers={
        "Stripe-Signature": sign(payload, timestamp=timestamp), "Content-Type": "application/json"})


async def send(shop, event_type: str, obj: Any, *, created: datetime | int | None = None,
               event_id: str | None = None, **envelope: Any):
    body = event(event_type, obj, event_id=event_id)
    if created is not None:
        body["created"] = int(created.timestamp()) if isinstance(created, datetime) else created
    body.update(envelope)
    return await post_signed(shop, json.dumps(body).encode())


async def facts_of(shop, order_id: str) -> list[tuple[str, int | None, str | None, str | None]]:
    rows = await payment_support.facts_of(shop, order_id)
    return [(row.kind, row.amount_minor, row.currency, row.flagged) for row in rows]


def assert_problem(response, code: str, field: str | None = None) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert (body["code"], body.get("field")) == (code, field), body


# --- signatures --------------------------------------------------------------------------------------

async def test_signature_dated_beyond_the_tolerance_in_the_future_is_refused(shop):
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)
    payload = json.dumps(event("payment_intent.succeeded", intent)).encode()

    response = await post_signed(shop, payload, timestamp=int(time.time()) + 3600)

    assert_problem(response, "invalid_signature")
    assert (await shop.order(customer, order["id"]))["state"] == "awaiting_payment"
    # within the tolerance (Stripe's clock a minute ahead of ours) it still counts
    assert (await post_signed(shop, payload, timestamp=int(time.time()) + 60)).json()["result"] == "paid"


@pytest.mark.parametrize("payload", [
    b"this is not JSON",
    b'{"id": "evt_1", "type": "payment_intent.succeeded"',
    b'{"id": "evt_\xff\xfe", "type": "payment_intent.succeeded"}',  # not UTF-8
    b'{"id": "e", "type": "x", "created": 1800000000, "data": {"object": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
], ids=["text", "truncated", "not-utf-8", "nested-5000-deep"])
async def test_signed_body_that_is_not_json_is_invalid_payload_not_invalid_signature(shop, payload):
    assert_problem(await post_signed(shop, payload), "invalid_payload")


async def test_unsigned_body_that_is_not_utf_8_is_still_invalid_signature(shop):
    payload = b'{"id": "evt_\xff"}'
    response = await shop.http.post("/api/v1/webhooks/stripe", content=payload,
                                    headers={"Stripe-Signature": sign(payload, secret="whsec_someone_else")})
    assert_problem(response, "invalid_signature")


@pytest.mark.parametrize("payload", [b'{"id": "evt_1"}', b'{"id": "evt_\xff"}'], ids=["utf-8", "not-utf-8"])
async def test_a_signature_header_that_is_not_ascii_is_invalid_signature_not_a_500(shop, payload):
    """It answered 500 (the SDK's hmac.compare_digest raises TypeError on non-ASCII text), and
    Stripe retries every 5xx."""
    for header in (b"t=1700000000,v1=\xff\xfe", sign(payload).encode() + b",v1=\xc3\xa9"):
        response = await shop.http.post("/api/v1/webhooks/stripe", content=payload,
                                        headers={"Stripe-Signature": header, "Content-Type": "application/json"})
        assert_problem(response, "invalid_signature")


# --- events of a wrong shape -------------------------------------------------------------------------

WRONG_SHAPES = [  # (event type, what replaces part of the event's object, or of the event itself, field)
    ("payment_intent.succeeded", {"metadata": ["order"]}, "data.object.metadata"),
    ("payment_intent.succeeded", {"metadata": "order"}, "data.object.metadata"),
    ("payment_intent.succeeded", {"metadata": {"order_id": {"id": "x"}}}, "data.object.metadata.order_id"),
    ("payment_intent.succeeded", {"id": {"id": "pi_1"}}, "data.object.id"),
    ("payment_intent.succeeded", {"amount": "12abc", "amount_received": "12abc"}, "data.object.amount"),
    ("payment_intent.succeeded", {"amount": 1e23, "amount_received": 1e23}, "data.object.amount"),
    ("payment_intent.succeeded", {"amount_received": 2**64}, "data.object.amount_received"),
    ("payment_intent.succeeded", {"amount_received": -1}, "data.object.amount_received"),
    ("payment_intent.succeeded", {"currency": "lots"}, "data.object.currency"),
    ("payment_intent.payment_failed", {"last_payment_error": "declined"}, "data.object.last_payment_error"),
    ("payment_intent.payment_failed", {"amount": "lots"}, "data.object.amount"),
    ("payment_intent.succeeded", {"event.created": 99999999999999}, "created"),
    ("payment_intent.succeeded", {"event.created": -99999999999999}, "created"),
    ("payment_intent.succeeded", {"event.id": {"id": "evt_1"}}, "id"),
    ("payment_intent.succeeded", {"event.data": {"object": None, "previous": 1}}, "data.object"),
    ("charge.refunded", {"refunds": [{"id": "re_1"}]}, "data.object.refunds"),
    ("refund.updated", {"status": ["succeeded"]}, "data.object.status"),
    ("refund.updated", {"id": {"id": "re_1"}}, "data.object.id"),
    ("charge.refunded", {"refunds": {"data": [{"id": "re_1", "status": ["x"]}]}},
     "data.object.refunds.data[0].status"),
]


@pytest.mark.parametrize(("event_type", "change", "field"), WRONG_SHAPES,
                         ids=[f"{kind}:{field}" for kind, _, field in WRONG_SHAPES])
async def test_signed_event_of_a_wrong_shape_is_a_400_naming_the_field_and_stores_nothing(
        shop, event_type, change, field):
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)
    obj = {"id": "re_1", "object": "refund", "status": "succeeded"} if event_type.startswith("refund") else (
        {"id": "ch_1", "object": "charge", "payment_intent": intent["id"]} if event_type.startswith("charge")
        else intent)
    obj = {**obj, **{key: value for key, value in change.items() if not key.startswith("event.")}}
    envelope = {key.removeprefix("event."): value for key, value in change.items() if key.startswith("event.")}
    before = await facts_of(shop, order["id"])

    response = await send(shop, event_type, obj, **envelope)

    assert_problem(response, "invalid_event", field)
    assert (await shop.order(customer, order["id"]))["state"] == "awaiting_payment"
    assert await facts_of(shop, order["id"]) == before


async def test_a_failed_payment_of_a_wrong_amount_type_is_never_stored_nor_shown(shop):
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order, card="4000000000000341")
    before = await facts_of(shop, order["id"])

    refused = await send(shop, "payment_intent.payment_failed", {**intent, "amount": "lots"})

    assert_problem(refused, "invalid_event", "data.object.amount")
    assert await facts_of(shop, order["id"]) == before
    staff_view = (await shop.http.get(f"/api/v1/ops/orders/{order['id']}", headers=await shop.ops())).json()
    assert all(fact["kind"] != "payment_intent.payment_failed" for fact in staff_view["ledger"]["facts"])


async def test_event_of_a_type_the_shop_does_not_read_is_acknowledged_whatever_its_object(shop):
    for obj in ([1, 2, 3], "text", {"metadata": ["x"], "amount": "lots"}):
        response = await send(shop, "customer.subscription.updated", obj)
        assert (response.status_code, response.json()) == (200, {"received": True, "result": "ignored"})


@pytest.mark.parametrize("event_type", ["payment_intent.succeeded", "payment_intent.payment_failed",
                                        "payment_intent.canceled", "charge.refunded", "refund.created",
                                        "refund.updated", "refund.failed", "charge.refund.updated"])
def test_every_event_type_the_shop_handles_is_read_into_a_typed_object(event_type):
    from shop.adapters.stripe_events import EVENT_OBJECTS, read_event
    from shop.domain.payment_events import APPLIED
    from shop.web.stripe_webhook import HANDLERS

    assert set(HANDLERS) == set(APPLIED) and event_type in EVENT_OBJECTS
    obj = {"id": "re_1" if event_type.startswith("refund") else "ch_1" if event_type.startswith("charge") else "pi_1"}
    assert type(read_event(json.dumps(event(event_type, obj)).encode())) in HANDLERS


# --- a flagged payment and the correct one -----------------------------------------------------------

async def test_flagged_payment_does_not_make_the_correct_event_of_the_intent_a_duplicate(shop):
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)
    total = order["total"]["amount_minor"]
    short = {**intent, "amount": total - 100, "amount_received": total - 100}

    flagged = await shop.send_event("payment_intent.succeeded", short, event_id="evt_short")
    again = await shop.send_event("payment_intent.succeeded", short, event_id="evt_short")
    correct = await shop.send_event("payment_intent.succeeded", intent, event_id="evt_correct")
    second = await shop.send_event("payment_intent.succeeded", intent, event_id="evt_correct_again")

    assert [r.json()["result"] for r in (flagged, again, correct, second)] == [
        "flagged", "duplicate", "paid", "duplicate"]
    after = await shop.order(customer, order["id"])
    assert after["state"] == "paid" and events(after) == ["place", "pay"]
    succeeded = [fact for fact in await facts_of(shop, order["id"]) if fact[0] == "payment_intent.succeeded"]
    assert [(amount, flag is not None) for _, amount, _, flag in succeeded] == [(total - 100, True), (total, False)]
    assert await paid_minor(shop, order["id"]) == total


# --- RS-V.1: when Stripe recorded the payment decides, not when the expiry job ran ------------------

async def place_and_pay_at_stripe(shop) -> tuple[dict[str, str], dict, dict]:
    await set_clock(shop, PLACED.isoformat())
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)
    return customer, order, intent


async def test_payment_recorded_a_second_before_the_deadline_arriving_after_it_pays_RS_V_1(shop):
    customer, order, intent = await place_and_pay_at_stripe(shop)
    await set_clock(shop, (DUE + timedelta(minutes=10)).isoformat())  # the news is late; the job has not run

    response = await send(shop, "payment_intent.succeeded", intent, created=DUE - timedelta(seconds=1))

    assert response.json()["result"] == "paid"
    paid = await shop.order(customer, order["id"])
    assert paid["state"] == "paid" and events(paid) == ["place", "pay"] and paid["refunds"] == []
    assert (await expire_unpaid_orders(shop.ctx, DUE + timedelta(minutes=11))).cancelled == []


async def test_payment_recorded_a_second_after_the_deadline_is_refunded_at_once_before_the_job_RS_V_1(shop):
    customer, order, intent = await place_and_pay_at_stripe(shop)
    sku = order["lines"][0]["sku"]
    reserved = (await stock_of(shop, sku))[1]
    await set_clock(shop, (DUE + timedelta(minutes=10)).isoformat())  # before `make expire-payments` ran

    response = await send(shop, "payment_intent.succeeded", intent, created=DUE + timedelta(seconds=1),
                          event_id=f"evt_late_{order['id']}")

    assert response.json()["result"] == "refunded"
    cancelled = await shop.order(customer, order["id"])
    assert cancelled["state"] == "cancelled" and events(cancelled) == ["place", "refund_late_payment"]
    assert [line["state"] for line in cancelled["lines"]] == ["cancelled"]
    entry = cancelled["timeline"][-1]
    assert (entry["from_state"], entry["actor"], entry["clause"], entry["reason"]) == (
        "awaiting_payment", "stripe", "RS-V.1",
        "paid at 2026-11-20T10:00:01Z, after the window that closed at 2026-11-20T10:00:00Z")
    assert cancelled["refunds"][0]["clause"] == "RS-V.1"
    await assert_refunded_at_stripe(shop, cancelled, order["total"]["amount_minor"])
    assert (await stock_of(shop, sku))[1] == reserved - order["lines"][0]["quantity"]
    assert await paid_minor(shop, order["id"]) == await refunded_minor(shop, order["id"]) > 0
    emails = table_of(OutboxEmail)
    mails = [row.subject for row in await select_all(shop, select(emails.c.subject).where(
        emails.c.order_id == order["id"], emails.c.kind == "order_cancelled"))]
    assert mails == [f"Porudžbina {order['number']} je otkazana / Order {order['number']} cancelled"]

    # Stripe delivers it again, and the job runs late: nothing more happens
    again = await send(shop, "payment_intent.succeeded", intent, created=DUE + timedelta(seconds=1),
                       event_id=f"evt_late_{order['id']}")
    assert again.json()["result"] == "duplicate"
    assert (await expire_unpaid_orders(shop.ctx, DUE + timedelta(minutes=11))).cancelled == []
    assert len((await shop.order(customer, order["id"]))["refunds"]) == 1
