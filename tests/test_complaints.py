"""Complaints (RS-X): the rules on their own, then through the API on both databases: the customer's
own on the web, those staff record from e-mail, phone or post, the 8-day answer and its e-mails read
from the real SMTP server on loopback."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from shop.domain.complaints import (
    COMPLAINT, AnswerBy, Complainant, ComplaintState, answer_due_by, answered_late, check_complainant,
    check_statement, staff_channel,
)
from shop.domain.errors import InvalidInput, TransitionRefused
from shop.adapters.tables import TimelineEntry, table_of
from shop.domain.markets import Market
from tests.ops_support import set_clock
from tests.test_order_list import next_page
from tests.test_order_messages import message_to

RECEIVED = "2026-11-03T09:00:00Z"  # a Tuesday, 10:00 in Belgrade


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def body(**overrides):
    return {"about": "product", "description": "The screen flickers since the second day of use.",
            "remedy": "a replacement device", **overrides}


def problem(response) -> tuple[int, str, str | None, str | None]:
    found = response.json()
    return response.status_code, found["code"], found.get("clause"), found.get("field")


# --- the rules ------------------------------------------------------------------------------------------

def test_the_answer_is_due_8_days_after_receipt_rolled_past_a_holiday_RS_X_3_T_1():
    # the 8th day is 11 Nov, Armistice Day in Serbia: the end of 12 Nov, Belgrade time
    assert answer_due_by(at(RECEIVED), Market.RS) == at("2026-11-12T22:59:59.999999Z")
    # received late on 9 Nov in Almaty (already the 10th there): the 8th day is 18 Nov, a Wednesday
    assert answer_due_by(at("2026-11-09T20:00:00Z"), Market.KZ) == at("2026-11-18T18:59:59.999999Z")


def test_an_answer_after_its_deadline_is_late_but_an_answer_RS_X_3():
    due = answer_due_by(at(RECEIVED), Market.RS)
    assert not answered_late(due, due) and answered_late(at("2026-11-12T23:00:00Z"), due)
    assert not answered_late(None, due)
    assert COMPLAINT.fire(ComplaintState.RECEIVED, "answer").to_state == ComplaintState.ANSWERED
    with pytest.raises(TransitionRefused) as refused:
        COMPLAINT.fire(ComplaintState.ANSWERED, "answer")
    assert refused.value.clause == "RS-X.3"


@pytest.mark.parametrize("channel", ["facebook", "social_network", "instagram", "web", ""])
def test_staff_record_complaints_from_email_phone_and_post_only_RS_X_1(channel):
    assert [staff_channel(c) for c in ("email", "phone", "post")] == ["email", "phone", "post"]
    with pytest.raises(InvalidInput) as refused:
        staff_channel(channel)
    assert (refused.value.clause, refused.value.field) == ("RS-X.1", "channel")


@pytest.mark.parametrize(("who", "field"), [
    (Complainant("Ana", AnswerBy.EMAIL, "ana@example.rs"), "name"),
    (Complainant("Ana Anić", AnswerBy.EMAIL, None), "email"),
    (Complainant("Ana Anić", AnswerBy.POST, "ana@example.rs", "  "), "postal_address"),
])
def test_a_complaint_states_name_and_surname_and_where_the_answer_goes_RS_X_2(who, field):
    with pytest.raises(InvalidInput) as refused:
        check_complainant(who)
    assert (refused.value.clause, refused.value.field) == ("RS-X.2", field)
    check_complainant(Complainant("Ana Anić", AnswerBy.POST, None, "Knez Mihailova 1, Beograd"))


@pytest.mark.parametrize(("description", "remedy", "field"), [("  ", "a refund", "description"),
                                                              ("It broke.", "\n", "remedy")])
def test_a_complaint_states_a_description_and_the_remedy_wanted_RS_X_2(description, remedy, field):
    with pytest.raises(InvalidInput) as refused:
        check_statement(description, remedy)
    assert (refused.value.clause, refused.value.field) == ("RS-X.2", field)


# --- the customer's own, on the web ---------------------------------------------------------------------

async def test_a_customer_complains_about_an_order_and_is_told_when_the_answer_is_due_RS_X_1_RS_X_3(shop, smtp):
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.place(customer)
    await set_clock(shop, RECEIVED)

    response = await shop.http.post("/api/v1/complaints", json=body(order_id=order["id"]), headers=customer)

    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["state"], made["channel"], made["market"], made["order_id"]) == (
        "received", "web", "RS", order["id"])
    assert (made["name"], made["email"], made["answer_by"]) == ("Ana Anić", email, "email")
    assert (made["received_at"], made["answer_due_by"]) == (RECEIVED, "2026-11-12T22:59:59Z")
    assert (made["answered_at"], made["answered_late"], made["answer"]) == (None, False, None)
    message, text = await message_to(smtp, email, made["id"])
    assert message["Subject"] == f"Primili smo Vašu žalbu {made['id']} / We have received your complaint {made['id']}"
    assert f"za porudžbinu {order['number']}" in text and "(RS-X.3)" in text
    assert "by 12 November 2026" in text
    listed = (await shop.http.get("/api/v1/complaints", headers=customer)).json()
    assert [c["id"] for c in listed] == [made["id"]]
    assert (await shop.http.get(f"/api/v1/complaints/{made['id']}", headers=customer)).json() == made
    stranger = await shop.customer()
    assert (await shop.http.get(f"/api/v1/complaints/{made['id']}", headers=stranger)).status_code == 404
    assert (await shop.http.get("/api/v1/complaints", headers=stranger)).json() == []


async def test_the_customers_complaints_come_a_page_at_a_time_newest_first(shop):
    """As the order list: a customer may file any number of complaints (RS-X.1), so the list is paged,
    the next page's address in `Link`; a page continues only from a complaint of one's own."""
    customer, stranger = await shop.customer(), await shop.customer()
    made = []
    for minute in (0, 1, 2, 2, 3):  # two at 08:02, on either side of the first page's end
        await set_clock(shop, f"2026-11-10T08:{minute:02d}:00Z")
        response = await shop.http.post("/api/v1/complaints", json=body(about="service", market="RS"),
                                        headers=customer)
        assert response.status_code == 201, response.text
        made.append((minute, response.json()["id"]))

    pages, address = [], "/api/v1/complaints?limit=2"
    while address is not None:
        response = await shop.http.get(address, headers=customer)
        assert response.status_code == 200, response.text
        pages.append([complaint["id"] for complaint in response.json()])
        address = next_page(response)

    assert [complaint_id for page in pages for complaint_id in page] == [
        complaint_id for _, complaint_id in sorted(made, reverse=True)]
    assert [len(page) for page in pages] == [2, 2, 1]
    refused = await shop.http.get(f"/api/v1/complaints?before={made[0][1]}", headers=stranger)
    assert (refused.status_code, refused.json()["code"], refused.json()["field"]) == (422, "unknown_cursor", "before")


async def test_a_complaint_and_its_answer_are_on_its_orders_timeline_RS_X_1_RS_X_3(shop):
    customer = await shop.customer()
    order = await shop.place(customer)
    made = (await shop.http.post("/api/v1/complaints", json=body(order_id=order["id"]), headers=customer)).json()
    await shop.ops_post(f"/complaints/{made['id']}/answer", {"answer": "We will replace it."})

    entries = table_of(TimelineEntry)
    rows = await shop.ctx.db.read(lambda uow: list(uow.connection.execute(
        select(entries).where(entries.c.order_id == order["id"], entries.c.machine == "complaint")
        .order_by(entries.c.id))))
    assert [(row.subject_id, row.event, row.to_state, row.clause) for row in rows] == [
        (made["id"], "receive", "received", "RS-X.1"), (made["id"], "answer", "answered", "RS-X.3")]
    assert rows[0].actor.startswith("customer:") and rows[1].actor.startswith("ops:")


async def test_a_complaint_without_an_order_names_its_market_RS_X_2(shop):
    customer = await shop.customer()

    missing = await shop.http.post("/api/v1/complaints", json=body(about="service"), headers=customer)
    made = await shop.http.post("/api/v1/complaints", json=body(about="service", market="KZ"), headers=customer)

    assert problem(missing) == (422, "complaint_market_missing", None, "market")
    assert made.status_code == 201 and made.json()["market"] == "KZ"


async def test_another_customers_order_is_not_found_and_nothing_is_written(shop):
    owner = await shop.customer()
    order = await shop.place(owner)
    other = await shop.customer()

    response = await shop.http.post("/api/v1/complaints", json=body(order_id=order["id"]), headers=other)

    assert response.status_code == 404
    assert (await shop.http.get("/api/v1/complaints", headers=other)).json() == []


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"description": "   "}, (422, "complaint_description_missing", "RS-X.2", "description")),
    ({"remedy": " "}, (422, "complaint_remedy_missing", "RS-X.2", "remedy")),
    ({"answer_by": "post"}, (422, "complaint_address_missing", "RS-X.2", "postal_address")),
    ({"name": "Ana"}, (422, "complainant_name_incomplete", "RS-X.2", "name")),
])
async def test_an_incomplete_complaint_is_refused_naming_the_field_RS_X_2(shop, overrides, expected):
    customer = await shop.customer()
    response = await shop.http.post("/api/v1/complaints", json=body(market="RS", **overrides), headers=customer)
    assert problem(response) == expected
    assert (await shop.http.get("/api/v1/complaints", headers=customer)).json() == []


@pytest.mark.parametrize("wrong", [{"about": "weather"}, {"description": ""}, {"description": 7},
                                   {"remedy": "x" * 1001}, {"order_id": "\x00"}, {"extra": 1}])
async def test_a_complaint_of_a_wrong_shape_is_a_400_naming_the_field(shop, wrong):
    customer = await shop.customer()
    response = await shop.http.post("/api/v1/complaints", json=body(market="RS", **wrong), headers=customer)
    assert response.status_code == 400, response.text


async def test_the_same_idempotency_key_answers_the_same_complaint_and_another_body_is_a_409(shop):
    customer = await shop.customer()
    keyed = {**customer, "Idempotency-Key": "complaint-1"}

    first = await shop.http.post("/api/v1/complaints", json=body(market="RS"), headers=keyed)
    again = await shop.http.post("/api/v1/complaints", json=body(market="RS"), headers=keyed)
    other = await shop.http.post("/api/v1/complaints", json=body(market="RS", remedy="a refund"), headers=keyed)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert len((await shop.http.get("/api/v1/complaints", headers=customer)).json()) == 1


# --- staff: other channels, the answer ------------------------------------------------------------------

def staff_body(**overrides):
    return {"channel": "phone", "received_at": RECEIVED, "about": "service", "name": "Marko Marković",
            "answer_by": "post", "postal_address": "Bulevar kralja Aleksandra 73, 11000 Beograd", "market": "RS",
            "description": "The courier left the parcel with a neighbour without asking.",
            "remedy": "an apology and a change of courier", **overrides}


async def test_staff_record_a_phone_complaint_judged_from_when_it_was_received_RS_X_1_RS_X_3(shop):
    await set_clock(shop, "2026-11-05T12:00:00Z")

    response = await shop.ops_post("/complaints", staff_body())

    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["channel"], made["received_at"], made["answer_due_by"]) == (
        "phone", RECEIVED, "2026-11-12T22:59:59Z")
    assert (made["answer_by"], made["email"], made["order_id"]) == ("post", None, None)


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"channel": "facebook"}, (422, "complaint_channel_not_accepted", "RS-X.1", "channel")),
    ({"channel": "web"}, (422, "complaint_channel_not_accepted", "RS-X.1", "channel")),
    ({"received_at": "2026-11-05T12:00:01Z"}, (422, "received_at_in_future", None, "received_at")),
    ({"received_at": "0001-01-01T00:00:00Z"}, (400, "validation_error", None, None)),  # before any VAT rate
    ({"answer_by": "email"}, (422, "complaint_email_missing", "RS-X.2", "email")),
    ({"answer_by": "email", "email": "not an address"}, (422, "invalid_email", None, "email")),
    ({"order_id": "no-such-order", "market": None}, (404, "order_not_found", None, None)),
])
async def test_staff_cannot_record_what_the_contract_does_not_take_RS_X_1_RS_X_2(shop, overrides, expected):
    await set_clock(shop, "2026-11-05T12:00:00Z")
    response = await shop.ops_post("/complaints", staff_body(**overrides))
    status, code, clause, field = problem(response)
    assert (status, code, clause) == expected[:3]
    assert field == expected[3] or expected[3] is None


async def test_an_electronic_answer_is_e_mailed_and_a_complaint_is_answered_once_RS_X_2_RS_X_3(shop, smtp):
    await set_clock(shop, RECEIVED)
    made = (await shop.ops_post("/complaints", staff_body(answer_by="email", email="Marko@Example.RS"))).json()
    await set_clock(shop, "2026-11-10T08:00:00Z")

    answered = await shop.ops_post(f"/complaints/{made['id']}/answer",
                                   {"answer": "We are sorry; the courier has been told. We will use another one."})
    twice = await shop.ops_post(f"/complaints/{made['id']}/answer", {"answer": "again"})

    assert answered.status_code == 200, answered.text
    done = answered.json()
    assert (done["state"], done["answered_at"], done["answered_late"], done["email"]) == (
        "answered", "2026-11-10T08:00:00Z", False, "marko@example.rs")
    assert problem(twice)[:3] == (409, "answer_not_allowed", "RS-X.3")
    message, text = await message_to(smtp, "marko@example.rs", "Odgovor na Vašu žalbu")
    assert "We are sorry; the courier has been told." in text


async def test_an_answer_after_8_days_is_recorded_as_late_and_a_blank_one_refused_RS_X_3(shop):
    await set_clock(shop, RECEIVED)
    made = (await shop.ops_post("/complaints", staff_body())).json()
    await set_clock(shop, "2026-11-12T23:00:00Z")  # 13 Nov, 00:00 in Belgrade

    blank = await shop.ops_post(f"/complaints/{made['id']}/answer", {"answer": "  "})
    late = await shop.ops_post(f"/complaints/{made['id']}/answer", {"answer": "Our answer, sent by post."})

    assert problem(blank) == (422, "complaint_answer_missing", "RS-X.3", "answer")
    assert (late.json()["state"], late.json()["answered_late"]) == ("answered", True)


async def test_staff_see_the_open_complaints_the_earliest_due_first_RS_X_3(shop):
    await set_clock(shop, "2026-11-20T12:00:00Z")
    later = (await shop.ops_post("/complaints", staff_body(received_at="2026-11-20T09:00:00Z"))).json()
    earlier = (await shop.ops_post("/complaints", staff_body(received_at="2026-11-18T09:00:00Z"))).json()
    answered = (await shop.ops_post("/complaints", staff_body(received_at="2026-11-17T09:00:00Z"))).json()
    await shop.ops_post(f"/complaints/{answered['id']}/answer", {"answer": "Done."})

    listed = (await shop.http.get("/api/v1/ops/complaints", headers=await shop.ops())).json()

    ids = [c["id"] for c in listed]
    assert answered["id"] not in ids
    assert ids.index(earlier["id"]) < ids.index(later["id"])
    assert [c["answer_due_by"] for c in listed] == sorted(c["answer_due_by"] for c in listed)


async def test_the_staff_routes_are_for_staff(shop):
    customer = await shop.customer()
    assert (await shop.http.get("/api/v1/ops/complaints", headers=customer)).status_code == 403
    assert (await shop.http.post("/api/v1/ops/complaints", json=staff_body(), headers=customer)).status_code == 403
    assert (await shop.http.get("/api/v1/complaints")).status_code == 401


async def test_staff_recording_with_the_same_key_twice_record_one_complaint(shop):
    await set_clock(shop, "2026-11-05T12:00:00Z")
    keyed = {**await shop.ops(), "Idempotency-Key": "phone-call-17"}

    first = await shop.http.post("/api/v1/ops/complaints", json=staff_body(), headers=keyed)
    again = await shop.http.post("/api/v1/ops/complaints", json=staff_body(), headers=keyed)
    other = await shop.http.post("/api/v1/ops/complaints", json=staff_body(remedy="a refund"), headers=keyed)

    assert (first.status_code, again.status_code, again.json()) == (201, 201, first.json())
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    listed = (await shop.http.get("/api/v1/ops/complaints", headers=await shop.ops())).json()
    assert [c["id"] for c in listed] == [first.json()["id"]]
