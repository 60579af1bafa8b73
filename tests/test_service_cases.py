"""KZ-4.5, KZ-4.6, KZ-4.7, KZ-5.1: service cases under the repair perks, through the API on SQLite and
PostgreSQL with the test clock (docs/lifecycle-service-case.md). A KZ order of a Xiaomi 15T placed on
1 Oct 2025 10:00 Almaty, confirmed and shipped: its screen perk runs to 1 Apr 2026 23:59:59, its
free-labour perk to 1 Oct 2026, its warranty to 1 Oct 2027 (the end of each day in Almaty, T-2)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from shop.domain.errors import Conflict
from shop.domain.perk_exclusions import SCREEN_REPAIR_EXCLUSIONS
from shop.services.perk_clock import record_perk_steps
from shop.domain.service_cases import (
    SHARED_WITH_SERVICE_CENTRE, CaseKind, ServiceCaseState, check_perk_open, customer_pays, service_centre_data,
)
from shop.web.service_case_routes import ServiceCaseOut
from tests.ops_support import set_clock
from tests.support import ShopClient, fresh_imeis, order_body

PHONE = "kz-15t-12-256"
ORDERED = "2025-10-01T05:00:00Z"  # 10:00 in Almaty


async def sold_device(shop: ShopClient) -> tuple[dict[str, str], dict[str, Any], str]:
    """A customer, their shipped KZ order of one 15T, and its IMEI."""
    await set_clock(shop, ORDERED)
    customer = await shop.customer(phone="+77010000001")
    order = await shop.confirmed_order(customer, order_body("KZ", [(PHONE, 1)]))
    [imei] = fresh_imeis(1)
    response = await shop.ops_post(f"/orders/{order['id']}/ship", {
        "carrier": "Kazpost", "tracking_number": "KP1", "devices": [{"line_id": order["lines"][0]["id"],
                                                                     "imeis": [imei]}]})
    assert response.status_code == 200, response.text
    return customer, order, imei


def case_of(response: Any, status: int = 200) -> dict[str, Any]:
    """The case as the route sent it, decoded strictly into the type its document declares."""
    assert response.status_code == status, response.text
    msgspec.json.decode(response.content, type=ServiceCaseOut, strict=True)
    return response.json()


async def open_case(shop: ShopClient, imei: str, kind: str, fault: str = "cracked after a fall") -> Any:
    return await shop.ops_post(f"/devices/{imei}/service-cases", {"kind": kind, "fault": fault})


async def perk_state(shop: ShopClient, customer: dict[str, str], order: dict[str, Any], code: str) -> str:
    [bundle] = (await shop.order(customer, order["id"]))["perks"]
    return next(perk["state"] for perk in bundle["perks"] if perk["code"] == code)


def problem(response: Any, status: int) -> tuple[str, str | None]:
    assert response.status_code == status, response.text
    return response.json()["code"], response.json().get("clause")


# --- KZ-4.6: one free screen replacement within 6 months ---------------------------------------------

async def test_a_screen_replaced_within_six_months_redeems_the_perk_KZ_4_6(shop):
    customer, order, imei = await sold_device(shop)
    await set_clock(shop, "2026-01-15T06:00:00Z")

    opened = case_of(await open_case(shop, imei, "screen_repair"), 201)
    done = case_of(await shop.ops_post(f"/service-cases/{opened['id']}/complete", {"note": "screen replaced"}))

    assert (opened["state"], opened["perk"]["state"]) == ("opened", "open")
    assert (done["state"], done["perk"]["state"], done["perk"]["redeemed_at"]) == (
        "repaired", "redeemed", "2026-01-15T06:00:00Z")
    assert await perk_state(shop, customer, order, "screen_repair") == "redeemed"
    assert done["estimate"] is None and done["customer_pays"] is None


async def test_a_second_screen_replacement_is_refused_once_only_KZ_4_6(shop):
    _, _, imei = await sold_device(shop)
    await set_clock(shop, "2026-01-15T06:00:00Z")
    first = case_of(await open_case(shop, imei, "screen_repair"), 201)
    case_of(await shop.ops_post(f"/service-cases/{first['id']}/complete"))

    assert problem(await open_case(shop, imei, "screen_repair"), 409) == ("perk_already_used", "KZ-4.6")


@pytest.mark.parametrize(("now", "status"), [
    ("2026-03-31T18:59:00Z", 201),  # the day before, 23:59 Almaty
    ("2026-04-01T18:59:00Z", 201),  # the last day (1 Apr 2026, six months after 1 Oct), 23:59 Almaty
    ("2026-04-01T19:00:00Z", 409),  # the day after, 00:00 Almaty
], ids=["day_before", "last_day_2359", "day_after"])
async def test_the_screen_perk_runs_to_the_end_of_its_sixth_month_KZ_4_6_T_2(shop, now, status):
    _, _, imei = await sold_device(shop)
    await set_clock(shop, now)

    response = await open_case(shop, imei, "screen_repair")

    if status == 201:
        case_of(response, 201)
    else:
        assert problem(response, 409) == ("perk_period_over", "KZ-4.6")


async def test_a_screen_claimed_on_its_last_day_is_replaced_after_it_KZ_4_6_T_6(shop):
    customer, order, imei = await sold_device(shop)
    await set_clock(shop, "2026-04-01T18:59:00Z")
    opened = case_of(await open_case(shop, imei, "screen_repair"), 201)
    await set_clock(shop, "2026-04-06T06:00:00Z")
    # `make expire-perks` meanwhile leaves a perk with an open case alone (the claim was in time)
    await record_perk_steps(shop.ctx, datetime(2026, 4, 6, 6, tzinfo=UTC))

    done = case_of(await shop.ops_post(f"/service-cases/{opened['id']}/complete"))

    assert (done["state"], done["perk"]["state"]) == ("repaired", "redeemed")


async def test_an_exclusion_refuses_the_case_and_leaves_the_perk_open_KZ_4_6(shop):
    customer, order, imei = await sold_device(shop)
    await set_clock(shop, "2026-01-15T06:00:00Z")
    opened = case_of(await open_case(shop, imei, "screen_repair"), 201)

    refused = case_of(await shop.ops_post(f"/service-cases/{opened['id']}/refuse",
                                          {"exclusion": "cosmetic_damage", "note": "scratches only"}))

    assert (refused["state"], refused["exclusion"], refused["note"]) == ("refused", "cosmetic_damage", "scratches only")
    assert refused["perk"]["state"] == "open" and refused["closed_at"] == "2026-01-15T06:00:00Z"
    assert await perk_state(shop, customer, order, "screen_repair") == "open"
    case_of(await open_case(shop, imei, "screen_repair"), 201)  # a later claim may still be made


async def test_an_exclusion_of_another_perks_list_is_refused_naming_it_KZ_4_6_KZ_4_7(shop):
    _, _, imei = await sold_device(shop)
    await set_clock(shop, "2026-01-15T06:00:00Z")
    screen = case_of(await open_case(shop, imei, "screen_repair"), 201)
    labour = case_of(await open_case(shop, imei, "free_labour_repair"), 201)

    carrier = await shop.ops_post(f"/service-cases/{screen['id']}/refuse", {"exclusion": "carrier_fault"})
    cosmetic = await shop.ops_post(f"/service-cases/{labour['id']}/refuse", {"exclusion": "cosmetic_damage"})

    assert problem(carrier, 422) == ("exclusion_not_of_this_perk", "KZ-4.6")  # KZ-4.5's, not 4.6's
    assert problem(cosmetic, 422) == ("exclusion_not_of_this_perk", "KZ-4.7")
    assert carrier.json()["field"] == "exclusion"
    assert case_of(await shop.http.get(f"/api/v1/ops/service-cases/{screen['id']}",
                                       headers=await shop.ops()))["state"] == "opened"


async def test_every_exclusion_of_the_screen_list_is_accepted_KZ_4_6(shop):
    _, _, imei = await sold_device(shop)
    await set_clock(shop, "2026-01-15T06:00:00Z")
    for exclusion in SCREEN_REPAIR_EXCLUSIONS:
        opened = case_of(await open_case(shop, imei, "screen_repair"), 201)
        refused = case_of(await shop.ops_post(f"/service-cases/{opened['id']}/refuse", {"exclusion": exclusion}))
        assert refused["exclusion"] == exclusion


async def test_a_screen_beyond_repair_goes_to_the_standard_warranty_and_the_perk_stays_open_KZ_4_6(shop):
    _, _, imei = await sold_device(shop)
    await set_clock(shop, "2026-01-15T06:00:00Z")
    opened = case_of(await open_case(shop, imei, "screen_repair"), 201)

    referred = case_of(await shop.ops_post(f"/service-cases/{opened['id']}/refer", {"note": "board cracked"}))

    assert (referred["state"], referred["perk"]["state"]) == ("referred", "open")


# --- KZ-4.7: one out-of-warranty repair with free labour within 12 months ----------------------------

async def test_free_labour_estimate_accepted_redeems_the_perk_then_repaired_KZ_4_7(shop):
    customer, order, imei = await sold_device(shop)
    await set_clock(shop, "2026-06-10T06:00:00Z")
    opened = case_of(await open_case(shop, imei, "free_labour_repair", "does not charge"), 201)

    estimated = case_of(await shop.ops_post(f"/service-cases/{opened['id']}/estimate", {
        "parts_minor": 2_500_000, "logistics_minor": 300_000, "inspection_minor": 500_000}))
    accepted = case_of(await shop.ops_post(f"/service-cases/{opened['id']}/accept"))
    repaired = case_of(await shop.ops_post(f"/service-cases/{opened['id']}/complete"))

    assert estimated["estimate"] == {"parts": {"amount_minor": 2_500_000, "currency": "KZT"},
                                     "logistics": {"amount_minor": 300_000, "currency": "KZT"},
                                     "inspection": {"amount_minor": 500_000, "currency": "KZT"}}
    assert (estimated["perk"]["state"], estimated["customer_pays"]) == ("open", None)
    assert (accepted["state"], accepted["perk"]["state"], accepted["decided_at"]) == (
        "accepted", "redeemed", "2026-06-10T06:00:00Z")
    assert accepted["customer_pays"] == {"amount_minor": 2_800_000, "currency": "KZT"}  # parts + logistics
    assert repaired["state"] == "repaired"
    assert await perk_state(shop, customer, order, "free_labour_repair") == "redeemed"
    assert problem(await open_case(shop, imei, "free_labour_repair"), 409) == ("perk_already_used", "KZ-4.7")


async def test_free_labour_estimate_declined_leaves_the_perk_open_and_the_inspection_owed_KZ_4_7(shop):
    customer, order, imei = await sold_device(shop)
    await set_clock(shop, "2026-06-10T06:00:00Z")
    opened = case_of(await open_case(shop, imei, "free_labour_repair", "does not charge"), 201)
    await shop.ops_post(f"/service-cases/{opened['id']}/estimate", {
        "parts_minor": 2_500_000, "logistics_minor": 300_000, "inspection_minor": 500_000})

    declined = case_of(await shop.ops_post(f"/service-cases/{opened['id']}/decline"))

    assert (declined["state"], declined["perk"]["state"]) == ("declined", "open")
    assert declined["customer_pays"] == {"amount_minor": 800_000, "currency": "KZT"}  # inspection + logistics
    assert declined["estimate"]["inspection"]["amount_minor"] == 500_000
    assert await perk_state(shop, customer, order, "free_labour_repair") == "open"
    case_of(await open_case(shop, imei, "free_labour_repair"), 201)


async def test_free_labour_is_estimated_first_and_other_cases_take_no_estimate_KZ_4_7(shop):
    _, _, imei = await sold_device(shop)
    await set_clock(shop, "2026-01-15T06:00:00Z")
    labour = case_of(await open_case(shop, imei, "free_labour_repair"), 201)
    screen = case_of(await open_case(shop, imei, "screen_repair"), 201)
    quote = {"parts_minor": 1, "logistics_minor": 0, "inspection_minor": 0}

    assert problem(await shop.ops_post(f"/service-cases/{labour['id']}/complete"), 409) == (
        "repair_not_allowed", "KZ-4.7")
    assert problem(await shop.ops_post(f"/service-cases/{labour['id']}/accept"), 409)[0] == "accept_not_allowed"
    assert problem(await shop.ops_post(f"/service-cases/{screen['id']}/estimate", quote), 409) == (
        "not_for_this_kind", "KZ-4.6")


@pytest.mark.parametrize("amount", [-1, 100_000_001, 2**31, "5"])
async def test_an_estimate_is_a_sane_non_negative_amount_KZ_4_7(shop, amount):
    _, _, imei = await sold_device(shop)
    await set_clock(shop, "2026-01-15T06:00:00Z")
    labour = case_of(await open_case(shop, imei, "free_labour_repair"), 201)

    response = await shop.ops_post(f"/service-cases/{labour['id']}/estimate",
                                   {"parts_minor": amount, "logistics_minor": 0, "inspection_minor": 0})

    assert response.status_code == 400 and response.json()["field"] == "parts_minor", response.text


# --- KZ-4.5, KZ-5.4: the warranty extended to 24 months ----------------------------------------------

async def test_the_extended_warranty_repairs_twice_and_is_never_redeemed_KZ_4_5(shop):
    customer, order, imei = await sold_device(shop)
    for now in ("2026-11-10T06:00:00Z", "2027-09-30T06:00:00Z"):  # after the general 12 months (KZ-5.4)
        await set_clock(shop, now)
        opened = case_of(await open_case(shop, imei, "extended_warranty", "speaker dead"), 201)
        done = case_of(await shop.ops_post(f"/service-cases/{opened['id']}/complete"))
        assert (done["state"], done["perk"]["state"], done["perk"]["redeemed_at"]) == ("repaired", "open", None)
    assert await perk_state(shop, customer, order, "extended_warranty") == "open"


async def test_the_extended_warranty_ends_after_24_months_KZ_4_5_T_2(shop):
    _, _, imei = await sold_device(shop)
    await set_clock(shop, "2027-10-01T18:59:59Z")  # 1 Oct 2027 23:59:59 Almaty: its last second
    case_of(await open_case(shop, imei, "extended_warranty"), 201)
    await set_clock(shop, "2027-10-01T19:00:00Z")

    assert problem(await open_case(shop, imei, "extended_warranty"), 409) == ("perk_period_over", "KZ-4.5")


# --- one open case per perk; the device the shop sold; staff only -------------------------------------

async def test_two_staff_opening_a_case_at_once_make_one_KZ_4_6(shop):
    customer, order, imei = await sold_device(shop)
    await set_clock(shop, "2026-01-15T06:00:00Z")

    answers = await asyncio.gather(*(open_case(shop, imei, "screen_repair") for _ in range(3)))

    assert sorted(answer.status_code for answer in answers) == [201, 409, 409]
    assert {answer.json()["code"] for answer in answers if answer.status_code == 409} == {"case_already_open"}
    entries = await shop.ctx.db.read(lambda uow: uow.timeline.of_order(order["id"]))
    assert [e.event for e in entries if e.machine == "service case"] == ["claim_screen"]


async def test_a_device_the_shop_did_not_sell_has_no_case_KZ_4_5(shop):
    await sold_device(shop)
    [unknown] = fresh_imeis(1)

    assert problem(await open_case(shop, unknown, "extended_warranty"), 404)[0] == "device_not_found"
    assert (await shop.http.get("/api/v1/ops/service-cases/nope", headers=await shop.ops())).status_code == 404


async def test_a_customer_token_cannot_open_or_read_a_case(shop):
    customer, _, imei = await sold_device(shop)
    await set_clock(shop, "2026-01-15T06:00:00Z")
    opened = case_of(await open_case(shop, imei, "extended_warranty"), 201)

    answers = [await shop.http.post(f"/api/v1/ops/devices/{imei}/service-cases",
                                    json={"kind": "extended_warranty", "fault": "x"}, headers=customer),
               await shop.http.get(f"/api/v1/ops/service-cases/{opened['id']}", headers=customer),
               await shop.http.post(f"/api/v1/ops/service-cases/{opened['id']}/complete", headers=customer)]

    assert [answer.status_code for answer in answers] == [403, 403, 403]


# --- KZ-5.1: what the service centre is given; the timeline --------------------------------------------

async def test_only_the_contact_and_device_data_go_to_the_service_centre_KZ_5_1(shop):
    _, order, imei = await sold_device(shop)
    await set_clock(shop, "2026-01-15T06:00:00Z")

    shared = case_of(await open_case(shop, imei, "extended_warranty"), 201)["shared_with_service_centre"]

    assert shared == {"customer": {"name": "Ana Anić", "phone": "+77010000001", "email": shop.last_email},
                      "device": {"model": "Xiaomi 15T", "imei": imei}}
    assert {part: tuple(fields) for part, fields in shared.items()} == SHARED_WITH_SERVICE_CENTRE
    text = str(shared)
    assert "Abay" not in text and "1990" not in text and order["payment"]["payment_intent_id"] not in text


async def test_every_step_of_a_case_and_the_perk_redeemed_are_on_the_order_timeline_KZ_4_7(shop):
    _, order, imei = await sold_device(shop)
    await set_clock(shop, "2026-06-10T06:00:00Z")
    opened = case_of(await open_case(shop, imei, "free_labour_repair"), 201)
    for step, body in (("estimate", {"parts_minor": 1, "logistics_minor": 2, "inspection_minor": 3}),
                       ("accept", None), ("complete", None)):
        case_of(await shop.ops_post(f"/service-cases/{opened['id']}/{step}", body))

    entries = await shop.ctx.db.read(lambda uow: uow.timeline.of_order(order["id"]))

    steps = [(e.machine, e.event, e.to_state, e.clause) for e in entries if e.subject_id == opened["id"]]
    assert steps == [("service case", "claim_free_labour", "opened", "KZ-4.7"),
                     ("service case", "estimate", "estimated", "KZ-4.7"),
                     ("service case", "accept", "accepted", "KZ-4.7"),
                     ("service case", "repair", "repaired", "KZ-4.7")]
    assert {e.actor for e in entries if e.subject_id == opened["id"]} == {entries[-1].actor}
    assert entries[-1].actor.startswith("ops:")
    assert [(e.event, e.to_state) for e in entries if e.machine == "perk" and e.event != "grant"] == [
        ("redeem", "redeemed")]


# --- the rules as pure domain ----------------------------------------------------------------------

NOW = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(("state", "code", "clause"), [
    ("redeemed", "perk_already_used", "KZ-4.6"), ("expired", "perk_period_over", "KZ-4.6"),
    ("revoked", "perk_revoked", "P-3"), ("not_available", "perk_not_available", "P-2"),
])
def test_a_case_is_opened_only_under_an_open_perk_KZ_4_6_P_2_P_3(state, code, clause):
    with pytest.raises(Conflict) as refused:
        check_perk_open(CaseKind.SCREEN_REPAIR, state, lapses_at=NOW, now=NOW)
    assert (refused.value.code, refused.value.clause) == (code, clause)
    check_perk_open(CaseKind.SCREEN_REPAIR, "open", lapses_at=NOW, now=NOW)  # its last instant included


def test_what_the_customer_pays_follows_the_answer_to_the_estimate_KZ_4_7():
    quote = {"parts_minor": 100, "logistics_minor": 20, "inspection_minor": 7}
    assert [customer_pays(state, **quote) for state in ServiceCaseState] == [
        None, None, 120, 27, 120, None, None]  # opened … referred, in the enum's order
    assert customer_pays("repaired", parts_minor=None, logistics_minor=None, inspection_minor=None) is None


def test_the_service_centre_is_given_only_the_fields_of_the_constant_KZ_5_1():
    assert service_centre_data(name="A", phone=None, email="a@b.kz", model="Xiaomi 15T", imei="1") == {
        "customer": {"name": "A", "phone": None, "email": "a@b.kz"}, "device": {"model": "Xiaomi 15T", "imei": "1"}}


async def test_no_case_under_a_perk_of_a_device_being_returned_P_3(shop):
    customer, order, imei = await sold_device(shop)
    await set_clock(shop, "2025-10-03T06:00:00Z")
    delivered = await shop.ops_post(f"/orders/{order['id']}/deliver", {"delivered_at": "2025-10-03T06:00:00Z"})
    assert delivered.status_code == 200, delivered.text
    withdrawal = await shop.http.post(f"/api/v1/orders/{order['id']}/withdrawals", json={}, headers=customer)
    assert withdrawal.status_code == 201, withdrawal.text

    assert problem(await open_case(shop, imei, "screen_repair"), 409) == ("device_being_returned", "P-3")
    assert await perk_state(shop, customer, order, "screen_repair") == "open"


async def test_the_customer_sees_the_cases_under_each_perk_on_the_order_KZ_4_6(shop):
    customer, order, imei = await sold_device(shop)
    await set_clock(shop, "2026-01-15T06:00:00Z")
    refused = case_of(await open_case(shop, imei, "screen_repair"), 201)
    case_of(await shop.ops_post(f"/service-cases/{refused['id']}/refuse", {"exclusion": "cosmetic_damage"}))
    await set_clock(shop, "2026-01-20T06:00:00Z")
    replaced = case_of(await open_case(shop, imei, "screen_repair"), 201)

    [bundle] = (await shop.order(customer, order["id"]))["perks"]

    screen = next(perk for perk in bundle["perks"] if perk["code"] == "screen_repair")
    assert [(c["id"], c["state"], c["exclusion"], c["closed_at"]) for c in screen["service_cases"]] == [
        (refused["id"], "refused", "cosmetic_damage", "2026-01-15T06:00:00Z"),
        (replaced["id"], "opened", None, None)]
    assert all(perk["service_cases"] == [] for perk in bundle["perks"] if perk["code"] != "screen_repair")


# --- RS-IX: a commercial warranty adds to the legal guarantee -----------------------------------------

async def test_a_repair_under_a_perk_adds_to_the_legal_guarantee_never_replaces_it_RS_IX(shop):
    """The extended warranty (KZ-4.5) is a commercial warranty: a case open under it, or one refused
    for an exclusion of its own list, takes nothing from the customer's claim for a lack of
    conformity within 2 years of delivery (RS-VI.1), and the claim takes nothing from the perk."""
    customer, order, imei = await sold_device(shop)
    await set_clock(shop, "2025-10-03T06:00:00Z")
    delivered = await shop.ops_post(f"/orders/{order['id']}/deliver", {"delivered_at": "2025-10-03T05:00:00Z"})
    assert delivered.status_code == 200, delivered.text
    await set_clock(shop, "2026-11-10T06:00:00Z")  # after the general 12 months, within the legal 2 years
    opened = case_of(await open_case(shop, imei, "extended_warranty", "speaker dead"), 201)

    claimed = await shop.http.post(f"/api/v1/orders/{order['id']}/conformity-claims", headers=customer, json={
        "line_ids": [order["lines"][0]["id"]], "defect": "The speaker is dead.", "remedy": "repair"})

    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["state"] == "claimed"
    case = case_of(await shop.http.get(f"/api/v1/ops/service-cases/{opened['id']}", headers=await shop.ops()))
    assert (case["state"], case["perk"]["state"]) == (opened["state"], "open")
