"""The free take-back of an old device (RS-V.5.4): the rules on their own, then through the API on
both databases: the customer asks for it for a device line of their paid RS order (one per unit),
staff collect the old device on any day or refuse it, the customer may call it off before; every
step on the order's timeline, and told to the customer by e-mail (read from the SMTP server on
loopback), in Serbian and then in English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from shop.adapters.tables import TimelineEntry, table_of
from shop.domain.errors import Conflict, InvalidInput, TransitionRefused
from shop.domain.take_back import (
    TAKE_BACK, TakeBackState, check_collected_at, check_line, check_order, check_place, check_statement,
)
from tests.ops_support import set_clock
from tests.support import RS_ADDRESS, order_body
from tests.test_order_messages import message_to, outbox_rows

OLD_PHONE = "Redmi Note 9, broken screen"
PHONE, TWO_PHONES_SKU, CHARGER = "rs-15t-12-256", "rs-redmi-note-14-pro", "rs-charger-67w"


def body(line_id: int, **overrides):
    return {"line_id": line_id, "description": OLD_PHONE, "same_type_and_function": True, **overrides}


def problem(response) -> tuple[int, str, str | None, str | None]:
    found = response.json()
    return response.status_code, found["code"], found.get("clause"), found.get("field")


def line_of(order, sku: str) -> int:
    [line] = [line["id"] for line in order["lines"] if line["sku"] == sku]
    return line


async def request(shop, customer, order, line_id: int, **overrides):
    return await shop.http.post(f"/api/v1/orders/{order['id']}/take-backs", json=body(line_id, **overrides),
                                headers=customer)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def name_of(order, sku: str) -> str:
    [name] = [line["name"] for line in order["lines"] if line["sku"] == sku]
    return name


def serbian_then_english(text: str) -> tuple[str, str]:
    """The body's Serbian part and its English part, in that order (words as `message_to` gives them)."""
    serbian, english = text.split(" -- ")
    return serbian, english


# --- the rules ------------------------------------------------------------------------------------------

def test_only_delivery_addresses_in_serbia_have_a_take_back_RS_V_5_4():
    check_place("RS", RS_ADDRESS)
    for market, address in (("KZ", {**RS_ADDRESS, "country": "KZ"}), ("RS", {**RS_ADDRESS, "country": "KZ"}),
                            ("RS", None)):
        with pytest.raises(InvalidInput) as refused:
            check_place(market, address)
        assert (refused.value.code, refused.value.clause) == ("take_back_outside_serbia", "RS-V.5.4")


@pytest.mark.parametrize("state", ["awaiting_payment", "awaiting_installment_approval", "cancelled", "withdrawn"])
def test_only_a_paid_order_not_cancelled_or_withdrawn_has_a_take_back_RS_V_5_4(state):
    for eligible in ("paid", "confirmed", "shipped", "delivered"):
        check_order(eligible)
    with pytest.raises(Conflict) as refused:
        check_order(state)
    assert refused.value.clause == "RS-V.5.4"


def test_one_old_device_per_contracted_unit_of_a_device_line_RS_V_5_4():
    phones = SimpleNamespace(id=7, category="phone", state="confirmed", quantity=2)
    check_line(phones, 7, taken=1)
    check_line(SimpleNamespace(id=8, category="tv", state="ordered", quantity=1), 8, taken=0)
    cases = [(phones, 2, "take_back_limit_reached"),
             (SimpleNamespace(**{**vars(phones), "state": "withdrawn"}), 0, "line_not_contracted"),
             (SimpleNamespace(**{**vars(phones), "state": "cancelled"}), 0, "line_not_contracted"),
             (SimpleNamespace(**{**vars(phones), "category": "accessory"}), 0, "line_not_a_device"),
             (SimpleNamespace(**{**vars(phones), "category": "set"}), 0, "line_not_a_device")]
    for line, taken, code in cases:
        with pytest.raises((Conflict, InvalidInput)) as refused:
            check_line(line, 7, taken=taken)
        assert (refused.value.code, refused.value.clause, refused.value.field) == (code, "RS-V.5.4", "line_id")


