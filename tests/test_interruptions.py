"""Announced technical interruptions (RS-IV.4): the rules on their own, then through the API on both
databases. While a market's interruption is in effect its new orders are refused with a clear
message and `Retry-After` (nothing written, an Idempotency-Key left free); orders already placed go
on (paid, cancelled, confirmed), quotes are answered, another market orders as before; the
storefront reads what to show, staff announce, call off and end."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shop.domain.errors import Conflict, InvalidInput
from shop.domain.interruptions import (
    LONGEST_INTERRUPTION, InterruptionStatus, OrdersInterrupted, check_announcement, refuse_new_orders, status_at,
)
from shop.domain.markets import Market
from tests.ops_support import set_clock
from tests.support import order_body
from tests.test_order_list import next_page


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


NOW = at("2026-11-10T08:00:00Z")
START, END = at("2026-11-10T09:00:00Z"), at("2026-11-10T11:00:00Z")


# --- the rules ------------------------------------------------------------------------------------------

def test_an_interruption_begins_no_earlier_than_announced_and_ends_within_a_day_RS_IV_4():
    check_announcement(NOW, NOW + LONGEST_INTERRUPTION, NOW, overlapping=False)  # at once, the longest
    refusals = [
        ((NOW - timedelta(seconds=1), END), InvalidInput, "starts_at_in_past", "starts_at"),
        ((START, START), InvalidInput, "ends_before_it_begins", "ends_at"),
        ((START, START + LONGEST_INTERRUPTION + timedelta(seconds=1)), InvalidInput, "interruption_too_long",
         "ends_at"),
    ]
    for (starts_at, ends_at), kind, code, field in refusals:
        with pytest.raises(kind) as refused:
            check_announcement(starts_at, ends_at, NOW, overlapping=False)
        assert (refused.value.code, refused.value.field, refused.value.clause) == (code, field, "RS-IV.4")
    with pytest.raises(Conflict) as overlapping:
        check_announcement(START, END, NOW, overlapping=True)
    assert overlapping.value.code == "interruption_overlaps"


def test_an_interruption_is_upcoming_in_effect_then_over_by_its_times_RS_IV_4():
    assert status_at("announced", START, END, NOW) == InterruptionStatus.UPCOMING
    assert status_at("announced", START, END, START) == InterruptionStatus.IN_EFFECT
    assert status_at("announced", START, END, END - timedelta(microseconds=1)) == InterruptionStatus.IN_EFFECT
    assert status_at("announced", START, END, END) == InterruptionStatus.OVER
    assert status_at("ended", START, START + timedelta(minutes=5), END) == InterruptionStatus.OVER
    assert status_at("called_off", START, END, START) == InterruptionStatus.CALLED_OFF


def test_a_new_order_is_refused_until_the_end_in_the_markets_time_RS_IV_4_T_5():
    refuse_new_orders(Market.RS, None, START)  # none in effect
    refuse_new_orders(Market.RS, END, END)  # over at its end
    with pytest.raises(OrdersInterrupted) as refused:
        refuse_new_orders(Market.RS, END, END - timedelta(seconds=90.5))
    error = refused.value
    assert (error.status, error.code, error.clause, error.retry_after) == (503, "technical_interruption", "RS-IV.4", 91)
    assert "until 2026-11-10 12:00 (CET, Europe/Belgrade)" in error.detail  # 11:00 UTC in Belgrade
    with pytest.raises(OrdersInterrupted) as in_almaty:
        refuse_new_orders(Market.KZ, END, START)
    assert "until 2026-11-10 16:00" in in_almaty.value.detail and "Asia/Almaty" in in_almaty.value.detail


# --- through the API ------------------------------------------------------------------------------------

async def announce(shop, market="RS", starts_at="2026-11-10T09:00:00Z", ends_at="2026-11-10T11:00:00Z",
                   notice="The shop is updated from 10:00 to 12:00."):
    body = {"market": market, "ends_at": ends_at, "notice": notice}
    if starts_at is not None:
        body["starts_at"] = starts_at
    return await shop.ops_post("/interruptions", body)


def problem(response) -> tuple[int, str, str | None, str | None]:
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.status_code, body["code"], body.get("clause"), body.get("field")


async def available(shop, sku: str) -> int:
    products = (await shop.http.get("/api/v1/products", params={"market": sku[:2].upper()})).json()
    return next(product["in_stock"] for product in products if product["sku"] == sku)


async def test_new_orders_are_refused_while_an_announced_interruption_is_in_effect_RS_IV_4(shop):
    await set_clock(shop, "2026-11-10T08:00:00Z")
    announced = await announce(shop)
    assert announced.status_code == 201, announced.text
    customer = await shop.customer()
    await shop.place(customer)  # announced, not yet in effect: orders are taken
    stock = await available(shop, "rs-15t-12-256")

    await set_clock(shop, "2026-11-10T09:00:00Z")
    refused = await shop.http.post("/api/v1/orders", json=order_body(), headers=customer)
    assert problem(refused) == (503, "technical_interruption", "RS-IV.4", None)
    assert int(refused.headers["Retry-After"]) == 2 * 3600
    assert "until 2026-11-10 12:00 (CET, Europe/Belgrade)" in refused.json()["detail"]
    # nothing written: one order (the earlier), the stock as it was
    assert len((await shop.http.get("/api/v1/orders", headers=customer)).json()) == 1
    assert await available(shop, "rs-15t-12-256") == stock
    # the quote is answered, and the other market takes orders
    quote = await shop.http.post("/api/v1/checkout/quote", json={
        key: value for key, value in order_body().items() if key != "payment_method"})
    assert quote.status_code == 200, quote.text
    await shop.place(customer, order_body("KZ"))

    await set_clock(shop, "2026-11-10T10:59:59Z")
    assert int((await shop.http.post("/api/v1/orders", json=order_body(),
                                      headers=customer)).headers["Retry-After"]) == 1
    await set_clock(shop, "2026-11-10T11:00:00Z")  # over at its end
    await shop.place(customer)


async def test_orders_already_placed_go_on_during_an_interruption_RS_IV_4(shop):
    await set_clock(shop, "2026-11-10T08:30:00Z")
    customer = await shop.customer()
    charger = order_body(lines=[("rs-charger-67w", 1)])
    paid_before = await shop.paid_order(customer)
    to_pay = await shop.place(customer, charger)
    to_cancel = await shop.place(customer, charger)
    assert (await announce(shop)).status_code == 201

    await set_clock(shop, "2026-11-10T09:30:00Z")
    intent = await shop.pay_at_stripe(to_pay)  # paid within its 2 hours, during the interruption
    assert (await shop.send_event("payment_intent.succeeded", intent)).status_code == 200
    assert (await shop.order(customer, to_pay["id"]))["state"] == "paid"
    cancelled = await shop.http.post(f"/api/v1/orders/{to_cancel['id']}/cancel", json={}, headers=customer)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled", cancelled.text
    confirmed = await shop.ops_post(f"/orders/{paid_before['id']}/confirm", {
        "lines": [{"line_id": line["id"], "available": True} for line in paid_before["lines"]]})
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "confirmed", confirmed.text


async def test_an_idempotency_key_is_left_free_by_the_refusal_and_replays_an_earlier_answer_RS_IV_4(shop):
    await set_clock(shop, "2026-11-10T08:00:00Z")
    customer = await shop.customer()
    earlier = await shop.place(customer, order_body(), **{"Idempotency-Key": "before-it"})
    assert (await announce(shop)).status_code == 201

    await set_clock(shop, "2026-11-10T09:15:00Z")
    replayed = await shop.http.post("/api/v1/orders", json=order_body(),
                                    headers={**customer, "Idempotency-Key": "before-it"})
    assert replayed.status_code == 201 and replayed.json()["id"] == earlier["id"], replayed.text
    during = await shop.http.post("/api/v1/orders", json=order_body(),
                                  headers={**customer, "Idempotency-Key": "during-it"})
    assert problem(during)[:2] == (503, "technical_interruption")

    await set_clock(shop, "2026-11-10T11:00:00Z")  # the same key, once it is over: the order is placed
    placed = await shop.place(customer, order_body(), **{"Idempotency-Key": "during-it"})
    assert placed["id"] != earlier["id"]


async def test_the_storefront_reads_the_interruptions_to_show_without_a_token_RS_IV_4(shop):
    await set_clock(shop, "2026-11-10T08:00:00Z")
    first = (await announce(shop)).json()
    later = (await announce(shop, starts_at="2026-11-11T01:00:00Z", ends_at="2026-11-11T03:00:00Z",
                            notice="Night maintenance.")).json()
    called_off = (await announce(shop, starts_at="2026-11-12T01:00:00Z", ends_at="2026-11-12T02:00:00Z")).json()
    assert (await shop.ops_post(f"/interruptions/{called_off['id']}/call-off")).json()["state"] == "called_off"
    await announce(shop, market="KZ")

    await set_clock(shop, "2026-11-10T10:00:00Z")
    shown = await shop.http.get("/api/v1/interruptions", params={"market": "RS"})
    assert shown.status_code == 200, shown.text
    assert [(item["id"], item["status"], item["notice"]) for item in shown.json()] == [
        (first["id"], "in_effect", "The shop is updated from 10:00 to 12:00."),
        (later["id"], "upcoming", "Night maintenance.")]
    assert set(shown.json()[0]) == {"id", "market", "status", "starts_at", "ends_at", "notice"}

    await set_clock(shop, "2026-11-10T11:00:00Z")  # the first is over: no longer shown, still listed for staff
    assert [item["id"] for item in (await shop.http.get("/api/v1/interruptions", params={"market": "RS"})).json()] \
        == [later["id"]]
    listed = (await shop.http.get("/api/v1/ops/interruptions", params={"market": "RS"},
                                  headers=await shop.ops())).json()
    assert [(item["id"], item["status"]) for item in listed] == [
        (called_off["id"], "called_off"), (later["id"], "upcoming"), (first["id"], "over")]


async def test_staff_end_an_interruption_early_or_call_it_off_before_it_begins_RS_IV_4(shop):
    await set_clock(shop, "2026-11-10T08:00:00Z")
    customer = await shop.customer()
    interruption = (await announce(shop)).json()
    assert problem(await shop.ops_post(f"/interruptions/{interruption['id']}/end"))[:2] == \
        (409, "interruption_not_begun")

    await set_clock(shop, "2026-11-10T09:40:00Z")
    assert problem(await shop.ops_post(f"/interruptions/{interruption['id']}/call-off"))[:2] == \
        (409, "interruption_already_begun")
    ended = await shop.ops_post(f"/interruptions/{interruption['id']}/end")
    assert ended.status_code == 200, ended.text
    assert (ended.json()["state"], ended.json()["ends_at"], ended.json()["announced_ends_at"]) == \
        ("ended", "2026-11-10T09:40:00Z", "2026-11-10T11:00:00Z")
    await shop.place(customer)  # orders are taken again at once
    assert problem(await shop.ops_post(f"/interruptions/{interruption['id']}/end"))[:2] == (409, "end_not_allowed")

    # one called off before it begins never refuses an order
    planned = (await announce(shop, starts_at="2026-11-10T10:00:00Z", ends_at="2026-11-10T10:30:00Z")).json()
    assert (await shop.ops_post(f"/interruptions/{planned['id']}/call-off")).status_code == 200
    await set_clock(shop, "2026-11-10T10:10:00Z")
    await shop.place(customer)


async def test_an_announcement_is_refused_when_it_would_overlap_lie_in_the_past_or_last_too_long_RS_IV_4(shop):
    await set_clock(shop, "2026-11-10T08:00:00Z")
    assert (await announce(shop)).status_code == 201
    assert problem(await announce(shop, starts_at="2026-11-10T10:59:00Z", ends_at="2026-11-10T12:00:00Z")) == \
        (409, "interruption_overlaps", "RS-IV.4", "starts_at")
    assert (await announce(shop, starts_at="2026-11-10T11:00:00Z", ends_at="2026-11-10T12:00:00Z")).status_code \
        == 201  # back to back
    assert problem(await announce(shop, starts_at="2026-11-10T07:59:59Z")) == \
        (422, "starts_at_in_past", "RS-IV.4", "starts_at")
    assert problem(await announce(shop, starts_at="2026-11-12T00:00:00Z", ends_at="2026-11-13T00:00:01Z")) == \
        (422, "interruption_too_long", "RS-IV.4", "ends_at")
    at_once = await announce(shop, market="KZ", starts_at=None, ends_at="2026-11-10T08:30:00Z")
    assert at_once.status_code == 201 and at_once.json()["starts_at"] == "2026-11-10T08:00:00Z", at_once.text
    assert at_once.json()["status"] == "in_effect"


async def test_staff_list_a_markets_interruptions_a_page_at_a_time_the_latest_first_RS_IV_4(shop):
    """Before, the list stopped at the latest 200 and staff could not see the rest."""
    await set_clock(shop, "2026-11-10T08:00:00Z")
    made = []
    for day in (11, 12, 13, 14):
        made.append((await announce(shop, starts_at=f"2026-11-{day}T01:00:00Z",
                                    ends_at=f"2026-11-{day}T02:00:00Z")).json()["id"])
    assert (await shop.ops_post(f"/interruptions/{made[1]}/call-off")).status_code == 200
    made.append((await announce(shop, starts_at="2026-11-12T01:00:00Z",  # the same start as the one called off
                                ends_at="2026-11-12T03:00:00Z")).json()["id"])
    kz = (await announce(shop, market="KZ")).json()["id"]
    staff, address, pages = await shop.ops(), "/api/v1/ops/interruptions?market=RS&limit=2", []
    while address is not None:
        response = await shop.http.get(address, headers=staff)
        assert response.status_code == 200, response.text
        pages.append([item["id"] for item in response.json()])
        address = next_page(response)
        assert address is None or address.startswith("/api/v1/ops/interruptions?market=RS&limit=2&after="), address

    same_start = sorted([made[1], made[4]], reverse=True)  # a tie goes by id, as the cursor reads it
    assert pages == [[made[3], made[2]], same_start, [made[0]]]
    whole = (await shop.http.get("/api/v1/ops/interruptions?market=RS&limit=100", headers=staff))
    assert [item["id"] for item in whole.json()] == [i for page in pages for i in page]
    assert whole.headers.get("link") is None

    assert problem(await shop.http.get(f"/api/v1/ops/interruptions?market=RS&after={kz}", headers=staff)) == \
        (422, "unknown_cursor", None, "after")  # another market's is not in this list
    assert problem(await shop.http.get("/api/v1/ops/interruptions?market=RS&after=no-such-one", headers=staff)) \
        == (422, "unknown_cursor", None, "after")
    for query in ("limit=0", "limit=101"):
        refused = await shop.http.get(f"/api/v1/ops/interruptions?market=RS&{query}", headers=staff)
        assert refused.status_code == 400 and "limit" in refused.text, refused.text


async def test_only_staff_announce_and_bad_bodies_name_their_field_RS_IV_4(shop):
    customer = await shop.customer()
    body = {"market": "RS", "ends_at": "2026-11-10T11:00:00Z", "notice": "x"}
    assert (await shop.http.post("/api/v1/ops/interruptions", json=body, headers=customer)).status_code == 403
    assert (await shop.http.post("/api/v1/ops/interruptions", json=body)).status_code == 401
    for bad, field in [({**body, "market": "DE"}, "market"), ({**body, "notice": ""}, "notice"),
                       ({**body, "ends_at": "2026-11-10T11:00:00"}, "ends_at"),  # no offset
                       ({key: value for key, value in body.items() if key != "ends_at"}, "ends_at")]:
        response = await shop.ops_post("/interruptions", bad)
        assert response.status_code in (400, 422), response.text
        assert field in (response.json().get("field") or response.json()["detail"]), response.text
    assert (await shop.ops_post("/interruptions/no-such-one/end")).status_code == 404
    assert (await shop.http.get("/api/v1/interruptions", params={"market": "XX"})).status_code == 400

