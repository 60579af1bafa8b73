"""P-1, P-2: the KZ VIP bundle on orders, through the API on SQLite and PostgreSQL: one bundle per
device of a qualifying line, made when it is paid and confirmed, with the terms edition and the local
purchase date it keeps, tied to the device's IMEI when it ships, each perk listed with its state as
of now (docs/lifecycle-perk.md)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import shop.domain.perks as perks_mod

from tests.ops_support import set_clock
from tests.support import ShopClient, fresh_imeis, order_body

PHONE, PRO, CHARGER = "kz-15t-12-256", "kz-15t-pro-12-512", "kz-charger-67w"
ORDERED = "2025-10-01T05:00:00Z"  # 10:00 in Almaty (UTC+5): inside every purchase window of KZ-4.1, 4.6
ALL_CODES = ["lounge", "spotify", "google_ai_pro", "youtube", "extended_warranty", "screen_repair",
             "free_labour_repair"]


def perks_of(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {perk["code"]: perk for perk in bundle["perks"]}


async def confirmed_kz_order(shop: ShopClient, lines: list[tuple[str, int]], *, at: str = ORDERED
                             ) -> tuple[dict[str, str], dict[str, Any]]:
    await set_clock(shop, at)
    customer = await shop.customer()
    return customer, await shop.confirmed_order(customer, order_body("KZ", lines))


async def test_a_bundle_per_device_of_a_confirmed_qualifying_line_P_1_KZ_1(shop):
    customer, order = await confirmed_kz_order(shop, [(PHONE, 2), (PRO, 1), (CHARGER, 1)])

    bundles = (await shop.order(customer, order["id"]))["perks"]

    lines = {line["sku"]: line["id"] for line in order["lines"]}
    assert [(b["line_id"], b["unit"], b["model"]) for b in bundles] == [
        (lines[PHONE], 1, "Xiaomi 15T"), (lines[PHONE], 2, "Xiaomi 15T"), (lines[PRO], 1, "Xiaomi 15T Pro")]
    for bundle in bundles:
        assert (bundle["terms_version"], bundle["purchased_on"], bundle["imei"]) == (
            "kz-vip-2025-09-24", "2025-10-01", None)
        assert [perk["code"] for perk in bundle["perks"]] == ALL_CODES
        states = {code: perk["state"] for code, perk in perks_of(bundle).items()}
        assert states == {"lounge": "waiting_for_activation", "spotify": "waiting_for_activation",
                          "google_ai_pro": "open", "youtube": "open", "extended_warranty": "open",
                          "screen_repair": "open", "free_labour_repair": "open"}
    assert len({perk["id"] for bundle in bundles for perk in bundle["perks"]}) == 21


async def test_deadlines_are_computed_when_the_bundle_is_made_from_the_local_order_date_P_1_T_2(shop):
    # 30 Sep 2025 20:00 UTC is 1 Oct 01:00 in Almaty: the purchase date is 1 Oct (P-1 Decision).
    customer, order = await confirmed_kz_order(shop, [(PHONE, 1)], at="2025-09-30T20:00:00Z")

    [bundle] = (await shop.order(customer, order["id"]))["perks"]

    perks = perks_of(bundle)
    assert bundle["purchased_on"] == "2025-10-01"
    assert (perks["lounge"]["activate_by"], perks["lounge"]["use_by"], perks["lounge"]["lapses_at"]) == (
        "2025-10-31T18:59:59Z", "2026-03-25T18:59:59Z", "2025-10-31T18:59:59Z")
    # KZ-4.5: 24 months from 1 Oct 2025 is 1 Oct 2027, a Friday: the end of that day in Almaty.
    assert perks["extended_warranty"]["use_by"] == "2027-10-01T18:59:59Z"
    assert perks["screen_repair"]["use_by"] == "2026-04-01T18:59:59Z"  # KZ-4.6: 6 months
    assert perks["free_labour_repair"]["use_by"] == "2026-10-01T18:59:59Z"  # KZ-4.7: 12 months
    assert perks["google_ai_pro"]["activate_by"] == "2026-03-31T18:59:59Z"  # KZ-4.3: 23:59 Almaty


async def test_a_perk_whose_window_had_passed_at_purchase_is_listed_not_available_P_2(shop):
    customer, order = await confirmed_kz_order(shop, [(PHONE, 1)], at="2025-11-03T05:00:00Z")

    [bundle] = (await shop.order(customer, order["id"]))["perks"]

    lounge = perks_of(bundle)["lounge"]
    assert (lounge["state"], lounge["reason"], lounge["clause"]) == (
        "not_available", "purchased_after_window", "KZ-4.1")
    assert perks_of(bundle)["spotify"]["state"] == "waiting_for_activation"


async def test_no_bundle_for_an_rs_order_a_line_not_confirmed_or_a_product_that_does_not_qualify_KZ_1_KZ_5_3(shop):
    await set_clock(shop, ORDERED)
    customer = await shop.customer()
    rs = await shop.confirmed_order(customer, order_body("RS"))
    paid = await shop.paid_order(customer, order_body("KZ", [(PHONE, 1), (CHARGER, 1)]))
    phone = next(line["id"] for line in paid["lines"] if line["sku"] == PHONE)
    response = await shop.ops_post(f"/orders/{paid['id']}/confirm", {"lines": [
        {"line_id": line["id"], "available": line["id"] != phone} for line in paid["lines"]]})
    assert response.status_code == 200, response.text

    assert (await shop.order(customer, rs["id"]))["perks"] == []
    assert (await shop.order(customer, paid["id"]))["perks"] == []  # the phone was not available (RS-IV.6)


async def test_the_bundle_is_tied_to_its_device_when_it_ships_P_1(shop):
    customer, order = await confirmed_kz_order(shop, [(PHONE, 2)])
    line = order["lines"][0]
    imeis = fresh_imeis(2)
    response = await shop.ops_post(f"/orders/{order['id']}/ship", {
        "carrier": "Kazpost", "tracking_number": "KP1", "devices": [{"line_id": line["id"], "imeis": imeis}]})
    assert response.status_code == 200, response.text

    bundles = (await shop.order(customer, order["id"]))["perks"]

    assert [(b["unit"], b["imei"]) for b in bundles] == [(1, imeis[0]), (2, imeis[1])]


async def test_a_perk_past_its_last_moment_shows_expired_by_the_clock_P_2(shop):
    customer, order = await confirmed_kz_order(shop, [(PHONE, 1)])

    await set_clock(shop, "2026-03-31T18:59:59Z")  # 31.03.2026 23:59:59 Almaty: Google AI Pro's last second
    before = perks_of((await shop.order(customer, order["id"]))["perks"][0])
    await set_clock(shop, "2026-03-31T19:00:00Z")
    after = perks_of((await shop.order(customer, order["id"]))["perks"][0])

    assert before["google_ai_pro"]["state"] == "open" and after["google_ai_pro"]["state"] == "expired"
    assert (before["lounge"]["state"], after["lounge"]["state"]) == ("expired", "expired")  # 31.10.2025
    assert after["youtube"]["state"] == "open"  # until 31.08.2026 23:59


async def test_each_perk_created_is_on_the_order_timeline_of_its_machine_P_1(shop):
    customer, order = await confirmed_kz_order(shop, [(PHONE, 1)])
    [bundle] = (await shop.order(customer, order["id"]))["perks"]

    entries = await shop.ctx.db.read(lambda uow: uow.timeline.of_order(order["id"]))

    perk_entries = {(e.subject_id, e.event, e.to_state, e.clause) for e in entries if e.machine == "perk"}
    assert perk_entries == {(perk["id"], "grant", perk["state"], "P-1") for perk in bundle["perks"]}


async def test_a_later_edition_of_the_terms_never_changes_a_bundle_already_made_P_1(shop, monkeypatch):
    customer, before = await confirmed_kz_order(shop, [(PHONE, 1)])
    old = perks_mod.PERK_TERMS[0]
    spotify = old.perk("spotify")
    later = dataclasses.replace(spotify, how="a new way", activate_by=dataclasses.replace(
        spotify.activate_by, day=date(2026, 12, 31)))
    edition = dataclasses.replace(old, version="kz-vip-2026-01-01", effective_from=date(2026, 1, 1),
                                  perks=tuple(later if p.code == "spotify" else p for p in old.perks))
    monkeypatch.setattr(perks_mod, "PERK_TERMS", (dataclasses.replace(old, effective_until=date(2025, 12, 31)),
                                                  edition))

    [kept] = (await shop.order(customer, before["id"]))["perks"]
    other, after = await confirmed_kz_order(shop, [(PHONE, 1)], at="2026-01-05T05:00:00Z")
    [made] = (await shop.order(other, after["id"]))["perks"]

    assert kept["terms_version"] == "kz-vip-2025-09-24"
    assert (perks_of(kept)["spotify"]["activate_by"], perks_of(kept)["spotify"]["how"]) == (
        "2026-08-08T18:59:59Z", spotify.how)
    assert made["terms_version"] == "kz-vip-2026-01-01"
    assert (perks_of(made)["spotify"]["activate_by"], perks_of(made)["spotify"]["how"]) == (
        "2026-12-31T18:59:59Z", "a new way")