def test_the_customer_says_what_the_old_device_is_and_declares_it_of_the_same_type_RS_V_5_4():
    assert check_statement(f"  {OLD_PHONE} ", True) == OLD_PHONE
    for description, same, field in ((OLD_PHONE, False, "same_type_and_function"), ("  ", True, "description")):
        with pytest.raises(InvalidInput) as refused:
            check_statement(description, same)
        assert (refused.value.clause, refused.value.field) == ("RS-V.5.4", field)


def test_collected_neither_in_the_future_nor_before_the_request_but_on_any_day_RS_V_5_4():
    requested, now = datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 20, 9, tzinfo=UTC)
    check_collected_at(requested, requested_at=requested, now=now)
    check_collected_at(now, requested_at=requested, now=now)
    check_collected_at(requested, requested_at=requested + timedelta(microseconds=999_999), now=now)  # as shown
    for moment, code in ((now + timedelta(seconds=1), "collected_at_in_future"),
                         (requested - timedelta(seconds=1), "collected_before_request")):
        with pytest.raises(InvalidInput) as refused:
            check_collected_at(moment, requested_at=requested, now=now)
        assert (refused.value.code, refused.value.field) == (code, "collected_at")
    assert TAKE_BACK.fire(TakeBackState.REQUESTED, "collect").to_state == TakeBackState.COLLECTED
    with pytest.raises(TransitionRefused) as refused:
        TAKE_BACK.fire(TakeBackState.COLLECTED, "cancel")
    assert (refused.value.code, refused.value.clause) == ("cancel_not_allowed", "RS-V.5.4")


# --- the customer's request -----------------------------------------------------------------------------

async def test_a_take_back_of_a_paid_phone_order_is_requested_at_its_delivery_address_RS_V_5_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    line_id = line_of(order, PHONE)

    response = await request(shop, customer, order, line_id)

    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["order_id"], made["line_id"], made["sku"], made["state"]) == (order["id"], line_id, PHONE,
                                                                                "requested")
    assert (made["description"], made["address"]) == (OLD_PHONE, RS_ADDRESS)
    assert (made["collected_at"], made["reason"], made["closed_at"]) == (None, None, None)
    listed = (await shop.http.get("/api/v1/take-backs", headers=customer)).json()
    assert listed == [made]
    staff = (await shop.http.get("/api/v1/ops/take-backs", headers=await shop.ops())).json()
    assert [t["id"] for t in staff] == [made["id"]]
    assert staff[0] == {**made, "customer_id": staff[0]["customer_id"], "closed_by": None}


async def test_every_step_of_a_take_back_is_on_its_orders_timeline_RS_V_5_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer, order_body(lines=[(PHONE, 2)]))
    first = (await request(shop, customer, order, line_of(order, PHONE))).json()
    second = (await request(shop, customer, order, line_of(order, PHONE))).json()
    await shop.ops_post(f"/take-backs/{first['id']}/collect", {"collected_at": first["requested_at"]})
    await shop.http.post(f"/api/v1/take-backs/{second['id']}/cancel", headers=customer)

    entries = table_of(TimelineEntry)
    rows = await shop.ctx.db.read(lambda uow: list(uow.connection.execute(
        select(entries).where(entries.c.order_id == order["id"], entries.c.machine == "take-back")
        .order_by(entries.c.id))))
    assert [(row.subject_id, row.event, row.from_state, row.to_state, row.clause) for row in rows] == [
        (first["id"], "request", None, "requested", "RS-V.5.4"),
        (second["id"], "request", None, "requested", "RS-V.5.4"),
        (first["id"], "collect", "requested", "collected", "RS-V.5.4"),
        (second["id"], "cancel", "requested", "cancelled", "RS-V.5.4")]
    assert rows[0].actor.startswith("customer:") and rows[2].actor.startswith("ops:")
    assert rows[0].reason == f"{PHONE}: {OLD_PHONE}"


