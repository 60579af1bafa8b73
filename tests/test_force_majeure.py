"""Force majeure (RS-VIII, T-7): the rules on their own, then through the API on both databases: a
period declared for a market suspends the seller's own deadlines, and its end moves each one that
ran during it by that time; the customer's deadlines and the other market's stay as they were."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from shop.domain.errors import Conflict, InvalidInput
from shop.domain.force_majeure import check_declaration, check_end, moved_deadline, moved_delivery_date
from shop.domain.markets import Market
from shop.services.sweep import sweep
from tests.ops_support import set_clock
from tests.support import order_body
from tests.test_sweep import refund_owed_from, withdrawn_at


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


START, END = at("2026-11-02T00:00:00Z"), at("2026-11-05T12:00:00Z")  # 3.5 days


# --- the rules ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("due", "since", "moved"), [
    ("2026-11-10T22:59:59Z", "2026-10-27T10:00:00Z", "2026-11-14T10:59:59Z"),  # ran through it: 3.5 days later
    ("2026-11-03T22:59:59Z", "2026-10-20T10:00:00Z", "2026-11-07T10:59:59Z"),  # due during it: resumes after
    ("2026-11-17T22:59:59Z", "2026-11-03T12:00:00Z", "2026-11-19T22:59:59Z"),  # began during it: the rest of it
    ("2026-11-01T22:59:59Z", "2026-10-18T10:00:00Z", None),  # passed before it began
    ("2026-11-20T22:59:59Z", "2026-11-06T10:00:00Z", None),  # began to run after it ended
])
def test_a_sellers_deadline_resumes_after_the_period_that_suspended_it_T_7(due, since, moved):
    found = moved_deadline(at(due), at(since), START, END)
    assert found == (None if moved is None else at(moved))


def test_an_expected_delivery_moves_by_whole_days_to_a_working_day_T_7_RS_V_5_2():
    # 3.5 days rounds up to 4: Tue 3 Nov + 4 = Sat 7 Nov, so Mon 9 Nov
    assert moved_delivery_date(date(2026, 11, 3), START, END, start_day=date(2026, 11, 2), market=Market.RS) == \
        date(2026, 11, 9)
    assert moved_delivery_date(date(2026, 10, 30), START, END, start_day=date(2026, 11, 2), market=Market.RS) is None


def test_a_period_is_declared_once_begun_one_at_a_time_and_ends_after_it_began_RS_VIII():
    now = at("2026-11-05T12:00:00Z")
    check_declaration(START, now, open_period=False)
    with pytest.raises(InvalidInput):
        check_declaration(at("2026-11-05T12:00:01Z"), now, open_period=False)
    with pytest.raises(Conflict) as twice:
        check_declaration(START, now, open_period=True)
    assert twice.value.clause == "RS-VIII"
    for ends_at in (START, at("2026-11-05T12:00:01Z")):
        with pytest.raises(InvalidInput):
            check_end(START, ends_at, now)


# --- through the API ------------------------------------------------------------------------------------

async def declare(shop, market="RS", starts_at="2026-11-02T00:00:00Z", reason="a general strike of couriers"):
    return await shop.ops_post("/force-majeure", {"market": market, "starts_at": starts_at, "reason": reason})


async def test_the_end_of_a_period_moves_the_sellers_deadlines_that_ran_during_it_T_7(shop):
    # a refund owed since 27 Oct (due 10 Nov); a withdrawal stated 28 Oct, its refund due 11 Nov rolled to
    # 12 Nov (Armistice Day), its return label issued (the return is the customer's deadline); a complaint
    # received 30 Oct (due 7 Nov, a Saturday: 9 Nov); an order placed 30 Oct, expected 5 Nov
    owed = await refund_owed_from(shop, "2026-10-27T10:00:00Z")
    order, withdrawal = await withdrawn_at(shop, "2026-10-20T12:00:00Z", "2026-10-28T09:00:00Z")
    labelled = (await shop.ops_post(f"/withdrawals/{withdrawal['id']}/return-label")).json()
    await set_clock(shop, "2026-10-30T10:00:00Z")
    complaint = (await shop.ops_post("/complaints", {
        "channel": "phone", "received_at": "2026-10-30T09:00:00Z", "about": "service", "name": "Marko Marković",
        "answer_by": "post", "postal_address": "Bulevar kralja Aleksandra 73, Beograd", "market": "RS",
        "description": "No answer on the chat.", "remedy": "an answer"})).json()
    customer = await shop.customer()
    placed = await shop.place(customer, order_body(lines=[("rs-charger-67w", 1)]))
    kz_period = (await declare(shop, market="KZ", starts_at="2026-10-25T00:00:00Z")).json()

    await set_clock(shop, "2026-11-02T08:00:00Z")
    declared = await declare(shop)
    again = await declare(shop)
    await set_clock(shop, "2026-11-06T09:00:00Z")
    kz_ended = await shop.ops_post(f"/force-majeure/{kz_period['id']}/end", {"ends_at": "2026-11-05T12:00:00Z"})
    too_early = await shop.ops_post(f"/force-majeure/{declared.json()['id']}/end", {"ends_at": "2026-11-01T00:00:00Z"})
    ended = await shop.ops_post(f"/force-majeure/{declared.json()['id']}/end", {"ends_at": "2026-11-05T12:00:00Z"})
    twice = await shop.ops_post(f"/force-majeure/{declared.json()['id']}/end", {"ends_at": "2026-11-05T12:00:00Z"})

    assert declared.status_code == 201, declared.text
    assert (again.status_code, again.json()["code"], again.json()["clause"]) == (
        409, "force_majeure_already_declared", "RS-VIII")
    assert kz_ended.json()["moved"] == {"refunds": 0, "withdrawals": 0, "complaints": 0, "deliveries": 0}
    assert (too_early.status_code, too_early.json()["field"]) == (422, "ends_at")
    body = ended.json()
    assert (body["state"], body["ends_at"]) == ("ended", "2026-11-05T12:00:00Z")
    assert body["moved"] == {"refunds": 1, "withdrawals": 1, "complaints": 1, "deliveries": 1}
    assert twice.status_code == 409
    ops = await shop.ops()
    [refund] = (await shop.http.get(f"/api/v1/ops/orders/{owed['id']}", headers=ops)).json()["refunds"]
    assert (owed["refund"]["due_by"], refund["due_by"]) == ("2026-11-10T22:59:59Z", "2026-11-14T10:59:59Z")
    [after] = (await shop.http.get(f"/api/v1/ops/orders/{order['id']}", headers=ops)).json()["withdrawals"]
    assert (withdrawal["refund_due_by"], after["refund_due_by"]) == ("2026-11-12T22:59:59Z", "2026-11-16T10:59:59Z")
    assert after["return_due_by"] == labelled["return_due_by"]  # the customer's deadline stays
    answered = (await shop.http.get(f"/api/v1/ops/complaints/{complaint['id']}", headers=ops)).json()
    assert (complaint["answer_due_by"], answered["answer_due_by"]) == ("2026-11-09T22:59:59Z", "2026-11-13T10:59:59Z")
    # expected Thu 5 Nov; the 3.5 days round up to 4: Mon 9 Nov
    assert (placed["expected_delivery_on"], (await shop.order(customer, placed["id"]))["expected_delivery_on"]) == (
        "2026-11-05", "2026-11-09")
    listed = (await shop.http.get("/api/v1/ops/force-majeure?market=RS", headers=ops)).json()
    assert [p["id"] for p in listed] == [body["id"]]


async def test_the_sweep_names_a_market_in_force_majeure_until_it_ends_T_7(shop):
    await set_clock(shop, "2026-11-02T08:00:00Z")
    period = (await declare(shop)).json()

    during = await sweep(shop.ctx, at("2026-11-03T08:00:00Z"))
    await set_clock(shop, "2026-11-06T08:00:00Z")
    await shop.ops_post(f"/force-majeure/{period['id']}/end", {"ends_at": "2026-11-05T12:00:00Z"})
    after = await sweep(shop.ctx, at("2026-11-06T08:00:00Z"))

    assert during.text()[0] == ("== force majeure in RS since 2026-11-02T00:00:00Z: the seller's deadlines are "
                                "suspended and move when it ends (T-7)")
    assert not any("force majeure" in line for line in after.text())


async def test_force_majeure_is_for_staff_and_refuses_what_has_not_happened(shop):
    customer = await shop.customer()
    await set_clock(shop, "2026-11-02T08:00:00Z")
    assert (await shop.http.post("/api/v1/ops/force-majeure", json={
        "market": "RS", "starts_at": "2026-11-02T00:00:00Z", "reason": "x"}, headers=customer)).status_code == 403
    future = await declare(shop, starts_at="2026-11-03T00:00:00Z")
    blank = await declare(shop, reason="   ")
    unknown = await shop.ops_post("/force-majeure/no-such-period/end", {"ends_at": "2026-11-02T00:00:00Z"})
    assert (future.status_code, future.json()["field"]) == (422, "starts_at")
    assert (blank.status_code, blank.json()["field"]) == (422, "reason")
    assert unknown.status_code == 404
