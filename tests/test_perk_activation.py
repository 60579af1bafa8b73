"""KZ-1, KZ-4.1 ii, KZ-4.2: a device's activation reported by staff (POST /ops/devices/{imei}/activation)
or by the activation feed (`make activations`), on SQLite and PostgreSQL. In Kazakhstan the perks that
wait for it open at 00:00 Almaty time after their wait (T-1 Decision: the lounge after 14 days,
Spotify after 1); abroad they are not available. The first report counts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ops_support import set_clock
from tests.support import ShopClient, fresh_imeis, order_body, run_task
from tests.test_perk_bundles import ORDERED, PHONE, perks_of

ACTIVATED = "2025-10-02T05:00:00Z"  # 2 Oct 10:00 Almaty
SPOTIFY_OPENS = "2025-10-03T19:00:00Z"  # 4 Oct 00:00 Almaty: 1 day's wait ends at the end of 3 Oct
LOUNGE_OPENS = "2025-10-16T19:00:00Z"  # 17 Oct 00:00 Almaty: 14 days' wait ends at the end of 16 Oct


async def shipped_kz_order(shop: ShopClient, units: int = 1, *, at: str = ORDERED
                           ) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    await set_clock(shop, at)
    customer = await shop.customer()
    order = await shop.confirmed_order(customer, order_body("KZ", [(PHONE, units)]))
    imeis = fresh_imeis(units)
    response = await shop.ops_post(f"/orders/{order['id']}/ship", {
        "carrier": "Kazpost", "tracking_number": "KP1", "devices": [{"line_id": order["lines"][0]["id"],
                                                                     "imeis": imeis}]})
    assert response.status_code == 200, response.text
    return customer, response.json(), imeis


async def activate(shop: ShopClient, imei: str, country: str = "KZ", activated_at: str = ACTIVATED) -> Any:
    return await shop.ops_post(f"/devices/{imei}/activation", {"country": country, "activated_at": activated_at})


async def perks_now(shop: ShopClient, customer: dict[str, str], order: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [bundle] = (await shop.order(customer, order["id"]))["perks"]
    return perks_of(bundle)


async def test_activation_in_kz_opens_spotify_after_1_day_and_the_lounge_after_14_at_00_00_almaty_KZ_4_1_KZ_4_2_T_1(shop):
    customer, order, [imei] = await shipped_kz_order(shop)
    await set_clock(shop, "2025-10-02T06:00:00Z")

    response = await activate(shop, imei)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["imei"], body["country"], body["activated_at"]) == (imei, "KZ", ACTIVATED)
    assert body["source"].startswith("ops:")
    assert [(p["code"], p["state"], p["opens_at"], p["order_id"]) for p in body["perks"]] == [
        ("lounge", "activated", LOUNGE_OPENS, order["id"]), ("spotify", "activated", SPOTIFY_OPENS, order["id"])]
    table = [  # (instant, lounge, spotify): the day before, the first instant, the day after
        ("2025-10-03T18:59:59Z", "activated", "activated"),
        (SPOTIFY_OPENS, "activated", "open"),
        ("2025-10-04T19:00:00Z", "activated", "open"),
        ("2025-10-16T18:59:59Z", "activated", "open"),
        (LOUNGE_OPENS, "open", "open"),
        ("2025-10-17T19:00:00Z", "open", "open"),
    ]
    for at, lounge, spotify in table:
        await set_clock(shop, at)
        perks = await perks_now(shop, customer, order)
        assert (at, perks["lounge"]["state"], perks["spotify"]["state"]) == (at, lounge, spotify)
    assert perks["google_ai_pro"]["state"] == "open"  # starts from the purchase: untouched
    entries = await shop.ctx.db.read(lambda uow: uow.timeline.of_order(order["id"]))
    assert sorted((e.event, e.clause, e.actor.split(":")[0]) for e in entries
                  if e.machine == "perk" and e.event != "grant") == [("activate", "KZ-1", "ops")] * 2


async def test_a_late_report_opens_at_once_what_its_wait_has_passed_T_1_KZ_4_2(shop):
    customer, order, [imei] = await shipped_kz_order(shop)
    await set_clock(shop, "2025-10-05T05:00:00Z")  # reported three days after the activation

    body = (await activate(shop, imei)).json()

    perks = {p["code"]: p for p in body["perks"]}
    assert (perks["spotify"]["state"], perks["lounge"]["state"]) == ("open", "activated")
    stored = await shop.ctx.db.read(lambda uow: uow.perks.of_orders([order["id"]]))
    assert {p.code: p.state for p in stored[order["id"]][0].perks}["spotify"] == "open"  # the clock's step written
    entries = await shop.ctx.db.read(lambda uow: uow.timeline.of_order(order["id"]))
    assert [(e.event, e.actor) for e in entries if e.machine == "perk" and e.event == "open"] == [("open", "clock")]


async def test_activation_abroad_makes_the_perks_waiting_for_it_not_available_KZ_1(shop):
    customer, order, [imei] = await shipped_kz_order(shop)
    await set_clock(shop, "2025-10-02T06:00:00Z")

    body = (await activate(shop, imei, "tr")).json()

    assert body["country"] == "TR"
    assert [(p["code"], p["state"], p["reason"], p["clause"]) for p in body["perks"]] == [
        ("lounge", "not_available", "activated_outside_kz", "KZ-1"),
        ("spotify", "not_available", "activated_outside_kz", "KZ-1")]
    perks = await perks_now(shop, customer, order)
    assert perks["youtube"]["state"] == "open" and perks["screen_repair"]["state"] == "open"


async def test_the_same_report_again_answers_the_same_and_a_different_one_is_409_KZ_1(shop):
    _, _, [imei] = await shipped_kz_order(shop)
    await set_clock(shop, "2025-10-02T06:00:00Z")
    first = await activate(shop, imei)

    again = await activate(shop, imei, "kz", "2025-10-02T10:00:00+05:00")  # the same instant, another spelling
    elsewhere = await activate(shop, imei, "RU")
    later = await activate(shop, imei, "KZ", "2025-10-02T05:00:01Z")

    assert (again.status_code, again.json()) == (200, first.json())
    for refused in (elsewhere, later):
        assert refused.status_code == 409, refused.text
        assert (refused.json()["code"], refused.json()["clause"]) == ("activation_already_recorded", "KZ-1")
        assert "KZ at 2025-10-02T05:00:00+00:00" in refused.json()["detail"]


async def test_a_device_the_shop_did_not_sell_is_recorded_and_has_no_perks_KZ_1(shop):
    await set_clock(shop, ORDERED)
    [imei] = fresh_imeis(1)

    first, again = await activate(shop, imei, "KZ", "2025-09-30T05:00:00Z"), await activate(
        shop, imei, "KZ", "2025-09-30T05:00:00Z")

    assert (first.status_code, first.json()["perks"]) == (200, [])
    assert again.json() == first.json()
    stored = await shop.ctx.db.read(lambda uow: uow.devices.activation(imei))
    assert stored is not None and stored.country == "KZ"


async def test_an_activation_reported_before_the_device_ships_is_applied_when_it_ships_KZ_1_P_1(shop):
    await set_clock(shop, ORDERED)
    customer = await shop.customer()
    order = await shop.confirmed_order(customer, order_body("KZ", [(PHONE, 1)]))
    [imei] = fresh_imeis(1)
    await set_clock(shop, "2025-10-01T08:00:00Z")
    assert (await activate(shop, imei, "KZ", "2025-10-01T07:00:00Z")).json()["perks"] == []
    await set_clock(shop, "2025-10-02T06:00:00Z")

    response = await shop.ops_post(f"/orders/{order['id']}/ship", {
        "carrier": "Kazpost", "tracking_number": "KP1", "devices": [{"line_id": order["lines"][0]["id"],
                                                                     "imeis": [imei]}]})

    assert response.status_code == 200, response.text
    perks = await perks_now(shop, customer, order)
    # activated 1 Oct 12:00 Almaty: Spotify opens 3 Oct 00:00, the lounge 16 Oct 00:00 (Almaty)
    assert (perks["spotify"]["state"], perks["spotify"]["opens_at"]) == ("activated", "2025-10-02T19:00:00Z")
    assert (perks["lounge"]["state"], perks["lounge"]["opens_at"]) == ("activated", "2025-10-15T19:00:00Z")
    assert [p["state"] for p in (await activate(shop, imei, "KZ", "2025-10-01T07:00:00Z")).json()["perks"]] == [
        "activated", "activated"]


@pytest.mark.parametrize(("imei", "country", "activated_at", "status", "code", "field"), [
    ("490154203237519", "KZ", ACTIVATED, 422, "invalid_imei", "imei"),  # check digit wrong
    ("12345", "KZ", ACTIVATED, 422, "invalid_imei", "imei"),
    (None, "KZ", "2025-10-02T06:00:01Z", 422, "activated_at_in_future", "activated_at"),
    (None, "KZ", "2025-10-01T04:59:59Z", 422, "activated_before_order", "activated_at"),
    (None, "KAZ", ACTIVATED, 400, "validation_error", None),
    (None, "KZ", "2025-10-02T05:00:00", 400, "validation_error", None),  # no offset
])
async def test_an_unusable_report_is_refused_naming_its_field_KZ_1_T_6(shop, imei, country, activated_at, status,
                                                                          code, field):
    _, _, [shipped] = await shipped_kz_order(shop)
    await set_clock(shop, "2025-10-02T06:00:00Z")

    response = await activate(shop, imei or shipped, country, activated_at)

    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    if field:
        assert response.json()["field"] == field
    assert await shop.ctx.db.read(lambda uow: uow.devices.activation(shipped)) is None


async def test_only_staff_report_activations_KZ_1(shop):
    customer, _, [imei] = await shipped_kz_order(shop)

    response = await shop.http.post(f"/api/v1/ops/devices/{imei}/activation", headers=customer,
                                    json={"country": "KZ", "activated_at": ACTIVATED})

    assert response.status_code == 403


async def test_make_activations_records_the_feed_line_by_line_KZ_1(shop, settings, tmp_path):
    customer, order, [imei] = await shipped_kz_order(shop)
    [unknown] = fresh_imeis(1)
    await set_clock(shop, "2025-10-02T06:00:00Z")
    feed = tmp_path / "activations.csv"
    feed.write_text(f"imei,country,activated_at\n{imei},KZ,{ACTIVATED}\n{unknown},DE,2025-09-01T00:00:00Z\n"
                    f"123,KZ,{ACTIVATED}\n{imei},KZ,{ACTIVATED}\n")
    run = run_task(settings, "activations", str(feed))

    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0] == f"line 2: {imei} activated in KZ at 2025-10-02T05:00:00Z: lounge activated, spotify activated [KZ-1]"
    assert lines[1] == f"line 3: {unknown} activated in DE at 2025-09-01T00:00:00Z: no perks [KZ-1]"
    assert lines[2].startswith("line 4: refused, invalid_imei: ")
    assert lines[3].endswith("(already recorded): lounge activated, spotify activated [KZ-1]")
    assert lines[-1] == f"activations from {feed}: 2 recorded, 1 already recorded, 1 refused"
    assert (await perks_now(shop, customer, order))["lounge"]["opens_at"] == LOUNGE_OPENS