async def test_one_old_device_per_unit_and_a_cancelled_one_frees_its_unit_RS_V_5_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    line_id = line_of(order, PHONE)
    first = (await request(shop, customer, order, line_id)).json()

    second = await request(shop, customer, order, line_id, description="Redmi 9A")
    cancelled = await shop.http.post(f"/api/v1/take-backs/{first['id']}/cancel", headers=customer)
    again = await request(shop, customer, order, line_id, description="Redmi 9A")
    third = await request(shop, customer, order, line_id, description="Mi 11")

    assert problem(second) == (409, "take_back_limit_reached", "RS-V.5.4", "line_id")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert again.status_code == 201, again.text
    assert problem(third) == (409, "take_back_limit_reached", "RS-V.5.4", "line_id")


async def test_a_line_of_two_takes_two_and_a_refused_one_frees_its_unit_RS_V_5_4(shop):
    customer = await shop.customer()
    order = await shop.confirmed_order(customer, order_body(lines=[(TWO_PHONES_SKU, 2)]))
    line_id = line_of(order, TWO_PHONES_SKU)
    first, second = [(await request(shop, customer, order, line_id)).json() for _ in range(2)]

    full = await request(shop, customer, order, line_id)
    refused = await shop.ops_post(f"/take-backs/{first['id']}/refuse", {"reason": "  an old laptop, not a phone "})
    after = await request(shop, customer, order, line_id)

    assert (first["state"], second["state"]) == ("requested", "requested")
    assert problem(full) == (409, "take_back_limit_reached", "RS-V.5.4", "line_id")
    assert refused.status_code == 200, refused.text
    assert (refused.json()["state"], refused.json()["reason"]) == ("refused", "an old laptop, not a phone")
    assert refused.json()["closed_by"].startswith("ops:")
    assert after.status_code == 201, after.text


async def test_an_accessory_is_not_taken_back_RS_V_5_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer, order_body(lines=[(PHONE, 1), (CHARGER, 1)]))

    response = await request(shop, customer, order, line_of(order, CHARGER), description="an old charger")
    unknown = await request(shop, customer, order, 2_000_000_000)

    assert problem(response) == (422, "line_not_a_device", "RS-V.5.4", "line_id")
    assert problem(unknown) == (422, "unknown_line", None, "line_id")


async def test_a_kz_order_has_no_take_back_RS_V_5_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer, order_body("KZ"))

    response = await request(shop, customer, order, line_of(order, "kz-15t-12-256"))

    assert problem(response) == (422, "take_back_outside_serbia", "RS-V.5.4", "order_id")
    assert (await shop.http.get("/api/v1/take-backs", headers=customer)).json() == []


async def test_an_unpaid_or_cancelled_order_has_no_take_back_RS_V_5_4(shop):
    customer = await shop.customer()
    unpaid = await shop.place(customer)
    cancelled = await shop.paid_order(customer)
    response = await shop.http.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=customer)
    assert response.status_code == 200, response.text

    for order, state in ((unpaid, "awaiting_payment"), (cancelled, "cancelled")):
        refused = await request(shop, customer, order, line_of(order, PHONE))
        assert problem(refused) == (409, "order_not_eligible_for_take_back", "RS-V.5.4", "order_id"), state
        assert state in refused.json()["detail"]


