"""A Kazakh customer's Xiaomi 15T from order to return, through the shop's own routes only (no
stand-ins), on SQLite and PostgreSQL with localstripe and the SMTP server: the quote shows the perks
(KZ-1), the paid order is confirmed and its bundle made (P-1), the phone ships with its IMEI, staff
record its activation in Kazakhstan (KZ-1), Spotify opens a day later (KZ-4.2, T-1) and is redeemed
with a one-time code by e-mail link (P-4), a screen is replaced under its perk (KZ-4.6), and the
customer's withdrawal, once refunded, revokes what is left and lists what was used (P-3, RS-VII.9)."""

from __future__ import annotations

from typing import Any

from tests.ops_support import set_clock
from tests.support import ShopClient, fresh_imeis, ok, order_body

PHONE = "kz-15t-12-256"


def by_code(perks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {perk["code"]: perk for perk in perks}


async def test_a_15t_from_its_quote_to_its_return_through_the_api_P_1_to_P_4(shop: ShopClient, smtp):
    await set_clock(shop, "2025-10-01T05:00:00Z")  # 1 Oct 2025, 10:00 in Almaty
    customer = await shop.customer()
    quote = await ok(await shop.http.post("/api/v1/checkout/quote", json=order_body("KZ", [(PHONE, 1)]),
                                          headers=customer))
    assert {p["code"]: p["qualifies"] for p in quote["lines"][0]["perks"]} == dict.fromkeys(
        ["lounge", "spotify", "google_ai_pro", "youtube", "extended_warranty", "screen_repair",
         "free_labour_repair"], True)

    order = await shop.confirmed_order(customer, order_body("KZ", [(PHONE, 1)]))
    [imei] = fresh_imeis(1)
    await ok(await shop.ops_post(f"/orders/{order['id']}/ship", {
        "carrier": "Kazpost", "tracking_number": "KP1", "devices": [{"line_id": order["lines"][0]["id"],
                                                                     "imeis": [imei]}]}))
    await set_clock(shop, "2025-10-02T05:00:00Z")
    await ok(await shop.ops_post(f"/orders/{order['id']}/deliver", {"delivered_at": "2025-10-02T05:00:00Z"}))
    activated = await ok(await shop.ops_post(f"/devices/{imei}/activation",
                                             {"country": "KZ", "activated_at": "2025-10-02T05:00:00Z"}))
    assert {p["code"]: p["state"] for p in activated["perks"]} == {"lounge": "activated", "spotify": "activated"}

    await set_clock(shop, "2025-10-03T19:00:00Z")  # 4 Oct 00:00 Almaty: Spotify's day of wait is over
    [bundle] = (await shop.order(customer, order["id"]))["perks"]
    spotify = by_code(bundle["perks"])["spotify"]
    assert (bundle["imei"], spotify["state"]) == (imei, "open")
    form = {"device_type": "Xiaomi 15T", "purchase_channel": "mi_com", "imei": imei,
            "email": "aigerim.journey@mail.example.kz", "confirmation_code": order["number"],
            "new_partner_user": True, "individual_plan": True}
    redeemed = await ok(await shop.http.post(f"/api/v1/perks/{spotify['id']}/redeem", json=form, headers=customer))
    again = await ok(await shop.http.post(f"/api/v1/perks/{spotify['id']}/redeem", json=form, headers=customer))
    assert redeemed["service_code"] == again["service_code"]  # P-4
    message = await smtp.wait_for_async(lambda m: m["To"] == form["email"])
    assert redeemed["service_code"] not in message.get_body(("plain",)).get_content()

    case = await ok(await shop.ops_post(f"/devices/{imei}/service-cases",
                                        {"kind": "screen_repair", "fault": "cracked in a fall"}), 201)
    await ok(await shop.ops_post(f"/service-cases/{case['id']}/complete"))

    await set_clock(shop, "2025-10-05T05:00:00Z")
    withdrawal = await ok(await shop.http.post(f"/api/v1/orders/{order['id']}/withdrawals", json={},
                                               headers=customer), 201)
    assert sorted(p["code"] for p in withdrawal["redeemed_perks"]) == ["screen_repair", "spotify"]
    await ok(await shop.ops_post(f"/withdrawals/{withdrawal['id']}/return-label"))
    refunded = await ok(await shop.ops_post(f"/withdrawals/{withdrawal['id']}/receive", {"deduction_minor": 0}))
    assert refunded["state"] == "refunded"

    [bundle] = (await shop.order(customer, order["id"]))["perks"]
    assert {code: perk["state"] for code, perk in by_code(bundle["perks"]).items()} == {
        "lounge": "revoked", "spotify": "redeemed", "google_ai_pro": "revoked", "youtube": "revoked",
        "extended_warranty": "revoked", "screen_repair": "redeemed", "free_labour_repair": "revoked"}
    lounge = by_code(bundle["perks"])["lounge"]
    refused = await shop.http.post(f"/api/v1/perks/{lounge['id']}/redeem", headers=customer, json={
        "name": "Aigerim Bekova", "device_type": "Xiaomi 15T", "imei": imei, "email": form["email"]})
    assert (refused.status_code, refused.json()["code"], refused.json()["clause"]) == (409, "perk_revoked", "P-3")
