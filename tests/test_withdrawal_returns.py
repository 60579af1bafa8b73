"""What staff do with a withdrawal after the statement, through the API on both databases: refuse it
for a recorded reason (RS-VII.14), record each item's condition on receipt and what had to come back
with it (RS-VII.9, RS-VII.13), release the refund on proof of return (RS-VII.11), and the order that
says it is withdrawn (RS-VII.10)."""

from __future__ import annotations

from tests.ops_support import assert_refunded_at_stripe, set_clock, stock_of
from tests.test_withdrawals import BAND, CHARGER, PHONE, delivered_order, line_of, problem, withdraw

# --- refused: RS-VII.14 ---------------------------------------------------------------------------------


async def test_a_rejection_records_its_reason_and_gives_the_lines_back_RS_VII_14(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")
    made = (await withdraw(shop, customer, order, CHARGER)).json()

    blank = await shop.ops_post(f"/withdrawals/{made['id']}/reject", {"reason": "   "})
    missing = await shop.ops_post(f"/withdrawals/{made['id']}/reject", {})
    too_long = await shop.ops_post(f"/withdrawals/{made['id']}/reject", {"reason": "x" * 501})
    rejected = await shop.ops_post(f"/withdrawals/{made['id']}/reject", {"reason": "seal broken on a hygiene item"})
    twice = await shop.ops_post(f"/withdrawals/{made['id']}/reject", {"reason": "again"})

    assert [(r.status_code, r.json().get("field")) for r in (blank, missing, too_long)] == [
        (422, "reason"), (400, "reason"), (400, "reason")]
    assert rejected.status_code == 200, rejected.text
    body = rejected.json()
    assert (body["state"], body["rejected_reason"]) == ("rejected", "seal broken on a hygiene item")
    assert [line["sku"] for line in body["lines"]] == [CHARGER]  # still listed with it
    assert problem(twice) == (409, "reject_not_allowed", "RS-VII.14")
    view = await shop.order(customer, order["id"])
    assert line_of(view, CHARGER)["state"] == "confirmed"
    again = await withdraw(shop, customer, order, CHARGER)  # still in time: withdrawn again
    assert again.status_code == 201, again.text
    view = await shop.order(customer, order["id"])
    assert sorted(w["state"] for w in view["withdrawals"]) == ["rejected", "requested"]
    assert line_of(view, CHARGER)["state"] == "withdrawn"


async def test_a_withdrawal_awaiting_its_return_can_be_rejected_but_not_once_refunded_RS_VII_14(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")
    first = (await withdraw(shop, customer, order, CHARGER)).json()
    second = (await withdraw(shop, customer, order, PHONE)).json()
    await shop.ops_post(f"/withdrawals/{first['id']}/return-label")
    await shop.ops_post(f"/withdrawals/{second['id']}/return-label")
    await shop.ops_post(f"/withdrawals/{second['id']}/receive", {"deduction_minor": 0})

    awaiting = await shop.ops_post(f"/withdrawals/{first['id']}/reject", {"reason": "no goods came"})
    refunded = await shop.ops_post(f"/withdrawals/{second['id']}/reject", {"reason": "too late"})

    assert awaiting.json()["state"] == "rejected"
    assert problem(refunded) == (409, "reject_not_allowed", "RS-VII.14")


# --- the goods back: RS-VII.9, RS-VII.13 ----------------------------------------------------------------

CAME_WITH = "accessories, gifts and promotional items that came with it"


async def returned(shop, customer, order, *skus):
    await set_clock(shop, "2026-10-05T09:00:00Z")
    made = (await withdraw(shop, customer, order, *skus)).json()
    await shop.ops_post(f"/withdrawals/{made['id']}/return-label")
    return made


async def test_each_line_comes_back_with_its_condition_and_checklist_only_resaleable_restocked_RS_VII_9(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1), (BAND, 1)])
    made = await returned(shop, customer, order, CHARGER, BAND)
    charger, band = line_of(order, CHARGER)["id"], line_of(order, BAND)["id"]
    before = {sku: await stock_of(shop, sku) for sku in (CHARGER, BAND)}

    partial = await shop.ops_post(f"/withdrawals/{made['id']}/receive",
                                  {"items": [{"line_id": charger, "condition": "used", "resaleable": True}]})
    received = await shop.ops_post(f"/withdrawals/{made['id']}/receive", {"deduction_minor": 1_000, "items": [
        {"line_id": charger, "condition": "used", "resaleable": True, "missing": []},
        {"line_id": band, "condition": "damaged", "resaleable": False, "missing": [CAME_WITH, "gift strap"]}]})

    assert (partial.status_code, partial.json()["field"]) == (422, "items")
    assert received.status_code == 200, received.text
    by_sku = {line["sku"]: line["receipt"] for line in received.json()["lines"]}
    assert (by_sku[CHARGER]["condition"], by_sku[CHARGER]["resaleable"], by_sku[CHARGER]["missing"]) == (
        "used", True, [])
    assert by_sku[CHARGER]["checklist"] == [{"item": CAME_WITH, "returned": True}]
    band_items = line_of(order, BAND)["set_items"]
    assert band_items  # a set: every item had to come back (RS-VII.13)
    assert by_sku[BAND]["checklist"] == ([{"item": item, "returned": True} for item in band_items]
                                         + [{"item": CAME_WITH, "returned": False},
                                            {"item": "gift strap", "returned": False}])
    view = await shop.order(customer, order["id"])
    assert {line["sku"]: line["receipt"] for line in view["withdrawals"][0]["lines"]} == by_sku
    assert await stock_of(shop, CHARGER) == (before[CHARGER][0] + 1, before[CHARGER][1])
    assert await stock_of(shop, BAND) == before[BAND]  # damaged, not resaleable: not back on hand