async def test_an_old_device_not_declared_of_the_same_type_and_function_is_refused_RS_V_5_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)

    response = await request(shop, customer, order, line_of(order, PHONE), same_type_and_function=False)
    blank = await request(shop, customer, order, line_of(order, PHONE), description="   ")
    missing = await shop.http.post(f"/api/v1/orders/{order['id']}/take-backs",
                                   json={"line_id": line_of(order, PHONE), "description": OLD_PHONE}, headers=customer)

    assert problem(response) == (422, "not_same_type_and_function", "RS-V.5.4", "same_type_and_function")
    assert problem(blank) == (422, "description_missing", "RS-V.5.4", "description")
    assert missing.status_code in (400, 422) and missing.json()["field"] == "same_type_and_function"


# --- staff ---------------------------------------------------------------------------------------------

async def test_staff_collect_on_any_day_before_or_after_delivery_never_in_the_future_RS_V_5_4(shop):
    customer = await shop.customer()
    order = await shop.shipped_order(customer)  # not delivered: the dates may differ
    made = (await request(shop, customer, order, line_of(order, PHONE))).json()
    requested_at = datetime.fromisoformat(made["requested_at"].replace("Z", "+00:00"))
    now = requested_at + timedelta(days=3)
    await set_clock(shop, iso(now))

    future = await shop.ops_post(f"/take-backs/{made['id']}/collect", {"collected_at": iso(now + timedelta(hours=1))})
    early = await shop.ops_post(f"/take-backs/{made['id']}/collect",
                                {"collected_at": iso(requested_at - timedelta(minutes=1))})
    collected = await shop.ops_post(f"/take-backs/{made['id']}/collect",
                                    {"collected_at": iso(now - timedelta(days=1))})
    twice = await shop.ops_post(f"/take-backs/{made['id']}/collect", {"collected_at": iso(now)})
    refused = await shop.ops_post(f"/take-backs/{made['id']}/refuse", {"reason": "not a phone"})
    cancel = await shop.http.post(f"/api/v1/take-backs/{made['id']}/cancel", headers=customer)

    assert problem(future) == (422, "collected_at_in_future", "RS-V.5.4", "collected_at")
    assert problem(early) == (422, "collected_before_request", "RS-V.5.4", "collected_at")
    assert collected.status_code == 200, collected.text
    done = collected.json()
    assert (done["state"], done["collected_at"], done["closed_at"]) == ("collected", iso(now - timedelta(days=1)),
                                                                        iso(now))
    assert problem(twice) == (409, "collect_not_allowed", "RS-V.5.4", None)
    assert problem(refused) == (409, "refuse_not_allowed", "RS-V.5.4", None)
    assert problem(cancel) == (409, "cancel_not_allowed", "RS-V.5.4", None)
    assert (await shop.http.get("/api/v1/ops/take-backs", headers=await shop.ops())).json() == []
    assert (await shop.order(customer, order["id"]))["state"] == "shipped"


async def test_staff_list_the_requested_take_backs_oldest_first_RS_V_5_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer, order_body(lines=[(TWO_PHONES_SKU, 2)]))
    line_id = line_of(order, TWO_PHONES_SKU)
    start = datetime.now(UTC) + timedelta(hours=1)
    made = []
    for hours in (0, 1):
        await set_clock(shop, iso(start + timedelta(hours=hours)))
        made.append((await request(shop, customer, order, line_id)).json()["id"])

    staff = (await shop.http.get("/api/v1/ops/take-backs", headers=await shop.ops())).json()
    mine = (await shop.http.get("/api/v1/take-backs", headers=customer)).json()

    assert [t["id"] for t in staff] == made
    assert [t["id"] for t in mine] == made[::-1]


# --- who may --------------------------------------------------------------------------------------------

async def test_another_customers_order_or_take_back_is_not_found_RS_V_5_4(shop):
    owner = await shop.customer()
    order = await shop.paid_order(owner)
    made = (await request(shop, owner, order, line_of(order, PHONE))).json()
    stranger = await shop.customer()

    requested = await request(shop, stranger, order, line_of(order, PHONE))
    cancelled = await shop.http.post(f"/api/v1/take-backs/{made['id']}/cancel", headers=stranger)

    assert problem(requested) == (404, "order_not_found", None, None)
    assert problem(cancelled) == (404, "take_back_not_found", None, None)
    assert (await shop.http.get("/api/v1/take-backs", headers=stranger)).json() == []
    assert (await shop.http.get("/api/v1/take-backs", headers=owner)).json()[0]["state"] == "requested"


