"""STOREFRONT-API.md (checkout quote): "the perks that would come with each qualifying line", through
the API on SQLite and PostgreSQL. A KZ line of a qualifying model (KZ-1, KZ-5.3) lists every perk
of the bundle as GET /perks/eligibility judges it for the quote's local date in Almaty (P-1
Decision: the purchase date is the local date of the order); other lines and RS quotes list none.
The quote stays read-only (RS-III.3), and placing an order does not compute them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from shop.adapters.perk_tables import BundlePerk, PerkBundle
from shop.adapters.tables import table_of
from tests.ops_support import set_clock
from tests.support import order_body

QUOTE, ELIGIBILITY = "/api/v1/checkout/quote", "/api/v1/perks/eligibility"
PHONE, PRO, CHARGER = "kz-15t-12-256", "kz-15t-pro-12-512", "kz-charger-67w"
ALL_CODES = ["lounge", "spotify", "google_ai_pro", "youtube", "extended_warranty", "screen_repair",
             "free_labour_repair"]
EDITION = "kz-vip-2025-09-24"


async def quoted_lines(shop, market: str, lines: list[tuple[str, int]], at: str) -> dict[str, dict[str, Any]]:
    await set_clock(shop, at)
    response = await shop.http.post(QUOTE, json=order_body(market, lines))
    assert response.status_code == 200, response.text
    return {line["sku"]: line for line in response.json()["lines"]}


async def judged(shop, model: str, purchased_on: str) -> list[dict[str, Any]]:
    response = await shop.http.get(ELIGIBILITY, params={"model": model, "market": "KZ",
                                                        "purchased_on": purchased_on})
    assert response.status_code == 200, response.text
    return response.json()["perks"]


async def test_kz_quote_lists_the_perks_of_a_qualifying_line_as_eligibility_judges_them_KZ_1_P_1(shop):
    lines = await quoted_lines(shop, "KZ", [(PHONE, 1), (CHARGER, 1)], "2025-10-01T05:00:00Z")  # 10:00 Almaty

    phone = lines[PHONE]
    assert phone["perk_terms_version"] == EDITION
    assert [perk["code"] for perk in phone["perks"]] == ALL_CODES
    assert all(perk["qualifies"] and perk["reason"] is None for perk in phone["perks"])  # inside every window
    assert phone["perks"] == await judged(shop, "Xiaomi 15T", "2025-10-01")
    perks = {perk["code"]: perk for perk in phone["perks"]}
    assert (perks["lounge"]["clause"], perks["lounge"]["activate_by"], perks["lounge"]["use_by"]) == (
        "KZ-4.1", "2025-10-31T18:59:59Z", "2026-03-25T18:59:59Z")
    assert perks["screen_repair"]["use_by"] == "2026-04-01T18:59:59Z"  # KZ-4.6: 6 months (T-2)
    assert (lines[CHARGER]["perks"], lines[CHARGER]["perk_terms_version"]) == ([], None)  # KZ-5.3


async def test_kz_quote_judges_the_local_date_in_almaty_not_utc_P_1(shop):
    # 23.09.2025 23:59:59 in Almaty: before the VIP terms (RS-XV Decision); a second later, 24.09.
    before = await quoted_lines(shop, "KZ", [(PRO, 1)], "2025-09-23T18:59:59Z")
    on = await quoted_lines(shop, "KZ", [(PRO, 1)], "2025-09-23T19:00:00Z")

    assert (before[PRO]["perks"], before[PRO]["perk_terms_version"]) == ([], None)
    assert on[PRO]["perk_terms_version"] == EDITION
    assert on[PRO]["perks"] == await judged(shop, "Xiaomi 15T Pro", "2025-09-24")


async def test_rs_quote_lists_no_perk_KZ_1(shop):
    lines = await quoted_lines(shop, "RS", [("rs-15t-12-256", 1)], "2025-10-01T05:00:00Z")

    assert (lines["rs-15t-12-256"]["perks"], lines["rs-15t-12-256"]["perk_terms_version"]) == ([], None)


async def test_kz_quote_shows_a_perk_past_its_window_not_qualifying_with_reason_and_clause_P_2(shop):
    late = await quoted_lines(shop, "KZ", [(PHONE, 1)], "2025-11-03T05:00:00Z")
    waiting = await quoted_lines(shop, "KZ", [(PHONE, 1)], "2025-10-17T05:00:00Z")

    lounge = {perk["code"]: perk for perk in late[PHONE]["perks"]}["lounge"]
    assert (lounge["qualifies"], lounge["reason"], lounge["clause"]) == (False, "purchased_after_window", "KZ-4.1")
    assert all(perk["qualifies"] for perk in late[PHONE]["perks"] if perk["code"] != "lounge")
    # KZ-3 lounge_wait: bought 17.10.2025 it could open only after 31.10.2025 23:59
    lounge = {perk["code"]: perk for perk in waiting[PHONE]["perks"]}["lounge"]
    assert (lounge["qualifies"], lounge["reason"], lounge["clause"]) == (
        False, "opens_after_activation_deadline", "KZ-3")


async def test_quote_stores_no_perk_RS_III_3(shop):
    await quoted_lines(shop, "KZ", [(PHONE, 2), (PRO, 1)], "2025-10-01T05:00:00Z")

    for table in (PerkBundle, BundlePerk):
        statement = select(func.count()).select_from(table_of(table))
        assert await shop.ctx.db.read(lambda uow, s=statement: uow.connection.execute(s).scalar_one()) == 0


async def test_placing_an_order_does_not_compute_the_quotes_perks(shop, monkeypatch):
    """The perks are the quote's presentation only: the order's path (the bench's) does no such work."""
    def refuse(*args: Any) -> None:
        raise AssertionError("placing an order judged the quote's perks")

    monkeypatch.setattr("shop.web.presenters.line_perks", refuse)
    await set_clock(shop, "2025-10-01T05:00:00Z")
    customer = await shop.customer()

    order = await shop.place(customer, order_body("KZ", [(PHONE, 1)]))

    assert order["lines"][0]["sku"] == PHONE
