"""KZ-4.1 … KZ-4.4, KZ-5.1, P-3, P-4: redeeming a perk through the API on SQLite and PostgreSQL.

A KZ order of one Xiaomi 15T placed at 10:00 Almaty on 1 Oct 2025, confirmed and shipped with its
IMEI. The device's activation (another piece of issue 19) is written here directly through the
store (`activate`), test-only: the perks that start from it get their `opens_at`, and the clock opens
them. The service code reaches the customer in the answer and behind the e-mail's link, never in the
e-mail or the database (only its hash and hint)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from shop.adapters.perk_tables import BundlePerk
from shop.adapters.tables import OutboxEmail, table_of
from shop.domain.errors import Conflict
from shop.domain.perk_lifecycle import PERK
from shop.domain.perk_redemption import (
    CODE_ALPHABET, REDEMPTION_FIELDS, code_hash, code_hint, derive_code, rederive,
)
from tests.ops_support import set_clock
from tests.support import ShopClient, fresh_imeis, order_body

PHONE = "kz-15t-12-256"
ORDERED = "2025-10-01T05:00:00Z"  # 10:00 Almaty
SPOTIFY_OPENS = "2025-10-02T19:00:00Z"  # activated 1 Oct: open 1 day after, 00:00 Almaty 3 Oct (KZ-4.2)
LOUNGE_OPENS = "2025-10-15T19:00:00Z"  # 14 days after (KZ-4.1 ii)
LATER = "2025-10-20T05:00:00Z"  # both open, lounge still before 31.10.2025
CODE_SHAPE = rf"^[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$"


# --- helpers --------------------------------------------------------------------------------------

async def shipped_kz_order(shop: ShopClient, *, units: int = 1, ship: bool = True, **account: Any
                           ) -> tuple[dict[str, str], dict[str, Any], list[dict[str, Any]]]:
    """A customer, their confirmed (and shipped) KZ order, and its bundles."""
    await set_clock(shop, ORDERED)
    customer = await shop.customer(**account)
    order = await shop.confirmed_order(customer, order_body("KZ", [(PHONE, units)]))
    if ship:
        response = await shop.ops_post(f"/orders/{order['id']}/ship", {
            "carrier": "Kazpost", "tracking_number": "KP1",
            "devices": [{"line_id": order["lines"][0]["id"], "imeis": fresh_imeis(units)}]})
        assert response.status_code == 200, response.text
    return customer, order, (await shop.order(customer, order["id"]))["perks"]


def perk_of(bundle: dict[str, Any], code: str) -> dict[str, Any]:
    return next(perk for perk in bundle["perks"] if perk["code"] == code)


async def activate(shop: ShopClient, perk_ids: list[str], opens_at: str) -> None:
    """Test-only stand-in for the device's activation in Kazakhstan (KZ-1): PERK `activate` with
    the instant the perk opens, written through the store."""
    def work(uow: Any) -> None:
        for perk_id in perk_ids:
            perk = uow.perks.get(perk_id, lock=True)
            uow.perks.move(perk, PERK.fire(perk.state, "activate"), now=uow.now(),
                           opens_at=datetime.fromisoformat(opens_at))
    await shop.ctx.db.transaction(work)


async def revoke(shop: ShopClient, perk_id: str) -> None:
    """Test-only stand-in for a return of the device (P-3)."""
    def work(uow: Any) -> None:
        perk = uow.perks.get(perk_id, lock=True)
        uow.perks.move(perk, PERK.fire(perk.state, "revoke"), now=uow.now(), reason="device_returned")
    await shop.ctx.db.transaction(work)


def spotify_form(bundle: dict[str, Any], order: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"device_type": bundle["model"], "purchase_channel": "mi_com", "imei": bundle["imei"],
            "email": f"perk-{uuid.uuid4().hex[:12]}@mail.example.kz", "confirmation_code": order["number"],
            "new_partner_user": True, "individual_plan": True, **changes}


def lounge_form(bundle: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"name": "Aigerim Bekova", "device_type": bundle["model"], "imei": bundle["imei"],
            "email": f"lounge-{uuid.uuid4().hex[:12]}@mail.example.kz", "phone": "+77012345678", **changes}


async def redeem(shop: ShopClient, customer: dict[str, str], perk_id: str, body: dict[str, Any] | None = None,
                 **headers: str) -> Any:
    return await shop.http.post(f"/api/v1/perks/{perk_id}/redeem", json=body,
                                headers={**customer, **headers})


async def open_spotify(shop: ShopClient, **account: Any) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    customer, order, [bundle] = await shipped_kz_order(shop, **account)
    await activate(shop, [perk_of(bundle, "spotify")["id"]], SPOTIFY_OPENS)
    await set_clock(shop, LATER)
    return customer, order, bundle


async def stored_perk(shop: ShopClient, perk_id: str) -> Any:
    perks = table_of(BundlePerk)
    return await shop.ctx.db.read(lambda uow: uow.connection.execute(
        select(perks).where(perks.c.id == perk_id)).one())


async def perk_emails(shop: ShopClient, order_id: str) -> list[Any]:
    emails = table_of(OutboxEmail)
    return await shop.ctx.db.read(lambda uow: list(uow.connection.execute(
        select(emails).where(emails.c.order_id == order_id, emails.c.kind == "perk_code"))))


def assert_problem(response: Any, status: int, *, code: str, clause: str | None = None,
                   field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["code"] == code, problem
    if clause is not None:
        assert problem["clause"] == clause, problem
    if field is not None:
        assert problem["field"] == field, problem
    return problem


# --- service codes (KZ-4.1, KZ-4.2, P-4) ---------------------------------------------------------

async def test_spotify_redeemed_gives_a_one_time_code_and_emails_a_link_not_the_code_KZ_4_2(shop, smtp):
    customer, order, bundle = await open_spotify(shop)
    spotify = perk_of(bundle, "spotify")
    form = spotify_form(bundle, order)

    response = await redeem(shop, customer, spotify["id"], form)

    assert response.status_code == 200, response.text
    answer = response.json()
    code = answer["service_code"]
    assert re.match(CODE_SHAPE, code)
    assert (answer["perk"], answer["state"], answer["redemption"], answer["code_hint"]) == (
        "spotify", "redeemed", "service_code", code[-4:])
    assert answer["redeemed_at"] == LATER
    message = await smtp.wait_for_async(lambda m: m["To"] == form["email"])
    body = message.get_body(("plain",)).get_content()
    assert f"{shop.ctx.settings.public_url}/api/v1/perks/{spotify['id']}/code" in body and code[-4:] in body
    assert code not in body and code not in message["Subject"]
    assert "Spotify Premium" in message["Subject"] and order["number"] in message["Subject"]
    shown = perk_of((await shop.order(customer, order["id"]))["perks"][0], "spotify")
    assert (shown["state"], shown["code_hint"], shown["redeemed_at"]) == ("redeemed", code[-4:], LATER)
    entries = await shop.ctx.db.read(lambda uow: uow.timeline.of_order(order["id"]))
    [entry] = [e for e in entries if e.machine == "perk" and e.event == "redeem"]
    assert (entry.subject_id, entry.to_state, entry.clause) == (spotify["id"], "redeemed", "P-4")
    assert entry.actor.startswith("customer:")


async def test_the_code_is_stored_only_as_hash_and_hint_and_the_form_only_as_its_KZ_5_1_fields(shop):
    customer, order, [bundle] = await shipped_kz_order(shop)
    lounge = perk_of(bundle, "lounge")
    await activate(shop, [lounge["id"]], LOUNGE_OPENS)
    await set_clock(shop, LATER)
    form = lounge_form(bundle, email="Lounge.Guest@Mail.Example.KZ")

    response = await redeem(shop, customer, lounge["id"], form)

    assert response.status_code == 200, response.text
    code = response.json()["service_code"]
    row = await stored_perk(shop, lounge["id"])
    assert (row.state, row.code_hash, row.code_hint) == ("redeemed", code_hash(code), code_hint(code))
    assert row.code_hash == hashlib.sha256(code.encode()).hexdigest() and len(row.code_salt) == 32
    stored = " ".join(str(value) for value in row)
    assert code not in stored and code.replace("-", "") not in stored
    assert row.redemption == {"name": "Aigerim Bekova", "email": "lounge.guest@mail.example.kz",
                              "phone": "+77012345678", "device_type": "Xiaomi 15T", "imei": bundle["imei"]}
    assert set(row.redemption) <= set(REDEMPTION_FIELDS)
    [email] = await perk_emails(shop, order["id"])
    assert email.to == "lounge.guest@mail.example.kz"  # KZ-4.1 iii: the address given in the form
    assert code not in email.body and code[-4:] in email.body and "DragonPass" in email.subject


async def test_a_repeated_request_returns_the_same_code_and_no_second_email_P_4(shop):
    customer, order, bundle = await open_spotify(shop)
    spotify = perk_of(bundle, "spotify")

    first = await redeem(shop, customer, spotify["id"], spotify_form(bundle, order))
    again = await redeem(shop, customer, spotify["id"], spotify_form(bundle, order), **{"Idempotency-Key": "k-1"})
    link = await shop.http.get(f"/api/v1/perks/{spotify['id']}/code", headers=customer)

    assert first.status_code == again.status_code == link.status_code == 200, (again.text, link.text)
    assert first.json()["service_code"] == again.json()["service_code"] == link.json()["service_code"]
    assert first.json()["redeemed_at"] == again.json()["redeemed_at"]
    assert len(await perk_emails(shop, order["id"])) == 1


async def test_two_requests_at_once_give_one_code_and_one_email_P_4(shop):
    customer, order, bundle = await open_spotify(shop)
    spotify = perk_of(bundle, "spotify")

    answers = await asyncio.gather(*(redeem(shop, customer, spotify["id"], spotify_form(bundle, order))
                                     for _ in range(2)))

    assert [answer.status_code for answer in answers] == [200, 200], [answer.text for answer in answers]
    assert len({answer.json()["service_code"] for answer in answers}) == 1
    assert len(await perk_emails(shop, order["id"])) == 1
    entries = await shop.ctx.db.read(lambda uow: uow.timeline.of_order(order["id"]))
    assert [e.event for e in entries if e.machine == "perk" and e.subject_id == spotify["id"]].count("redeem") == 1


async def test_the_form_is_checked_before_a_code_each_refusal_naming_its_field_KZ_4_2(shop):
    customer, order, bundle = await open_spotify(shop)
    spotify = perk_of(bundle, "spotify")
    other_imei = fresh_imeis(1)[0]
    refused = {
        "imei": ({"imei": other_imei}, "imei_not_this_device", "KZ-4.2"),
        "device_type": ({"device_type": "Xiaomi 15T Pro"}, "device_type_not_this_device", "KZ-1"),
        "purchase_channel": ({"purchase_channel": "mi_store"}, "purchase_channel_not_this_shop", "KZ-1"),
        "confirmation_code": ({"confirmation_code": "KZ-0000"}, "confirmation_code_wrong", "KZ-4.2"),
        "new_partner_user": ({"new_partner_user": False}, "condition_not_declared", "KZ-4.2"),
        "individual_plan": ({"individual_plan": None}, "condition_not_declared", "KZ-4.2"),
    }
    for field, (change, code, clause) in refused.items():
        response = await redeem(shop, customer, spotify["id"], spotify_form(bundle, order, **change))
        assert_problem(response, 422, code=code, clause=clause, field=field)
    missing = spotify_form(bundle, order)
    del missing["confirmation_code"]
    assert_problem(await redeem(shop, customer, spotify["id"], missing), 422, code="redemption_field_missing",
                   clause="KZ-4.2", field="confirmation_code")
    assert_problem(await redeem(shop, customer, spotify["id"]), 422, code="redemption_form_missing", field="imei")
    assert_problem(await redeem(shop, customer, spotify["id"], spotify_form(bundle, order, email="no-at-sign")),
                   422, code="invalid_email", field="email")
    shown = perk_of((await shop.order(customer, order["id"]))["perks"][0], "spotify")
    assert (shown["state"], shown["redeemed_at"], shown["code_hint"]) == ("open", None, None)
    assert await perk_emails(shop, order["id"]) == []


async def test_the_lounge_form_needs_the_guests_name_KZ_4_1(shop):
    customer, order, [bundle] = await shipped_kz_order(shop)
    lounge = perk_of(bundle, "lounge")
    await activate(shop, [lounge["id"]], LOUNGE_OPENS)
    await set_clock(shop, LATER)

    response = await redeem(shop, customer, lounge["id"], lounge_form(bundle, name=None))

    assert_problem(response, 422, code="redemption_field_missing", clause="KZ-4.1", field="name")


async def test_spotify_only_for_customers_of_18_on_the_almaty_date_KZ_4_2(shop):
    # 18 on 20 Oct 2025: at 18:59 UTC on 19 Oct it is already 20 Oct in Almaty (UTC+5).
    consent = {"guardian_name": "Dana Bekova", "given_at": "2025-09-01"}
    customer, order, bundle = await open_spotify(shop, birth_date="2007-10-20", guardian_consent=consent)
    spotify = perk_of(bundle, "spotify")

    await set_clock(shop, "2025-10-19T18:59:59Z")  # 19 Oct 23:59:59 Almaty: still 17
    minor = await redeem(shop, customer, spotify["id"], spotify_form(bundle, order))
    await set_clock(shop, "2025-10-19T19:00:00Z")  # 20 Oct 00:00 Almaty: 18
    adult = await redeem(shop, customer, spotify["id"], spotify_form(bundle, order))

    assert_problem(minor, 422, code="perk_for_adults_only", clause="KZ-4.2")
    assert adult.status_code == 200, adult.text


# --- perks that are not open (KZ-4.1 ii, KZ-4.2, KZ-3, P-1, P-2, P-3) -----------------------------

async def test_a_perk_not_open_yet_is_409_naming_when_it_opens_KZ_4_2(shop):
    customer, order, [bundle] = await shipped_kz_order(shop)
    spotify, lounge = perk_of(bundle, "spotify"), perk_of(bundle, "lounge")
    await activate(shop, [spotify["id"]], "2025-10-02T19:00:00Z")  # the clock stays at 1 Oct

    activated = await redeem(shop, customer, spotify["id"], spotify_form(bundle, order))
    waiting = await redeem(shop, customer, lounge["id"], lounge_form(bundle))

    problem = assert_problem(activated, 409, code="perk_not_open_yet", clause="KZ-4.2")
    assert "2025-10-02T19:00:00Z" in problem["detail"]
    problem = assert_problem(waiting, 409, code="perk_not_open_yet", clause="KZ-4.1")
    assert "activation" in problem["detail"]


async def test_spotify_redeemed_at_its_last_second_and_expired_after_08_08_2026_23_59_Almaty_KZ_3(shop):
    customer, order, bundles = await shipped_kz_order(shop, units=2)
    first, second = (perk_of(bundle, "spotify") for bundle in bundles)
    await activate(shop, [first["id"], second["id"]], SPOTIFY_OPENS)

    await set_clock(shop, "2026-08-08T18:59:59Z")  # 08.08.2026 23:59:59 Almaty
    last_second = await redeem(shop, customer, first["id"], spotify_form(bundles[0], order))
    await set_clock(shop, "2026-08-08T19:00:00Z")
    too_late = await redeem(shop, customer, second["id"], spotify_form(bundles[1], order))

    assert last_second.status_code == 200, last_second.text
    assert_problem(too_late, 409, code="perk_expired", clause="KZ-3")
    shown = (await shop.order(customer, order["id"]))["perks"]
    assert [perk_of(bundle, "spotify")["state"] for bundle in shown] == ["redeemed", "expired"]


async def test_a_revoked_perk_cannot_be_redeemed_P_3(shop):
    customer, order, bundle = await open_spotify(shop)
    spotify = perk_of(bundle, "spotify")
    await revoke(shop, spotify["id"])

    response = await redeem(shop, customer, spotify["id"], spotify_form(bundle, order))

    assert_problem(response, 409, code="perk_revoked", clause="P-3")


async def test_a_perk_not_available_at_purchase_is_409_with_its_clause_P_2(shop):
    await set_clock(shop, "2025-11-03T05:00:00Z")  # after the lounge's purchase window (KZ-4.1)
    customer = await shop.customer()
    order = await shop.shipped_order(customer, order_body("KZ", [(PHONE, 1)]))
    lounge = perk_of(order["perks"][0], "lounge")

    response = await redeem(shop, customer, lounge["id"], lounge_form(order["perks"][0]))

    assert_problem(response, 409, code="perk_not_available", clause="KZ-4.1")


async def test_a_bundle_not_shipped_cannot_be_redeemed_P_1(shop):
    customer, order, [bundle] = await shipped_kz_order(shop, ship=False)
    spotify = perk_of(bundle, "spotify")
    await activate(shop, [spotify["id"]], SPOTIFY_OPENS)
    await set_clock(shop, LATER)

    response = await redeem(shop, customer, spotify["id"], spotify_form(bundle, order, imei=fresh_imeis(1)[0]))

    assert_problem(response, 409, code="device_not_shipped", clause="P-1")


# --- partner-app and service-case perks (KZ-4.3 … KZ-4.7) --------------------------------------

async def test_partner_app_perks_answer_how_and_until_when_and_no_code_KZ_4_3_KZ_4_4(shop):
    customer, order, [bundle] = await shipped_kz_order(shop)

    answers = {code: await redeem(shop, customer, perk_of(bundle, code)["id"]) for code in ("google_ai_pro", "youtube")}

    for code, activate_by in (("google_ai_pro", "2026-03-31T18:59:59Z"), ("youtube", "2026-08-31T18:59:59Z")):
        assert answers[code].status_code == 200, answers[code].text
        answer = answers[code].json()
        assert (answer["redemption"], answer["state"], answer["service_code"], answer["activate_by"]) == (
            "partner_app", "open", None, activate_by)
        assert "app" in answer["how"]
    assert perk_of((await shop.order(customer, order["id"]))["perks"][0], "google_ai_pro")["state"] == "open"
    assert await perk_emails(shop, order["id"]) == []
    assert_problem(await shop.http.get(f"/api/v1/perks/{perk_of(bundle, 'youtube')['id']}/code", headers=customer),
                   409, code="no_service_code", clause="KZ-4.4")


async def test_a_partner_app_perk_after_its_deadline_is_409_KZ_4_3(shop):
    customer, order, [bundle] = await shipped_kz_order(shop)
    await set_clock(shop, "2026-03-31T19:00:00Z")  # 01.04.2026 00:00 Almaty

    response = await redeem(shop, customer, perk_of(bundle, "google_ai_pro")["id"])

    assert_problem(response, 409, code="perk_expired", clause="KZ-4.3")


@pytest.mark.parametrize("code,clause", [("extended_warranty", "KZ-4.5"), ("screen_repair", "KZ-4.6"),
                                         ("free_labour_repair", "KZ-4.7")])
async def test_service_case_perks_are_not_redeemed_here_KZ_4_5_to_4_7(shop, code, clause):
    customer, order, [bundle] = await shipped_kz_order(shop)

    response = await redeem(shop, customer, perk_of(bundle, code)["id"])

    assert_problem(response, 409, code="redeemed_through_service_case", clause=clause)


# --- whose perk ------------------------------------------------------------------------------------

async def test_another_customers_perk_or_an_unknown_one_is_404(shop):
    customer, order, bundle = await open_spotify(shop)
    spotify = perk_of(bundle, "spotify")
    assert (await redeem(shop, customer, spotify["id"], spotify_form(bundle, order))).status_code == 200
    stranger = await shop.customer()

    assert_problem(await redeem(shop, stranger, spotify["id"], spotify_form(bundle, order)), 404,
                   code="perk_not_found")
    assert_problem(await shop.http.get(f"/api/v1/perks/{spotify['id']}/code", headers=stranger), 404,
                   code="perk_not_found")
    assert_problem(await redeem(shop, customer, str(uuid.uuid4())), 404, code="perk_not_found")
    assert (await shop.http.post(f"/api/v1/perks/{spotify['id']}/redeem", json=None)).status_code == 401


async def test_the_code_link_before_redemption_is_409_P_4(shop):
    customer, order, bundle = await open_spotify(shop)

    response = await shop.http.get(f"/api/v1/perks/{perk_of(bundle, 'spotify')['id']}/code", headers=customer)

    assert_problem(response, 409, code="perk_not_redeemed", clause="P-4")


# --- the code itself (pure) ------------------------------------------------------------------------

def test_the_code_is_derived_again_from_its_salt_and_refused_under_another_secret_key_P_4():
    code = derive_code("key-one", "perk-1", "salt")

    assert derive_code("key-one", "perk-1", "salt") == code
    assert derive_code("key-one", "perk-2", "salt") != code and derive_code("key-one", "perk-1", "pepper") != code
    assert re.match(CODE_SHAPE, code)
    assert rederive("key-one", "perk-1", "salt", code_hash(code), code_hint(code)) == code
    with pytest.raises(Conflict) as refused:
        rederive("key-two", "perk-1", "salt", code_hash(code), code_hint(code))
    assert refused.value.code == "service_code_unrecoverable" and code_hint(code) in refused.value.detail


async def test_no_code_while_the_device_is_being_returned_P_3(shop):
    customer, order, bundle = await open_spotify(shop)
    response = await shop.ops_post(f"/orders/{order['id']}/deliver", {"delivered_at": LATER})
    assert response.status_code == 200, response.text
    withdrawal = await shop.http.post(f"/api/v1/orders/{order['id']}/withdrawals", json={}, headers=customer)
    assert withdrawal.status_code == 201, withdrawal.text

    response = await redeem(shop, customer, perk_of(bundle, "spotify")["id"], spotify_form(bundle, order))

    assert_problem(response, 409, code="device_being_returned", clause="P-3")
    assert (await stored_perk(shop, perk_of(bundle, "spotify")["id"])).code_hash is None
    assert perk_of((await shop.order(customer, order["id"]))["perks"][0], "spotify")["state"] == "open"
