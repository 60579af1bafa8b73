"""Market calendars, period arithmetic (T-1 … T-5), markets and money: tables of cases, each citing
its rule. Expected instants are written in UTC (T-5); the comment gives the local reading."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from shop.domain.calendar import (
    add_months,
    add_working_days,
    deadline_after_days,
    deadline_after_months,
    deadline_after_years,
    end_of_local_day,
    fixed_local_deadline,
    holiday_name,
    hours_after,
    in_time,
    is_working_day,
    local_date,
    local_instant,
    next_working_day,
    public_holidays,
    start_of_local_day,
    to_local,
    waiting_period_opens,
)
from shop.domain.markets import MARKETS, Market, market_info
from shop.domain.money import Money, vat_part

BELGRADE = ZoneInfo("Europe/Belgrade")
ALMATY = ZoneInfo("Asia/Almaty")
LAST_MICRO = 999999


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- T-1: periods in days; RS-VII.1 withdrawal ------------------------------------------------------

WITHDRAWAL_CASES = [
    pytest.param(
        datetime(2026, 10, 28, 10, 0, tzinfo=BELGRADE), "RS",
        # 14th day is 11 Nov 2026, Armistice Day → end of Thu 12 Nov, 23:59:59.999999 CET
        utc(2026, 11, 12, 22, 59, 59, LAST_MICRO),
        id="RS-delivered-28-Oct-14th-day-Armistice-Day-rolls-to-12-Nov",
    ),
    pytest.param(
        datetime(2026, 10, 28, 0, 0, tzinfo=BELGRADE), "RS",
        utc(2026, 11, 12, 22, 59, 59, LAST_MICRO),
        id="RS-delivered-at-local-midnight-same-deadline",
    ),
    pytest.param(
        datetime(2026, 10, 28, 23, 59, 59, tzinfo=BELGRADE), "RS",
        utc(2026, 11, 12, 22, 59, 59, LAST_MICRO),
        id="RS-delivered-last-second-of-day-same-deadline",
    ),
    pytest.param(
        datetime(2026, 12, 18, 15, 0, tzinfo=BELGRADE), "RS",
        # 14th day 1 Jan 2027 (holiday), 2 Jan (holiday, Sat), 3 Jan (Sun) → end of Mon 4 Jan
        utc(2027, 1, 4, 22, 59, 59, LAST_MICRO),
        id="RS-delivered-18-Dec-14th-day-New-Year-rolls-to-4-Jan",
    ),
    pytest.param(
        # 28 Oct 00:30 Belgrade is still 27 Oct in UTC: the local date decides
        utc(2026, 10, 27, 23, 30), "RS",
        utc(2026, 11, 12, 22, 59, 59, LAST_MICRO),
        id="RS-local-0030-is-previous-day-in-UTC-local-date-decides",
    ),
    pytest.param(
        # 23:30 Belgrade, given as UTC 22:30: the same local day, not the next
        utc(2026, 10, 28, 22, 30), "RS",
        utc(2026, 11, 12, 22, 59, 59, LAST_MICRO),
        id="RS-local-2330-counts-as-that-local-day",
    ),
    pytest.param(
        # 19:30 in New York (EDT) is already 00:30 on 29 Oct in Belgrade: 14th day 12 Nov, a working day
        datetime(2026, 10, 28, 19, 30, tzinfo=ZoneInfo("America/New_York")), "RS",
        utc(2026, 11, 12, 22, 59, 59, LAST_MICRO),
        id="RS-instant-in-another-zone-read-in-Belgrade",
    ),
    pytest.param(
        # 29 Oct 00:30 Almaty is 28 Oct 19:30 UTC: local 29 Oct, 14th day Thu 12 Nov
        utc(2026, 10, 28, 19, 30), "KZ",
        utc(2026, 11, 12, 18, 59, 59, LAST_MICRO),
        id="KZ-local-0030-is-previous-day-in-UTC-local-date-decides",
    ),
    pytest.param(
        datetime(2026, 3, 20, 23, 30, tzinfo=ALMATY), "KZ",
        # 14th day Fri 3 Apr 2026, a working day in KZ
        utc(2026, 4, 3, 18, 59, 59, LAST_MICRO),
        id="KZ-delivered-20-Mar-no-roll",
    ),
    pytest.param(
        datetime(2026, 3, 10, 12, 0, tzinfo=ALMATY), "KZ",
        # 14th day Tue 24 Mar (Nauryz observed), 25 Mar (observed) → end of Thu 26 Mar
        utc(2026, 3, 26, 18, 59, 59, LAST_MICRO),
        id="KZ-14th-day-Nauryz-observed-rolls-to-26-Mar",
    ),
]


@pytest.mark.parametrize(("delivered_at", "market", "expected"), WITHDRAWAL_CASES)
def test_withdrawal_deadline_table_T_1_RS_VII_1(
    delivered_at: datetime, market: str, expected: datetime
) -> None:
    deadline = deadline_after_days(delivered_at, 14, market)

    assert deadline == expected
    assert deadline.tzinfo is UTC


def test_day_period_without_roll_ends_on_its_last_day_T_1() -> None:
    deadline = deadline_after_days(datetime(2026, 10, 28, 10, 0, tzinfo=BELGRADE), 14, "RS", roll=False)

    assert deadline == end_of_local_day(date(2026, 11, 11), "RS")


def test_period_in_days_has_at_least_one_day_T_1() -> None:
    with pytest.raises(ValueError):
        deadline_after_days(utc(2026, 10, 28), 0, "RS")


# --- T-2: periods in months and years ---------------------------------------------------------------

MONTH_CASES = [
    pytest.param(
        date(2026, 8, 31), 6, False, utc(2027, 2, 28, 22, 59, 59, LAST_MICRO),
        id="31-Aug-2026-plus-6-months-is-28-Feb-2027",
    ),
    pytest.param(
        date(2026, 8, 31), 6, True, utc(2027, 3, 1, 22, 59, 59, LAST_MICRO),
        id="28-Feb-2027-is-a-Sunday-rolled-to-Mon-1-Mar",
    ),
    pytest.param(
        date(2027, 8, 31), 6, False, utc(2028, 2, 29, 22, 59, 59, LAST_MICRO),
        id="31-Aug-2027-plus-6-months-is-29-Feb-2028-leap-year",
    ),
    pytest.param(
        date(2027, 8, 31), 6, True, utc(2028, 2, 29, 22, 59, 59, LAST_MICRO),
        id="29-Feb-2028-is-a-Tuesday-no-roll",
    ),
    pytest.param(
        # 24 Mar 2027 Belgrade is CET (+1); 24 Mar 2026 + 12 months, a Wednesday
        date(2026, 3, 24), 12, True, utc(2027, 3, 24, 22, 59, 59, LAST_MICRO),
        id="12-months-same-day-number",
    ),
]


@pytest.mark.parametrize(("delivered_on", "months", "roll", "expected"), MONTH_CASES)
def test_month_period_table_T_2(delivered_on: date, months: int, roll: bool, expected: datetime) -> None:
    delivered_at = local_instant(delivered_on, time(14, 0), "RS")

    assert deadline_after_months(delivered_at, months, "RS", roll=roll) == expected


GUARANTEE_CASES = [
    pytest.param(
        date(2028, 2, 29), utc(2030, 2, 28, 22, 59, 59, LAST_MICRO),
        id="delivered-29-Feb-2028-ends-Thu-28-Feb-2030",
    ),
    pytest.param(
        # 30 Oct 2027 (a Saturday) + 2 years = Tue 30 Oct 2029, CET again
        date(2027, 10, 30), utc(2029, 10, 30, 22, 59, 59, LAST_MICRO),
        id="delivered-30-Oct-2027-ends-30-Oct-2029",
    ),
    pytest.param(
        # 11 Nov 2026 + 2 years = Sat 11 Nov 2028 (Armistice Day, no observed day) → Mon 13 Nov
        date(2026, 11, 11), utc(2028, 11, 13, 22, 59, 59, LAST_MICRO),
        id="2-years-end-on-a-Saturday-rolled-to-Monday",
    ),
]


@pytest.mark.parametrize(("delivered_on", "expected"), GUARANTEE_CASES)
def test_legal_guarantee_two_years_table_T_2_RS_VI_1(delivered_on: date, expected: datetime) -> None:
    delivered_at = local_instant(delivered_on, time(9, 30), "RS")

    assert deadline_after_years(delivered_at, 2, "RS") == expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        pytest.param(date(2026, 8, 31), 6, date(2027, 2, 28), id="clamped-to-28-Feb"),
        pytest.param(date(2027, 8, 31), 6, date(2028, 2, 29), id="clamped-to-29-Feb-leap"),
        pytest.param(date(2028, 2, 29), 24, date(2030, 2, 28), id="29-Feb-plus-2-years"),
        pytest.param(date(2026, 1, 31), 1, date(2026, 2, 28), id="31-Jan-plus-1"),
        pytest.param(date(2026, 12, 15), 1, date(2027, 1, 15), id="across-new-year"),
        pytest.param(date(2026, 3, 31), -1, date(2026, 2, 28), id="backwards"),
        pytest.param(date(2026, 5, 31), 1, date(2026, 6, 30), id="31-May-plus-1-is-30-Jun"),
    ],
)
def test_add_months_same_day_number_or_last_of_month_T_2(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


FIXED_DEADLINE_CASES = [
    pytest.param(
        date(2026, 3, 31), "KZ", utc(2026, 3, 31, 18, 59, 59, LAST_MICRO),
        id="KZ-4.3-Google-AI-Pro-31-03-2026-2359-Almaty",
    ),
    pytest.param(
        # a Saturday: a fixed deadline is never rolled to Monday
        date(2026, 8, 8), "KZ", utc(2026, 8, 8, 18, 59, 59, LAST_MICRO),
        id="KZ-3-Spotify-08-08-2026-Saturday-not-rolled",
    ),
    pytest.param(
        date(2026, 8, 31), "KZ", utc(2026, 8, 31, 18, 59, 59, LAST_MICRO),
        id="KZ-3-YouTube-31-08-2026",
    ),
]


@pytest.mark.parametrize(("day", "market", "expected"), FIXED_DEADLINE_CASES)
def test_fixed_date_and_time_deadline_is_exact_never_rolled_T_2(
    day: date, market: str, expected: datetime
) -> None:
    deadline = fixed_local_deadline(day, time(23, 59), market)

    assert deadline == expected
    assert deadline == end_of_local_day(day, market)  # "by 23:59" includes that minute


def test_kz_local_2359_on_31_march_2026_is_1859_utc_T_5() -> None:
    assert local_instant(date(2026, 3, 31), time(23, 59), "KZ") == utc(2026, 3, 31, 18, 59)
    assert local_instant(date(2026, 3, 31), time(23, 59), Market.KZ).isoformat() == (
        "2026-03-31T18:59:00+00:00"
    )


def test_fixed_deadline_names_a_minute_T_2() -> None:
    with pytest.raises(ValueError):
        fixed_local_deadline(date(2026, 3, 31), time(23, 59, 30), "KZ")


# --- T-1 Decision: waiting periods are never lengthened ---------------------------------------------

WAITING_CASES = [
    pytest.param(
        datetime(2026, 10, 2, 9, 0, tzinfo=ALMATY), 14, "KZ", utc(2026, 10, 16, 19, 0),
        id="KZ-activation-2-Oct-opens-17-Oct-0000-Almaty",
    ),
    pytest.param(
        datetime(2026, 10, 2, 23, 50, tzinfo=ALMATY), 14, "KZ", utc(2026, 10, 16, 19, 0),
        id="KZ-activation-late-evening-same-opening",
    ),
    pytest.param(
        datetime(2026, 10, 2, 9, 0, tzinfo=BELGRADE), 14, "RS", utc(2026, 10, 16, 22, 0),
        id="RS-activation-2-Oct-opens-17-Oct-0000-CEST",
    ),
    pytest.param(
        # last day Fri 6 Nov; Sat 7 Nov 00:00 is not moved to a working day
        datetime(2026, 10, 23, 12, 0, tzinfo=ALMATY), 14, "KZ", utc(2026, 11, 6, 19, 0),
        id="KZ-opens-on-a-Saturday-not-lengthened",
    ),
    pytest.param(
        # last day 10 Nov; opens on 11 Nov, a public holiday in RS (CET)
        datetime(2026, 10, 27, 12, 0, tzinfo=BELGRADE), 14, "RS", utc(2026, 11, 10, 23, 0),
        id="RS-opens-on-Armistice-Day-not-lengthened",
    ),
]


@pytest.mark.parametrize(("activated_at", "days", "market", "expected"), WAITING_CASES)
def test_waiting_period_opens_next_local_midnight_T_1_decision(
    activated_at: datetime, days: int, market: str, expected: datetime
) -> None:
    opens = waiting_period_opens(activated_at, days, market)

    assert opens == expected
    assert to_local(opens, market).time() == time(0, 0)


# --- T-3: working days; RS-V.5.2 expected delivery --------------------------------------------------

WORKING_DAY_CASES = [
    pytest.param(date(2026, 10, 9), 1, "RS", date(2026, 10, 12), id="RS-Friday-across-weekend"),
    pytest.param(date(2026, 4, 9), 1, "RS", date(2026, 4, 14), id="RS-across-Orthodox-Easter-10-13-Apr"),
    pytest.param(date(2026, 4, 9), 1, "KZ", date(2026, 4, 10), id="KZ-Orthodox-Good-Friday-is-working"),
    pytest.param(date(2026, 3, 20), 1, "KZ", date(2026, 3, 26), id="KZ-across-Nauryz-21-25-Mar-observed"),
    pytest.param(date(2026, 3, 20), 1, "RS", date(2026, 3, 23), id="RS-Nauryz-is-not-a-holiday"),
    pytest.param(date(2026, 10, 2), 4, "RS", date(2026, 10, 8), id="RS-V.5.2-placed-Friday-4-days-Thursday"),
    pytest.param(date(2026, 10, 2), 4, "KZ", date(2026, 10, 8), id="KZ-placed-Friday-4-days-Thursday"),
    pytest.param(date(2026, 11, 6), 4, "RS", date(2026, 11, 13), id="RS-V.5.2-Armistice-Day-adds-a-day"),
    pytest.param(date(2026, 10, 23), 4, "KZ", date(2026, 10, 30), id="KZ-Republic-Day-observed-26-Oct"),
    pytest.param(date(2026, 2, 13), 1, "RS", date(2026, 2, 18), id="RS-Statehood-Day-observed-17-Feb"),
    pytest.param(date(2027, 12, 31), 1, "RS", date(2028, 1, 4), id="RS-New-Year-2028-observed-3-Jan"),
    pytest.param(date(2026, 10, 3), 0, "RS", date(2026, 10, 3), id="zero-days-is-the-day-itself"),
]


@pytest.mark.parametrize(("day", "n", "market", "expected"), WORKING_DAY_CASES)
def test_add_working_days_table_T_3_RS_V_5_2(day: date, n: int, market: str, expected: date) -> None:
    assert add_working_days(day, n, market) == expected


def test_expected_delivery_uses_market_delivery_working_days_RS_V_5_2() -> None:
    placed_at = datetime(2026, 10, 2, 16, 0, tzinfo=BELGRADE)  # a Friday

    expected_on = add_working_days(local_date(placed_at, "RS"), market_info("RS").delivery_working_days, "RS")

    assert expected_on == date(2026, 10, 8)
    assert expected_on.strftime("%A") == "Thursday"


@pytest.mark.parametrize(
    ("day", "market", "working"),
    [
        pytest.param(date(2026, 11, 11), "RS", False, id="RS-Armistice-Day"),
        pytest.param(date(2026, 11, 12), "RS", True, id="RS-Thursday-after"),
        pytest.param(date(2026, 2, 17), "RS", False, id="RS-Statehood-Day-observed"),
        pytest.param(date(2026, 4, 10), "RS", False, id="RS-Orthodox-Good-Friday"),
        pytest.param(date(2026, 4, 13), "RS", False, id="RS-Orthodox-Easter-Monday"),
        pytest.param(date(2026, 10, 10), "RS", False, id="RS-Saturday"),
        pytest.param(date(2026, 3, 24), "KZ", False, id="KZ-Nauryz-observed"),
        pytest.param(date(2026, 3, 9), "KZ", False, id="KZ-Womens-Day-observed"),
        pytest.param(date(2026, 1, 7), "KZ", False, id="KZ-Orthodox-Christmas"),
        pytest.param(date(2026, 4, 10), "KZ", True, id="KZ-10-Apr-working"),
        pytest.param(date(2026, 11, 11), "KZ", True, id="KZ-11-Nov-working"),
    ],
)
def test_is_working_day_table_T_3(day: date, market: str, working: bool) -> None:
    assert is_working_day(day, market) is working


def test_next_working_day_is_the_day_itself_when_working_T_3() -> None:
    assert next_working_day(date(2026, 11, 12), "RS") == date(2026, 11, 12)
    assert next_working_day(date(2026, 11, 11), "RS") == date(2026, 11, 12)
    assert next_working_day(date(2026, 3, 21), "KZ") == date(2026, 3, 26)


def test_public_holidays_include_observed_days_T_3() -> None:
    assert holiday_name(date(2026, 2, 17), "RS") == "Statehood Day (observed)"
    assert holiday_name(date(2026, 3, 25), "KZ") == "Nowruz Holiday (observed)"
    assert holiday_name(date(2026, 3, 26), "KZ") is None
    assert set(public_holidays(2026, "RS")) >= {date(2026, 4, 10), date(2026, 4, 13), date(2026, 11, 11)}


# --- T-4: periods in hours; RS-V.1 payment window ---------------------------------------------------


def test_payment_window_two_hours_to_the_second_T_4_RS_V_1() -> None:
    assert hours_after(utc(2026, 10, 5, 10, 15, 30), 2) == utc(2026, 10, 5, 12, 15, 30)


def test_hours_run_on_the_clock_across_a_clock_change_T_4() -> None:
    # 29 Mar 2026 01:30 CET; clocks jump 02:00 → 03:00: two hours later is 04:30 CEST = 02:30 UTC
    placed_at = datetime(2026, 3, 29, 1, 30, tzinfo=BELGRADE)

    due = hours_after(placed_at, 2)

    assert due == utc(2026, 3, 29, 2, 30)
    assert due.tzinfo is UTC
    assert to_local(due, "RS").time() == time(4, 30)


# --- T-5: instants in UTC, local time for computing -------------------------------------------------


@pytest.mark.parametrize(
    ("day", "market", "start", "end"),
    [
        pytest.param(
            date(2026, 7, 1), "RS", utc(2026, 6, 30, 22, 0), utc(2026, 7, 1, 21, 59, 59, LAST_MICRO),
            id="RS-summer-CEST",
        ),
        pytest.param(
            date(2026, 12, 1), "RS", utc(2026, 11, 30, 23, 0), utc(2026, 12, 1, 22, 59, 59, LAST_MICRO),
            id="RS-winter-CET",
        ),
        pytest.param(
            date(2026, 7, 1), "KZ", utc(2026, 6, 30, 19, 0), utc(2026, 7, 1, 18, 59, 59, LAST_MICRO),
            id="KZ-UTC+5",
        ),
    ],
)
def test_local_day_bounds_in_utc_T_5(day: date, market: str, start: datetime, end: datetime) -> None:
    assert start_of_local_day(day, market) == start
    assert end_of_local_day(day, market) == end
    assert end + timedelta(microseconds=1) == start_of_local_day(day + timedelta(days=1), market)


def test_almaty_is_utc_plus_5_since_march_2024_T_5() -> None:
    # guards against stale zone data on the machine (Asia/Almaty was UTC+6 before 1 March 2024)
    assert market_info("KZ").zone.utcoffset(datetime(2026, 1, 1)) == timedelta(hours=5)


def test_a_skipped_local_time_is_refused_T_5() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        local_instant(date(2026, 3, 29), time(2, 30), "RS")


NAIVE = datetime(2026, 10, 28, 10, 0)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: local_date(NAIVE, "RS"), id="local_date"),
        pytest.param(lambda: to_local(NAIVE, "RS"), id="to_local"),
        pytest.param(lambda: deadline_after_days(NAIVE, 14, "RS"), id="deadline_after_days"),
        pytest.param(lambda: deadline_after_months(NAIVE, 6, "RS"), id="deadline_after_months"),
        pytest.param(lambda: waiting_period_opens(NAIVE, 14, "KZ"), id="waiting_period_opens"),
        pytest.param(lambda: hours_after(NAIVE, 2), id="hours_after"),
        pytest.param(lambda: in_time(NAIVE, utc(2026, 11, 1)), id="in_time"),
    ],
)
def test_naive_datetimes_are_refused_T_5(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


# --- T-6: the moment of sending is judged -----------------------------------------------------------


def test_statement_sent_at_the_last_instant_is_in_time_T_6_RS_VII_2() -> None:
    deadline = deadline_after_days(datetime(2026, 10, 28, 10, 0, tzinfo=BELGRADE), 14, "RS")

    assert in_time(datetime(2026, 11, 12, 23, 59, 59, LAST_MICRO, tzinfo=BELGRADE), deadline)
    assert not in_time(datetime(2026, 11, 13, 0, 0, tzinfo=BELGRADE), deadline)


# --- Markets; RS-XV ---------------------------------------------------------------------------------


def test_markets_table_RS_XV_RS_V_5_1() -> None:
    rs, kz = market_info(Market.RS), market_info("KZ")

    assert (rs.currency, rs.zone.key, rs.country, rs.terms_version) == (
        "RSD", "Europe/Belgrade", "RS", "2025-12-18",
    )
    assert (kz.currency, kz.zone.key, kz.country, kz.terms_version) == (
        "KZT", "Asia/Almaty", "KZ", "2025-09-24",
    )
    assert rs.terms_in_force_from == date(2025, 12, 18)
    assert kz.terms_in_force_from == date(2025, 9, 24)
    assert rs.delivery_working_days == kz.delivery_working_days == 4
    assert set(MARKETS) == {Market.RS, Market.KZ}


def test_unknown_market_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown market"):
        market_info("DE")
    with pytest.raises(ValueError):
        is_working_day(date(2026, 1, 1), "rs")


@pytest.mark.parametrize(
    ("market", "day", "rate"),
    [
        pytest.param("RS", date(2026, 6, 1), Decimal("0.20"), id="RS-20"),
        pytest.param("KZ", date(2025, 12, 31), Decimal("0.12"), id="KZ-12-until-2025"),
        pytest.param("KZ", date(2026, 1, 1), Decimal("0.16"), id="KZ-16-from-2026"),
    ],
)
def test_vat_rate_in_force_on_a_day_RS_III_1(market: str, day: date, rate: Decimal) -> None:
    assert market_info(market).vat_rate_on(day) == rate


# --- Money; RS-III.1 VAT part -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gross", "rate", "expected"),
    [
        pytest.param(Money(15999900, "RSD"), Decimal("0.20"), Money(2666650, "RSD"), id="RSD-at-20"),
        pytest.param(Money(3, "RSD"), Decimal("0.20"), Money(1, "RSD"), id="half-up-0.5-to-1"),
        pytest.param(Money(-3, "RSD"), Decimal("0.20"), Money(-1, "RSD"), id="credit-note-symmetric"),
        pytest.param(Money(100, "RSD"), Decimal("0.20"), Money(17, "RSD"), id="16.67-to-17"),
        pytest.param(Money(11600, "KZT"), Decimal("0.16"), Money(1600, "KZT"), id="KZT-at-16"),
        pytest.param(Money(11200, "KZT"), Decimal("0.12"), Money(1200, "KZT"), id="KZT-at-12"),
        pytest.param(Money(0, "KZT"), Decimal("0.16"), Money(0, "KZT"), id="zero"),
    ],
)
def test_vat_part_of_gross_price_RS_III_1(gross: Money, rate: Decimal, expected: Money) -> None:
    assert vat_part(gross, rate) == expected


def test_vat_rate_must_be_a_decimal_RS_III_1() -> None:
    with pytest.raises(TypeError):
        vat_part(Money(100, "RSD"), 0.2)  # type: ignore[arg-type]


def test_money_arithmetic_in_one_currency() -> None:
    price = Money(15999900, "RSD")

    assert price + Money(100, "RSD") == Money(16000000, "RSD")
    assert price - Money(99900, "RSD") == Money(15900000, "RSD")
    assert price * 2 == 2 * price == Money(31999800, "RSD")
    assert Money(1, "RSD") < Money(2, "RSD") <= Money(2, "RSD")
    assert Money.zero("KZT") == Money(0, "KZT")
    assert Money.total([price, price], "RSD") == Money(31999800, "RSD")
    assert Money.total([], "RSD") == Money.zero("RSD")
    assert price.to_dict() == {"amount_minor": 15999900, "currency": "RSD"}
    assert Money.from_dict(price.to_dict()) == price


@pytest.mark.parametrize(
    "mix",
    [
        pytest.param(lambda a, b: a + b, id="add"),
        pytest.param(lambda a, b: a - b, id="subtract"),
        pytest.param(lambda a, b: a < b, id="compare"),
        pytest.param(lambda a, b: a >= b, id="compare-ge"),
        pytest.param(lambda a, b: Money.total([a, b], "RSD"), id="total"),
    ],
)
def test_mixing_currencies_is_refused_RS_III_4(mix: Callable[[Money, Money], object]) -> None:
    with pytest.raises(ValueError, match="cannot combine"):
        mix(Money(100, "RSD"), Money(100, "KZT"))


@pytest.mark.parametrize(
    ("amount", "currency", "error"),
    [
        pytest.param(1.5, "RSD", TypeError, id="float"),
        pytest.param(True, "RSD", TypeError, id="bool"),
        pytest.param(Decimal(1), "RSD", TypeError, id="decimal"),
        pytest.param(1, "rsd", ValueError, id="lower-case-code"),
    ],
)
def test_money_holds_integers_only(amount: object, currency: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        Money(amount, currency)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(1, "RSD") * 1.5  # type: ignore[operator]
