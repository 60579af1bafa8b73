"""Every edge of every perk window of the KZ bundle, as pure domain, in Almaty time (UTC+5): the
state a device's perk is granted in (`grant`, P-1, P-2), its last moment (`lapses_at`) and what the
clock makes of it the day before, the last second, the next second and the day after (`state_at`),
when a perk that waits after the device's activation opens (T-1 Decision), and the periods in
months counted from the purchase (T-2, rolled by T-1 on the Kazakh calendar of shop.domain.calendar).

tests/test_perks_eligibility.py holds the eligibility verdicts at the purchase-window edges and a
first set of periods; the cases here are the ones it leaves out. Every expected instant is written
out in UTC; a case's id starts with its clause.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shop.domain.calendar import holiday_name, in_time, is_working_day, waiting_period_opens
from shop.domain.perk_bundles import GrantedPerk, grant
from shop.domain.perk_eligibility import eligibility
from shop.domain.perk_lifecycle import PerkState, state_at
from shop.domain.perks import PERK_CODES, PERKS_2025_09_24

P = PerkState
DAY, SECOND = timedelta(days=1), timedelta(seconds=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def granted(code: str, purchased_on: date, model: str = "Xiaomi 15T") -> GrantedPerk:
    bundle = grant(model, "KZ", purchased_on)
    assert bundle is not None
    return next(perk for perk in bundle.perks if perk.code == code)


def wait_of(code: str) -> int:
    perk = next(perk for perk in PERKS_2025_09_24 if perk.code == code)
    assert perk.opens_after is not None
    return perk.opens_after.days


# --- the state each perk is granted in, at every purchase edge (P-1, P-2) -------------------------------


def test_bought_the_day_before_the_terms_no_bundle_at_all_RS_XV():
    # 23.09.2025: the VIP terms' first purchase window opens on 24.09.2025 (KZ-4.1, KZ-4.6)
    assert grant("Xiaomi 15T", "KZ", date(2025, 9, 23)) is None
    assert all(item.reason == "before_perk_terms" for item in eligibility("Xiaomi 15T", "KZ", date(2025, 9, 23)).perks)


FIRST_DAY_STATES = {"lounge": P.WAITING_FOR_ACTIVATION, "spotify": P.WAITING_FOR_ACTIVATION,
                    "google_ai_pro": P.OPEN, "youtube": P.OPEN, "extended_warranty": P.OPEN,
                    "screen_repair": P.OPEN, "free_labour_repair": P.OPEN}


@pytest.mark.parametrize("purchased_on", [date(2025, 9, 24), date(2025, 9, 25)], ids=["on 24.09.2025", "after"])
def test_bought_on_and_after_the_first_day_every_perk_is_granted_P_1(purchased_on):
    bundle = grant("Xiaomi 15T Pro", "KZ", purchased_on)
    assert bundle is not None and [perk.code for perk in bundle.perks] == list(PERK_CODES)
    assert {perk.code: perk.transition.to_state for perk in bundle.perks} == FIRST_DAY_STATES
    assert all((perk.reason, perk.clause) == (None, f"KZ-4.{index}")
               for index, perk in enumerate(bundle.perks, start=1))


NOT_AVAILABLE = P.NOT_AVAILABLE


@pytest.mark.parametrize(("code", "purchased_on", "state", "reason", "clause"), [
    # KZ-3 lounge_wait (decided by P-2): activated on the day of purchase, the lounge opens at 00:00
    # Almaty after 14 days; it must open by 31.10.2025 23:59.
    pytest.param("lounge", date(2025, 10, 15), P.WAITING_FOR_ACTIVATION, None, "KZ-4.1",
                 id="KZ-3 lounge_wait bought 15.10.2025 (would open 30.10 00:00)"),
    pytest.param("lounge", date(2025, 10, 16), P.WAITING_FOR_ACTIVATION, None, "KZ-4.1",
                 id="KZ-3 lounge_wait bought 16.10.2025 (would open 31.10 00:00, in time)"),
    pytest.param("lounge", date(2025, 10, 17), NOT_AVAILABLE, "opens_after_activation_deadline", "KZ-3",
                 id="KZ-3 lounge_wait bought 17.10.2025 (would open 01.11 00:00, too late)"),
    pytest.param("lounge", date(2025, 10, 31), NOT_AVAILABLE, "opens_after_activation_deadline", "KZ-3",
                 id="KZ-4.1 lounge bought on the window's last day 31.10.2025"),
    pytest.param("lounge", date(2025, 11, 1), NOT_AVAILABLE, "purchased_after_window", "KZ-4.1",
                 id="KZ-4.1 lounge bought the day after the window 01.11.2025"),
    # KZ-3 spotify_deadline: 08.08.2026 23:59 (4.2), one day's wait after activation (4.2)
    pytest.param("spotify", date(2026, 8, 6), P.WAITING_FOR_ACTIVATION, None, "KZ-4.2",
                 id="KZ-3 spotify bought 06.08.2026 (would open 08.08 00:00, in time)"),
    pytest.param("spotify", date(2026, 8, 7), NOT_AVAILABLE, "opens_after_activation_deadline", "KZ-3",
                 id="KZ-3 spotify bought 07.08.2026 (would open 09.08 00:00, too late)"),
    pytest.param("spotify", date(2026, 8, 8), NOT_AVAILABLE, "opens_after_activation_deadline", "KZ-3",
                 id="KZ-3 spotify bought on its deadline 08.08.2026"),
    pytest.param("spotify", date(2026, 8, 9), NOT_AVAILABLE, "activation_deadline_passed", "KZ-3",
                 id="KZ-3 spotify bought the day after its deadline 09.08.2026"),
    # KZ-4.3 google_ai_pro: activate by 31.03.2026 23:59
    pytest.param("google_ai_pro", date(2026, 3, 30), P.OPEN, None, "KZ-4.3",
                 id="KZ-4.3 google_ai_pro bought the day before its deadline 30.03.2026"),
    pytest.param("google_ai_pro", date(2026, 3, 31), P.OPEN, None, "KZ-4.3",
                 id="KZ-4.3 google_ai_pro bought on its deadline 31.03.2026"),
    pytest.param("google_ai_pro", date(2026, 4, 1), NOT_AVAILABLE, "activation_deadline_passed", "KZ-4.3",
                 id="KZ-4.3 google_ai_pro bought the day after 01.04.2026"),
    # KZ-3 youtube_deadline: 31.08.2026 23:59 (4.4), not section 3's 08.08.2026 11:59
    pytest.param("youtube", date(2026, 8, 9), P.OPEN, None, "KZ-4.4",
                 id="KZ-3 youtube bought 09.08.2026, after section 3's 08.08.2026 11:59"),
    pytest.param("youtube", date(2026, 8, 30), P.OPEN, None, "KZ-4.4",
                 id="KZ-3 youtube bought the day before its deadline 30.08.2026"),
    pytest.param("youtube", date(2026, 8, 31), P.OPEN, None, "KZ-4.4",
                 id="KZ-3 youtube bought on its deadline 31.08.2026"),
    pytest.param("youtube", date(2026, 9, 1), NOT_AVAILABLE, "activation_deadline_passed", "KZ-3",
                 id="KZ-3 youtube bought the day after 01.09.2026"),
    # KZ-4.6 screen_repair: bought 24.09.2025 to 25.09.2026
    pytest.param("screen_repair", date(2026, 9, 24), P.OPEN, None, "KZ-4.6",
                 id="KZ-4.6 screen_repair bought the day before the window's end 24.09.2026"),
    pytest.param("screen_repair", date(2026, 9, 25), P.OPEN, None, "KZ-4.6",
                 id="KZ-4.6 screen_repair bought on the window's last day 25.09.2026"),
    pytest.param("screen_repair", date(2026, 9, 26), NOT_AVAILABLE, "purchased_after_window", "KZ-4.6",
                 id="KZ-4.6 screen_repair bought the day after the window 26.09.2026"),
    # KZ-4.5, KZ-4.7: no purchase window in the seed; granted whenever the terms apply
    pytest.param("extended_warranty", date(2026, 9, 26), P.OPEN, None, "KZ-4.5",
                 id="KZ-4.5 extended_warranty bought after every window 26.09.2026"),
    pytest.param("free_labour_repair", date(2026, 9, 26), P.OPEN, None, "KZ-4.7",
                 id="KZ-4.7 free_labour_repair bought after every window 26.09.2026"),
])
def test_a_perk_is_granted_in_the_state_its_window_says_P_1_P_2(code, purchased_on, state, reason, clause):
    perk = granted(code, purchased_on)
    assert (perk.transition.to_state, perk.reason, perk.clause) == (state, reason, clause)


# --- each perk's last moment, and the clock around it (T-2: a fixed deadline is exact) -------------------

# (code, purchase date, the state it is granted in, its `lapses_at` written out in UTC)
LAST_MOMENTS = [
    pytest.param("lounge", date(2025, 10, 1), P.WAITING_FOR_ACTIVATION, "2025-10-31T18:59:59.999999Z",
                 id="KZ-4.1 lounge activate by 31.10.2025 23:59 Almaty"),
    pytest.param("spotify", date(2025, 10, 1), P.WAITING_FOR_ACTIVATION, "2026-08-08T18:59:59.999999Z",
                 id="KZ-3 spotify activate by 08.08.2026 23:59 Almaty, not 11:59"),
    pytest.param("google_ai_pro", date(2025, 10, 1), P.OPEN, "2026-03-31T18:59:59.999999Z",
                 id="KZ-4.3 google_ai_pro activate by 31.03.2026 23:59 Almaty"),
    pytest.param("youtube", date(2025, 10, 1), P.OPEN, "2026-08-31T18:59:59.999999Z",
                 id="KZ-3 youtube activate by 31.08.2026 23:59 Almaty, not 08.08.2026 11:59"),
    pytest.param("extended_warranty", date(2026, 1, 31), P.OPEN, "2028-01-31T18:59:59.999999Z",
                 id="KZ-4.5 extended_warranty 24 months from 31.01.2026 to Mon 31.01.2028"),
    pytest.param("screen_repair", date(2025, 10, 31), P.OPEN, "2026-04-30T18:59:59.999999Z",
                 id="KZ-4.6 screen_repair 6 months from 31.10.2025 to Thu 30.04.2026 (T-2 clamp)"),
    pytest.param("free_labour_repair", date(2025, 12, 31), P.OPEN, "2026-12-31T18:59:59.999999Z",
                 id="KZ-4.7 free_labour_repair 12 months from 31.12.2025 to Thu 31.12.2026"),
]


@pytest.mark.parametrize(("code", "purchased_on", "initial", "last"), LAST_MOMENTS)
def test_a_perk_lapses_the_second_after_its_last_moment_T_2_P_2(code, purchased_on, initial, last):
    perk = granted(code, purchased_on)
    lapses_at = utc(last)
    assert perk.transition.to_state is initial and perk.lapses_at == lapses_at
    last_second = lapses_at.replace(microsecond=0)  # 23:59:59 Almaty
    for now, then in ((last_second - DAY, initial), (last_second, initial),
                      (last_second + SECOND, P.EXPIRED), (last_second + DAY, P.EXPIRED)):
        assert state_at(initial, opens_at=None, lapses_at=perk.lapses_at, now=now) is then, now


@pytest.mark.parametrize(("code", "initial"), [
    pytest.param("spotify", P.WAITING_FOR_ACTIVATION, id="KZ-3 spotify"),
    pytest.param("youtube", P.OPEN, id="KZ-3 youtube"),
])
def test_section_3s_08_08_2026_11_59_is_not_applied_KZ_3(code, initial):
    perk = granted(code, date(2025, 10, 1))
    noon = utc("2026-08-08T07:00:00Z")  # 08.08.2026 12:00 Almaty: a minute after section 3's 11:59
    assert state_at(initial, opens_at=None, lapses_at=perk.lapses_at, now=noon) is initial


def test_the_lounge_code_is_valid_through_25_03_2026_23_59_KZ_4_1():
    # 4.1 v: «Сервисный код действует до 25.03.2026»; the code's validity, not the perk's last moment
    perk = granted("lounge", date(2025, 10, 1))
    assert perk.use_by == utc("2026-03-25T18:59:59.999999Z")
    assert in_time(utc("2026-03-24T18:59:59Z"), perk.use_by) and in_time(utc("2026-03-25T18:59:59Z"), perk.use_by)
    assert not in_time(utc("2026-03-25T19:00:00Z"), perk.use_by)
    assert not in_time(utc("2026-03-26T18:59:59Z"), perk.use_by)


# --- waits after the device's activation (KZ-4.1 ii: 14 days, KZ-4.2: 1 day; T-1 Decision) -------------

# (code, device activated on, `opens_at` written out in UTC, `lapses_at` of a device bought 01.10.2025)
OPENINGS = [
    pytest.param("lounge", date(2025, 10, 16), "2025-10-30T19:00:00Z", "2025-10-31T18:59:59.999999Z",
                 id="KZ-4.1 lounge activated 16.10.2025 opens 31.10.2025 00:00 Almaty"),
    pytest.param("lounge", date(2025, 10, 2), "2025-10-16T19:00:00Z", "2025-10-31T18:59:59.999999Z",
                 id="KZ-4.1 lounge activated 02.10.2025 opens 17.10.2025 00:00 Almaty"),
    pytest.param("spotify", date(2026, 8, 6), "2026-08-07T19:00:00Z", "2026-08-08T18:59:59.999999Z",
                 id="KZ-4.2 spotify activated 06.08.2026 opens 08.08.2026 00:00 Almaty"),
    pytest.param("spotify", date(2025, 10, 1), "2025-10-02T19:00:00Z", "2026-08-08T18:59:59.999999Z",
                 id="KZ-4.2 spotify activated 01.10.2025 opens 03.10.2025 00:00 Almaty"),
]


@pytest.mark.parametrize(("code", "activated_on", "opens", "last"), OPENINGS)
def test_a_waiting_perk_opens_at_00_00_after_its_wait_and_lapses_after_its_deadline_T_1_KZ_4_1_KZ_4_2(
        code, activated_on, opens, last):
    perk = granted(code, date(2025, 10, 1))
    activated_at = utc(f"{activated_on.isoformat()}T05:00:00Z")  # 10:00 Almaty that day
    opens_at = waiting_period_opens(activated_at, wait_of(code), "KZ")
    assert opens_at == utc(opens) and perk.lapses_at == utc(last)
    last_second = perk.lapses_at.replace(microsecond=0)
    for now, then in ((opens_at - SECOND, P.ACTIVATED), (opens_at, P.OPEN), (last_second, P.OPEN),
                      (last_second + SECOND, P.EXPIRED)):
        assert state_at(P.ACTIVATED, opens_at=opens_at, lapses_at=perk.lapses_at, now=now) is then, now


@pytest.mark.parametrize(("code", "activated_on"), [
    pytest.param("lounge", date(2025, 10, 17), id="KZ-3 lounge_wait activated 17.10.2025 would open 01.11"),
    pytest.param("spotify", date(2026, 8, 7), id="KZ-3 spotify activated 07.08.2026 would open 09.08"),
])
def test_a_device_activated_too_late_never_opens_its_perk_KZ_3(code, activated_on):
    perk = granted(code, date(2025, 10, 1))
    opens_at = waiting_period_opens(utc(f"{activated_on.isoformat()}T05:00:00Z"), wait_of(code), "KZ")
    assert opens_at > perk.lapses_at
    assert state_at(P.ACTIVATED, opens_at=opens_at, lapses_at=perk.lapses_at, now=opens_at) is P.EXPIRED


# --- periods in months from the purchase (T-2), rolled to the next working day (T-1, T-3) --------------

# (code, purchase date, `use_by` written out in UTC); the weekday and any holiday in the id
PERIODS = [
    pytest.param("extended_warranty", date(2025, 12, 16), "2027-12-17T18:59:59.999999Z",
                 id="KZ-4.5 24 months from 16.12.2025: Thu 16.12.2027 Independence Day → Fri 17.12.2027"),
    pytest.param("extended_warranty", date(2028, 2, 29), "2030-02-28T18:59:59.999999Z",
                 id="KZ-4.5 24 months from 29.02.2028: clamped to Thu 28.02.2030"),
    pytest.param("screen_repair", date(2025, 9, 24), "2026-03-26T18:59:59.999999Z",
                 id="KZ-4.6 6 months from 24.09.2025: Tue 24.03.2026 Nowruz (observed), 25.03 too → Thu 26.03.2026"),
    pytest.param("screen_repair", date(2025, 9, 25), "2026-03-26T18:59:59.999999Z",
                 id="KZ-4.6 6 months from 25.09.2025: Wed 25.03.2026 Nowruz (observed) → Thu 26.03.2026"),
    pytest.param("screen_repair", date(2025, 11, 7), "2026-05-08T18:59:59.999999Z",
                 id="KZ-4.6 6 months from 07.11.2025: Thu 07.05.2026 Defender of the Fatherland Day → Fri 08.05"),
    pytest.param("screen_repair", date(2025, 11, 9), "2026-05-12T18:59:59.999999Z",
                 id="KZ-4.6 6 months from 09.11.2025: Sat 09.05.2026 Victory Day, Mon 11.05 observed → Tue 12.05"),
    pytest.param("screen_repair", date(2025, 12, 31), "2026-06-30T18:59:59.999999Z",
                 id="KZ-4.6 6 months from 31.12.2025: clamped to Tue 30.06.2026"),
    pytest.param("screen_repair", date(2026, 5, 31), "2026-11-30T18:59:59.999999Z",
                 id="KZ-4.6 6 months from 31.05.2026: clamped to Mon 30.11.2026"),
    pytest.param("screen_repair", date(2026, 8, 29), "2027-03-01T18:59:59.999999Z",
                 id="KZ-4.6 6 months from 29.08.2026: clamped to Sun 28.02.2027 → Mon 01.03.2027"),
    pytest.param("screen_repair", date(2026, 9, 25), "2027-03-25T18:59:59.999999Z",
                 id="KZ-4.6 6 months from the window's last day 25.09.2026: Thu 25.03.2027"),
    pytest.param("free_labour_repair", date(2025, 10, 25), "2026-10-27T18:59:59.999999Z",
                 id="KZ-4.7 12 months from 25.10.2025: Sun 25.10.2026 Republic Day, Mon 26.10 observed → Tue 27.10"),
    pytest.param("free_labour_repair", date(2025, 12, 16), "2026-12-17T18:59:59.999999Z",
                 id="KZ-4.7 12 months from 16.12.2025: Wed 16.12.2026 Independence Day → Thu 17.12.2026"),
    pytest.param("free_labour_repair", date(2026, 1, 1), "2027-01-05T18:59:59.999999Z",
                 id="KZ-4.7 12 months from 01.01.2026: Fri 01.01.2027 New Year, Mon 04.01 observed → Tue 05.01"),
    pytest.param("free_labour_repair", date(2026, 2, 28), "2027-03-01T18:59:59.999999Z",
                 id="KZ-4.7 12 months from 28.02.2026: Sun 28.02.2027 → Mon 01.03.2027"),
    pytest.param("free_labour_repair", date(2028, 2, 29), "2029-02-28T18:59:59.999999Z",
                 id="KZ-4.7 12 months from 29.02.2028: clamped to Wed 28.02.2029"),
]


@pytest.mark.parametrize(("code", "purchased_on", "ends"), PERIODS)
def test_a_period_in_months_ends_on_the_same_day_number_clamped_and_rolled_T_2_T_1(code, purchased_on, ends):
    perk = granted(code, purchased_on)
    assert perk.transition.to_state is P.OPEN and perk.activate_by is None
    assert perk.use_by == perk.lapses_at == utc(ends)
    last_second = perk.lapses_at.replace(microsecond=0)
    assert state_at(P.OPEN, opens_at=None, lapses_at=perk.lapses_at, now=last_second) is P.OPEN
    assert state_at(P.OPEN, opens_at=None, lapses_at=perk.lapses_at, now=last_second + SECOND) is P.EXPIRED


def test_31_12_2026_is_a_working_day_in_kazakhstan_so_12_months_from_31_12_2025_is_not_rolled_T_1():
    assert is_working_day(date(2026, 12, 31), "KZ") and holiday_name(date(2026, 12, 31), "KZ") is None
    assert holiday_name(date(2026, 3, 25), "KZ") is not None  # why 6 months from 25.09.2025 rolls