async def test_a_customer_token_is_forbidden_on_the_staff_routes_RS_V_5_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    made = (await request(shop, customer, order, line_of(order, PHONE))).json()

    answers = [await shop.http.get("/api/v1/ops/take-backs", headers=customer),
               await shop.http.post(f"/api/v1/ops/take-backs/{made['id']}/collect",
                                    json={"collected_at": made["requested_at"]}, headers=customer),
               await shop.http.post(f"/api/v1/ops/take-backs/{made['id']}/refuse", json={"reason": "no"},
                                    headers=customer)]

    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert (await shop.http.get("/api/v1/take-backs", headers=customer)).json()[0]["state"] == "requested"


# --- Idempotency-Key ------------------------------------------------------------------------------------

async def test_the_same_idempotency_key_answers_the_same_take_back_RS_V_5_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer, order_body(lines=[(TWO_PHONES_SKU, 2)]))
    line_id = line_of(order, TWO_PHONES_SKU)
    keyed = {**customer, "Idempotency-Key": "take-back-1"}
    url = f"/api/v1/orders/{order['id']}/take-backs"

    first = await shop.http.post(url, json=body(line_id), headers=keyed)
    again = await shop.http.post(url, json=body(line_id), headers=keyed)
    other = await shop.http.post(url, json=body(line_id, description="Mi 9"), headers=keyed)

    assert first.status_code == 201 and again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert problem(other) == (409, "idempotency_key_reused", None, None)
    assert len((await shop.http.get("/api/v1/take-backs", headers=customer)).json()) == 1
    assert [row.kind for row in await outbox_rows(shop, order["id"]) if row.kind.startswith("take_back")] == \
        ["take_back_requested"]  # the same key again tells the customer nothing new


async def test_a_take_back_not_yet_collected_lapses_with_its_cancelled_line_RS_V_5_4(shop):
    """The customer's cancel, a line left out at confirmation and a failed delivery cancel the line: its
    take-back waiting for collection lapses with it (on the timeline); a collected one stays."""
    customer = await shop.customer()
    cancelled = await shop.paid_order(customer, order_body(lines=[(PHONE, 1)]))
    waiting = (await request(shop, customer, cancelled, line_of(cancelled, PHONE))).json()
    await shop.http.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=customer)

    left_out = await shop.paid_order(customer, order_body(lines=[(TWO_PHONES_SKU, 1), (CHARGER, 1)]))
    of_left_out = (await request(shop, customer, left_out, line_of(left_out, TWO_PHONES_SKU))).json()
    await shop.ops_post(f"/orders/{left_out['id']}/confirm", {"lines": [
        {"line_id": line_of(left_out, TWO_PHONES_SKU), "available": False},
        {"line_id": line_of(left_out, CHARGER), "available": True}]})

    failed = await shop.shipped_order(customer, order_body(lines=[(TWO_PHONES_SKU, 1)]))
    collected = (await request(shop, customer, failed, line_of(failed, TWO_PHONES_SKU))).json()
    await shop.ops_post(f"/take-backs/{collected['id']}/collect", {"collected_at": collected["requested_at"]})
    await shop.ops_post(f"/orders/{failed['id']}/delivery-failed", {"reason": "absent"})

    mine = {item["id"]: item for item in (await shop.http.get("/api/v1/take-backs", headers=customer)).json()}
    assert (mine[waiting["id"]]["state"], mine[of_left_out["id"]]["state"], mine[collected["id"]]["state"]) == \
        ("cancelled", "cancelled", "collected")
    entries = table_of(TimelineEntry)
    rows = await shop.ctx.db.read(lambda uow: list(uow.connection.execute(
        select(entries).where(entries.c.machine == "take-back", entries.c.event == "lapse")
        .order_by(entries.c.id))))
    assert [(row.subject_id, row.order_id) for row in rows] == [
        (waiting["id"], cancelled["id"]), (of_left_out["id"], left_out["id"])]
    assert rows[0].actor.startswith("customer:") and rows[1].actor.startswith("ops:")


