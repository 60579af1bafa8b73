"""The KZ perk bundle's eligibility (KZ-1, KZ-5.3, KZ-4.1 … KZ-4.7, KZ-3, P-2): the day before, on and
after each purchase-window edge and each fixed activation deadline, in Almaty time (UTC+5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shop.domain.perk_eligibility import eligibility
from shop.domain.perks import PERK_CODES, perk_terms, perk_terms_for

D = timedelta(days=1)


def judged(code: str, purchased_on: date, model: str = "Xiaomi 15T", market: str = "KZ"):
    return next(item for item in eligibility(model, market, purchased_on).perks if item.perk.code == code)


def almaty(y: int, m: int, d: int, hh: int = 23, mm: int = 59) -> datetime:
    """A local wall time in Almaty (UTC+5) as a UTC instant, at the minute's last microsecond."""
    return datetime(y, m, d, hh, mm, 59, 999999, tzinfo=UTC) - timedelta(hours=5)


# (purchase date, qualifies, reason, clause)
OPENS, LOUNGE_ENDS, SCREEN_ENDS = date(2025, 9, 24), date(2025, 10, 31), date(2026, 9, 25)


@pytest.mark.parametrize(("day", "qualifies", "reason", "clause"), [
    (OPENS - D, False, "before_perk_terms", "RS-XV"), (OPENS, True, None, "KZ-4.1"),
    (OPENS + D, True, None, "KZ-4.1"),
    # KZ-3 lounge_wait, decided by P-2: bought on 16.10 and activated that day, the lounge opens
    # 31.10 00:00, in time; bought on 17.10 it would open 01.11 00:00, after 31.10 23:59.
    (date(2025, 10, 16), True, None, "KZ-4.1"),
    (date(2025, 10, 17), False, "opens_after_activation_deadline", "KZ-3"),
    (LOUNGE_ENDS - D, False, "opens_after_activation_deadline", "KZ-3"),
    (LOUNGE_ENDS, False, "opens_after_activation_deadline", "KZ-3"),
    (LOUNGE_ENDS + D, False, "purchased_after_window", "KZ-4.1"),
])
def test_lounge_purchase_window_24_09_to_31_10_2025_KZ_4_1(day, qualifies, reason, clause):
    item = judged("lounge", day)
    assert (item.qualifies, item.reason, item.clause) == (qualifies, reason, clause)
    if qualifies:
        assert item.activate_by == almaty(2025, 10, 31) and item.use_by == almaty(2026, 3, 25)
        assert item.opens_after is not None and item.opens_after.days == 14


@pytest.mark.parametrize(("day", "qualifies", "reason"), [
    (OPENS - D, False, "before_perk_terms"), (OPENS, True, None), (OPENS + D, True, None),
    (SCREEN_ENDS - D, True, None), (SCREEN_ENDS, True, None),
    (SCREEN_ENDS + D, False, "purchased_after_window"),
])
def test_screen_repair_purchase_window_24_09_2025_to_25_09_2026_KZ_4_6(day, qualifies, reason):
    item = judged("screen_repair", day)
    assert (item.qualifies, item.reason) == (qualifies, reason)
    if reason == "purchased_after_window":
        assert item.clause == "KZ-4.6"


def test_screen_repair_six_months_clamped_to_month_end_T_2_KZ_4_6():
    # 31.03.2026 + 6 months = 30.09.2026 (Wednesday), end of day Almaty time
    assert judged("screen_repair", date(2026, 3, 31)).use_by == almaty(2026, 9, 30)
    # 31.08.2026 + 6 months = 28.02.2027, a Sunday: rolled to Monday 01.03.2027 (T-1)
    assert judged("screen_repair", date(2026, 8, 31)).use_by == almaty(2027, 3, 1)


@pytest.mark.parametrize(("day", "qualifies", "reason"), [
    (date(2026, 8, 6), True, None),  # activated that day, it opens 08.08 00:00: in time
    (date(2026, 8, 7), False, "opens_after_activation_deadline"),  # it would open 09.08 00:00
    (date(2026, 8, 8), False, "opens_after_activation_deadline"),
    (date(2026, 8, 9), False, "activation_deadline_passed"),
])
def test_spotify_activate_by_08_08_2026_2359_counting_its_day_of_wait_KZ_3_KZ_4_2(day, qualifies, reason):
    item = judged("spotify", day)  # 4.2 governs over 3's 11:59 (KZ-3)
    assert (item.qualifies, item.reason) == (qualifies, reason)
    assert item.activate_by == almaty(2026, 8, 8) and item.clause == ("KZ-4.2" if qualifies else "KZ-3")


@pytest.mark.parametrize(("code", "last_day", "clause"), [
    ("google_ai_pro", date(2026, 3, 31), "KZ-4.3"),
    ("youtube", date(2026, 8, 31), "KZ-3"),  # 4.4 governs over 3's 08.08.2026 11:59
])
def test_partner_perks_activate_by_fixed_2359_Almaty_and_lapse_at_purchase_after_it_KZ_3_P_2(
        code, last_day, clause):
    for day, qualifies in ((last_day - D, True), (last_day, True), (last_day + D, False)):
        item = judged(code, day)
        assert item.qualifies is qualifies, day
        assert item.activate_by == almaty(last_day.year, last_day.month, last_day.day)
        if not qualifies:
            assert (item.reason, item.clause) == ("activation_deadline_passed", clause)