async def test_the_old_body_records_every_line_as_new_RS_VII_9(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    made = await returned(shop, customer, order, CHARGER)

    received = await shop.ops_post(f"/withdrawals/{made['id']}/receive", {"deduction_minor": 0})

    [line] = received.json()["lines"]
    assert line["receipt"] == {"condition": "as_new", "resaleable": True, "missing": [],
                               "checklist": [{"item": CAME_WITH, "returned": True}]}


# --- proof of return: RS-VII.11 -------------------------------------------------------------------------

async def test_proof_of_return_releases_the_refund_and_the_goods_later_refund_nothing_more_RS_VII_11(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    made = await returned(shop, customer, order, CHARGER)
    before = await stock_of(shop, CHARGER)

    blank = await shop.ops_post(f"/withdrawals/{made['id']}/proof-of-return", {"note": ""})
    proof = await shop.ops_post(f"/withdrawals/{made['id']}/proof-of-return", {"note": "tracking RS123"})
    again = await shop.ops_post(f"/withdrawals/{made['id']}/proof-of-return", {"note": "tracking RS123"})
    await set_clock(shop, "2026-10-08T09:00:00Z")
    deduction = await shop.ops_post(f"/withdrawals/{made['id']}/receive", {"deduction_minor": 5_000})
    received = await shop.ops_post(f"/withdrawals/{made['id']}/receive", {"items": [
        {"line_id": line_of(order, CHARGER)["id"], "condition": "used", "resaleable": True}]})
    twice = await shop.ops_post(f"/withdrawals/{made['id']}/receive", {})

    assert blank.status_code == 400
    assert proof.status_code == 200, proof.text
    assert (proof.json()["state"], proof.json()["proof_of_return_at"], proof.json()["received_at"]) == (
        "refunded", "2026-10-05T09:00:00Z", None)
    assert problem(again) == (409, "refund_on_proof_not_allowed", "RS-VII.11")
    assert problem(deduction) == (409, "refund_already_released", "RS-VII.11")
    assert received.status_code == 200, received.text
    assert (received.json()["state"], received.json()["received_at"]) == ("refunded", "2026-10-08T09:00:00Z")
    assert received.json()["lines"][0]["receipt"]["condition"] == "used"
    assert problem(twice) == (409, "receive_not_allowed", "RS-VII.8")
    view = await shop.order(customer, order["id"])
    await assert_refunded_at_stripe(shop, view, 349_900)  # once, in full
    assert len(view["refunds"]) == 1
    assert await stock_of(shop, CHARGER) == (before[0] + 1, before[1])  # restocked once, on receipt


async def test_goods_received_and_refunded_cannot_be_refunded_on_proof_RS_VII_11(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    made = await returned(shop, customer, order, CHARGER)
    await shop.ops_post(f"/withdrawals/{made['id']}/receive", {})

    proof = await shop.ops_post(f"/withdrawals/{made['id']}/proof-of-return", {"note": "late proof"})

    assert problem(proof) == (409, "refund_on_proof_not_allowed", "RS-VII.11")


# --- the order says so: RS-VII.10 -----------------------------------------------------------------------

async def test_an_order_withdrawn_whole_and_refunded_is_withdrawn_RS_VII_10(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    first = await returned(shop, customer, order, CHARGER)
    second = (await withdraw(shop, customer, order, PHONE)).json()
    await shop.ops_post(f"/withdrawals/{second['id']}/return-label")

    await shop.ops_post(f"/withdrawals/{first['id']}/receive", {})
    partly = await shop.order(customer, order["id"])
    await shop.ops_post(f"/withdrawals/{second['id']}/proof-of-return", {"note": "tracking RS9"})
    whole = await shop.order(customer, order["id"])

    assert partly["state"] == "delivered"  # the phone is not refunded yet
    assert whole["state"] == "withdrawn"
    assert (whole["timeline"][-1]["event"], whole["timeline"][-1]["to_state"]) == ("withdrawal_refunded", "withdrawn")
    assert sum(r["amount"]["amount_minor"] for r in whole["refunds"]) == order["total"]["amount_minor"]
    late = await shop.ops_post(f"/withdrawals/{second['id']}/receive", {})  # the goods after the proof
    assert (late.status_code, (await shop.order(customer, order["id"]))["state"]) == (200, "withdrawn")


async def test_an_order_with_a_rejected_withdrawal_stays_delivered_RS_VII_10(shop):
    customer, order = await delivered_order(shop, [(CHARGER, 1)])
    made = await returned(shop, customer, order)
    await shop.ops_post(f"/withdrawals/{made['id']}/reject", {"reason": "returned someone else's charger"})

    assert (await shop.order(customer, order["id"]))["state"] == "delivered"


# --- Idempotency-Key: a refusal is the key's answer too ---------------------------------------------------

async def test_a_keyed_statement_refused_keeps_its_refusal_for_the_key_RS_VII_1(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")
    held = (await withdraw(shop, customer, order, CHARGER)).json()

    refused = await withdraw(shop, customer, order, CHARGER, **{"Idempotency-Key": "w-2"})
    await shop.ops_post(f"/withdrawals/{held['id']}/reject", {"reason": "sent to the wrong shop"})  # line free
    replay = await withdraw(shop, customer, order, CHARGER, **{"Idempotency-Key": "w-2"})
    other_body = await withdraw(shop, customer, order, PHONE, **{"Idempotency-Key": "w-2"})
    fresh = await withdraw(shop, customer, order, CHARGER, **{"Idempotency-Key": "w-3"})

    assert problem(refused)[:2] == (409, "line_already_withdrawn")
    assert (replay.status_code, replay.json()) == (409, refused.json())
    assert replay.headers["content-type"].startswith("application/problem+json")
    assert problem(other_body)[:2] == (409, "idempotency_key_reused")
    assert fresh.status_code == 201, fresh.text


async def test_a_keyed_statement_after_the_period_stays_refused_RS_VII_1(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1)])
    await set_clock(shop, "2026-10-20T09:00:00Z")
    late = await withdraw(shop, customer, order, **{"Idempotency-Key": "late"})
    await set_clock(shop, "2026-10-05T09:00:00Z")  # even in time again, the key answers what it answered

    replay = await withdraw(shop, customer, order, **{"Idempotency-Key": "late"})

    assert problem(late) == (409, "withdrawal_period_expired", "RS-VII.1")
    assert (replay.status_code, replay.json()) == (409, late.json())