# --- the customer's e-mails -----------------------------------------------------------------------------

async def test_the_customer_is_told_what_was_asked_where_it_is_collected_free_and_how_to_cancel_RS_V_5_4(
        shop, smtp):
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.paid_order(customer)
    number = order["number"]
    made = (await request(shop, customer, order, line_of(order, PHONE))).json()

    message, text = await message_to(smtp, email, f"with order {number} requested")

    assert message["Subject"] == (f"Zahtev za preuzimanje starog uređaja uz porudžbinu {number} je primljen / "
                                  f"Take-back of your old device with order {number} requested")
    serbian, english = serbian_then_english(text)
    for part in (serbian, english):
        for fact in (made["id"], number, OLD_PHONE, name_of(order, PHONE), "Knez Mihailova 1, 11000 Beograd",
                     "(RS-V.5.4)"):
            assert fact in part, fact
    assert f"Stari uređaj: {OLD_PHONE} Uz proizvod: {name_of(order, PHONE)}" in serbian
    assert "Preuzimanje je besplatno" in serbian and "besplatno preuzimanje starog uređaja" in serbian
    assert "Datum preuzimanja i datum isporuke mogu da se razlikuju" in serbian
    assert "zahtev možete otkazati u svom nalogu sve dok stari uređaj ne bude preuzet" in serbian
    assert "The take-back is free of charge" in english and "another date than the delivery" in english
    assert "cancel the request in your account until the old device has been collected" in english


async def test_collection_is_told_with_its_local_date_and_time_RS_V_5_4_T_5(shop, smtp):
    """Collected at 13:05:30 UTC on 14 June 2027: 15:05:30 in Belgrade, summer time."""
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.paid_order(customer)
    await set_clock(shop, "2027-06-14T10:00:00Z")
    made = (await request(shop, customer, order, line_of(order, PHONE))).json()
    await set_clock(shop, "2027-06-15T09:00:00Z")

    collected = await shop.ops_post(f"/take-backs/{made['id']}/collect", {"collected_at": "2027-06-14T13:05:30Z"})

    assert collected.status_code == 200, collected.text
    message, text = await message_to(smtp, email, "was taken back")
    assert message["Subject"] == (f"Vaš stari uređaj je preuzet, porudžbina {order['number']} / "
                                  f"Your old device was taken back, order {order['number']}")
    serbian, english = serbian_then_english(text)
    assert f"Vaš stari uređaj ({OLD_PHONE}) besplatno smo preuzeli 14. jun 2027. 15:05:30 CEST" in serbian
    assert f"We took back your old device ({OLD_PHONE}) free of charge on 14 June 2027, 15:05:30 CEST" in english
    for part in (serbian, english):
        assert name_of(order, PHONE) in part and made["id"] in part and "(RS-V.5.4" in part
    assert "UTC" not in text


async def test_a_refusal_tells_the_customer_staffs_reason_RS_V_5_4(shop, smtp):
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.paid_order(customer)
    made = (await request(shop, customer, order, line_of(order, PHONE), description="an old laptop")).json()

    refused = await shop.ops_post(f"/take-backs/{made['id']}/refuse", {"reason": " a laptop, not a phone "})

    assert refused.status_code == 200, refused.text
    message, text = await message_to(smtp, email, "was not taken back")
    assert message["Subject"] == (f"Vaš stari uređaj nije preuzet, porudžbina {order['number']} / "
                                  f"Your old device was not taken back, order {order['number']}")
    serbian, english = serbian_then_english(text)
    assert "Vaš stari uređaj (an old laptop) nismo preuzeli" in serbian
    assert "istog tipa koji obavlja iste funkcije" in serbian and serbian.endswith("Obrazloženje: a laptop, not a phone")
    assert "We did not take back your old device (an old laptop" in english
    assert "of the same type that performs the same functions" in english
    assert english.endswith("Reason: a laptop, not a phone")