def test_spotify_opens_a_day_after_device_activation_and_is_not_computed_KZ_4_2():
    item = judged("spotify", date(2025, 12, 1))
    assert item.qualifies and item.use_by is None and item.opens_after.days == 1


@pytest.mark.parametrize(("code", "months", "day", "ends"), [
    ("extended_warranty", 24, date(2025, 9, 24), almaty(2027, 9, 24)),  # Friday
    ("extended_warranty", 24, date(2026, 2, 28), almaty(2028, 2, 28)),  # Monday
    ("free_labour_repair", 12, date(2025, 9, 24), almaty(2026, 9, 24)),  # Thursday
    ("free_labour_repair", 12, date(2025, 10, 31), almaty(2026, 11, 2)),  # Saturday → Monday (T-1)
])
def test_periods_from_purchase_by_T_2_KZ_4_5_KZ_4_7(code, months, day, ends):
    item = judged(code, day)
    assert item.qualifies and item.activate_by is None and item.use_by == ends
    for later in (day + D, date(2030, 1, 1)):  # no purchase window in the seed for 4.5 and 4.7
        assert judged(code, later).qualifies


@pytest.mark.parametrize("model", ["Redmi Note 14 Pro", "Xiaomi 15", "Xiaomi 15T Ultra", ""])
def test_no_other_product_qualifies_KZ_5_3(model):
    for item in eligibility(model, "KZ", date(2025, 10, 1)).perks:
        assert (item.qualifies, item.reason, item.clause) == (False, "model_not_qualifying", "KZ-5.3")


def test_both_models_qualify_whatever_the_case_KZ_1():
    for model in ("Xiaomi 15T", "Xiaomi 15T Pro", "xiaomi  15t pro"):
        assert all(item.qualifies for item in eligibility(model, "KZ", date(2025, 10, 1)).perks)


def test_rs_market_gets_no_perk_KZ_1():
    result = eligibility("Xiaomi 15T", "RS", date(2025, 10, 1))
    assert [item.perk.code for item in result.perks] == list(PERK_CODES)
    assert all((i.qualifies, i.reason, i.clause) == (False, "market_not_kz", "KZ-1") for i in result.perks)


def test_terms_are_versioned_and_a_bundle_keeps_its_version_KZ_3():
    terms = perk_terms_for(date(2025, 10, 1))
    assert terms is not None and perk_terms(terms.version) is terms
    assert perk_terms_for(date(2025, 9, 23)) is None
    assert {c.key for c in terms.conflicts} >= {"spotify_deadline", "youtube_deadline"}
    assert eligibility("Xiaomi 15T", "KZ", date(2025, 10, 1), terms).terms is terms


# --- the route ----------------------------------------------------------------------------------------

async def test_eligibility_route_answers_every_perk_without_login_KZ_1(http):
    answer = await http.get("/api/v1/perks/eligibility",
                            params={"model": "Xiaomi 15T Pro", "market": "KZ", "purchased_on": "2025-11-01"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["terms_version"] == "kz-vip-2025-09-24" and body["purchased_on"] == "2025-11-01"
    perks = {perk["code"]: perk for perk in body["perks"]}
    assert list(perks) == list(PERK_CODES)
    assert not perks["lounge"]["qualifies"]
    assert (perks["lounge"]["reason"], perks["lounge"]["clause"]) == ("purchased_after_window", "KZ-4.1")
    assert perks["google_ai_pro"]["activate_by"] == "2026-03-31T18:59:59Z"
    assert perks["google_ai_pro"]["redemption"] == "partner_app" and perks["google_ai_pro"]["reason"] is None
    assert perks["spotify"]["starts"] == "device_activation" and perks["spotify"]["opens_after_activation"]


async def test_eligibility_route_rs_answers_no_perk_with_its_clause_KZ_1(http):
    answer = await http.get("/api/v1/perks/eligibility",
                            params={"model": "Xiaomi 15T", "market": "RS", "purchased_on": "2025-10-01"})
    assert answer.status_code == 200
    assert {(p["qualifies"], p["clause"]) for p in answer.json()["perks"]} == {(False, "KZ-1")}


@pytest.mark.parametrize(("params", "field"), [
    ({"model": "Xiaomi 15T", "market": "KZ", "purchased_on": "01.10.2025"}, "purchased_on"),
    ({"model": "Xiaomi 15T", "market": "KZ", "purchased_on": "1900-01-01"}, "purchased_on"),
    ({"model": "Xiaomi 15T", "market": "KZ"}, "purchased_on"),
    ({"model": "Xiaomi 15T", "market": "XX", "purchased_on": "2025-10-01"}, "market"),
    ({"market": "KZ", "purchased_on": "2025-10-01"}, "model"),
])
async def test_eligibility_route_refuses_a_bad_parameter_naming_it(http, params, field):
    answer = await http.get("/api/v1/perks/eligibility", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field and answer.headers["content-type"].startswith("application/problem")