async def test_the_customers_own_cancel_is_confirmed_RS_V_5_4(shop, smtp):
    customer = await shop.customer()
    email = shop.last_email
    order = await shop.paid_order(customer)
    made = (await request(shop, customer, order, line_of(order, PHONE))).json()

    cancelled = await shop.http.post(f"/api/v1/take-backs/{made['id']}/cancel", headers=customer)

    assert cancelled.status_code == 200, cancelled.text
    message, text = await message_to(smtp, email, "You cancelled the take-back")
    assert message["Subject"] == (f"Otkazali ste preuzimanje starog uređaja, porudžbina {order['number']} / "
                                  f"You cancelled the take-back of your old device, order {order['number']}")
    serbian, english = serbian_then_english(text)
    assert f"Otkazali ste zahtev {made['id']} za besplatno preuzimanje starog uređaja ({OLD_PHONE})" in serbian
    assert f"You cancelled your request {made['id']} for the free take-back of your old device ({OLD_PHONE})" in english
    assert "Stari uređaj nećemo preuzeti." in serbian and "We will not collect the old device." in english


async def test_a_take_back_lapsing_with_its_cancelled_order_or_left_out_line_is_told_RS_V_5_4(shop, smtp):
    """The order cancelled by the customer, and a line left out at confirmation: each tells the
    customer the take-back is off, beside the cancellation's or the confirmation's own message."""
    customer = await shop.customer()
    email = shop.last_email
    cancelled = await shop.paid_order(customer, order_body(lines=[(PHONE, 1)]))
    waiting = (await request(shop, customer, cancelled, line_of(cancelled, PHONE))).json()
    left_out = await shop.paid_order(customer, order_body(lines=[(TWO_PHONES_SKU, 1), (CHARGER, 1)]))
    of_left_out = (await request(shop, customer, left_out, line_of(left_out, TWO_PHONES_SKU),
                                 description="Redmi 9A")).json()

    response = await shop.http.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=customer)
    confirmed = await shop.ops_post(f"/orders/{left_out['id']}/confirm", {"lines": [
        {"line_id": line_of(left_out, TWO_PHONES_SKU), "available": False},
        {"line_id": line_of(left_out, CHARGER), "available": True}]})

    assert response.status_code == 200 and confirmed.status_code == 200, (response.text, confirmed.text)
    for order, made, sku, device in ((cancelled, waiting, PHONE, OLD_PHONE),
                                     (left_out, of_left_out, TWO_PHONES_SKU, "Redmi 9A")):
        message, text = await message_to(smtp, email, f"called off, order {order['number']}")
        assert message["Subject"] == (f"Preuzimanje starog uređaja je otkazano, porudžbina {order['number']} / "
                                      f"Take-back of your old device called off, order {order['number']}")
        serbian, english = serbian_then_english(text)
        assert f"Besplatno preuzimanje Vašeg starog uređaja ({device}, zahtev {made['id']}) je otkazano" in serbian
        assert f"{name_of(order, sku)} iz porudžbine {order['number']}, otkazan je i neće biti isporučen" in serbian
        assert f"The free take-back of your old device ({device}, request {made['id']}) is off" in english
        assert f"{name_of(order, sku)} of order {order['number']}, was cancelled and will not be delivered" in english
    await message_to(smtp, email, f"Porudžbina {cancelled['number']} je otkazana")  # the order's own, too
