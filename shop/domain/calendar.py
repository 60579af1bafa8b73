"""Market calendars and period arithmetic: every period of the contract is computed here (T-1 … T-5).

No function reads the clock: each takes the instants it needs. Instants in are aware datetimes
(a naive one is a `ValueError`); instants out are in UTC (T-5). "Local" means the market's zone.

Deadlines are inclusive last instants: an act at `at` is in time when `at <= deadline` (`in_time`).
The last instant of a local day is 23:59:59.999999 local time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType

import holidays

from shop.domain.markets import Market, market_info

_LAST_INSTANT = time(23, 59, 59, 999999)


def as_utc(instant: datetime) -> datetime:
    """The same instant in UTC; refuses a naive datetime (T-5)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"instant must be timezone-aware, got naive {instant.isoformat()}")
    return instant.astimezone(UTC)


def to_local(instant: datetime, market: Market | str) -> datetime:
    """The instant as the market's wall time, for computing and showing (T-5)."""
    return as_utc(instant).astimezone(market_info(market).zone)


def local_date(instant: datetime, market: Market | str) -> date:
    """The market's calendar date of an instant: the local date decides, not the UTC one (T-1, T-5)."""
    return to_local(instant, market).date()


def local_instant(day: date, wall_time: time, market: Market | str) -> datetime:
    """A local date and wall time as a UTC instant (T-5).

    A wall time skipped by a clock change is refused; a repeated one is read with `wall_time.fold`
    (0, the default, is its first occurrence).
    """
    if wall_time.tzinfo is not None:
        raise ValueError("wall_time must be a local wall time without tzinfo")
    zone = market_info(market).zone
    local = datetime.combine(day, wall_time, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None, fold=0) != local.replace(tzinfo=None, fold=0):
        raise ValueError(f"{day.isoformat()} {wall_time.isoformat()} does not exist in {zone.key}")
    return instant


def start_of_local_day(day: date, market: Market | str) -> datetime:
    """The first instant of a local day (00:00 local), in UTC (T-5)."""
    return local_instant(day, time.min, market)


def end_of_local_day(day: date, market: Market | str) -> datetime:
    """The last instant of a local day (23:59:59.999999 local), in UTC (T-1, T-5)."""
    return local_instant(day, _LAST_INSTANT, market)


# --- working days (T-3) ---------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _holidays(country: str, year: int) -> Mapping[date, str]:
    # Neighbouring years too, so an observed day that spills over a new year is not lost.
    listed = holidays.country_holidays(country, years=(year - 1, year, year + 1))
    return MappingProxyType({day: name for day, name in sorted(listed.items()) if day.year == year})


def public_holidays(year: int, market: Market | str) -> Mapping[date, str]:
    """The market's public holidays of a year, observed days included, with their names (T-3)."""
    return _holidays(market_info(market).holiday_country, year)


def holiday_name(day: date, market: Market | str) -> str | None:
    """Why a date is a public holiday in the market, or None (T-3)."""
    return public_holidays(day.year, market).get(day)


def is_working_day(day: date, market: Market | str) -> bool:
    """Monday to Friday, not a public holiday of the market nor its observed day (T-3, RS-V.5.2)."""
    return day.weekday() < 5 and holiday_name(day, market) is None


def next_working_day(day: date, market: Market | str) -> date:
    """The day itself if it is a working day, otherwise the first working day after it (T-1, T-3)."""
    while not is_working_day(day, market):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, n: int, market: Market | str) -> date:
    """The n-th working day after `day` (`day` itself does not count); n = 0 gives `day` (T-3)."""
    if n < 0:
        raise ValueError("n must not be negative")
    for _ in range(n):
        day = next_working_day(day + timedelta(days=1), market)
    return day


# --- periods in days, months and years (T-1, T-2) --------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The date with the same day number `months` later, clamped to the month's last day (T-2):
    31 Aug + 6 months = 28 Feb (29 in a leap year)."""
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    first = date(year, month_index + 1, 1)
    days_in_month = ((first + timedelta(days=32)).replace(day=1) - first).days
    return first.replace(day=min(day.day, days_in_month))


def _deadline_on(last_day: date, market: Market | str, roll: bool) -> datetime:
    if roll:
        last_day = next_working_day(last_day, market)
    return end_of_local_day(last_day, market)


def deadline_after_days(
    event: datetime, days: int, market: Market | str, *, roll: bool = True
) -> datetime:
    """T-1: a period of `days` counts from the day after the event's local date and ends at the end
    of its last day; if that day is not a working day, at the end of the next working day (`roll`).

    Delivered 28 Oct 2026, 14 days: the 14th day is 11 Nov (a holiday in RS), so 12 Nov 23:59:59.
    """
    if days < 1:
        raise ValueError("a period in days has at least one day")
    return _deadline_on(local_date(event, market) + timedelta(days=days), market, roll)


def deadline_after_months(
    event: datetime, months: int, market: Market | str, *, roll: bool = True
) -> datetime:
    """T-2: ends at the end of the day with the event's day number `months` later (clamped to the
    month's last day), local time, rolled to the next working day as in T-1 when `roll`."""
    if months < 1:
        raise ValueError("a period in months has at least one month")
    return _deadline_on(add_months(local_date(event, market), months), market, roll)


def deadline_after_years(
    event: datetime, years: int, market: Market | str, *, roll: bool = True
) -> datetime:
    """T-2 for years (the 2-year guarantee of RS-VI.1): `12 * years` months."""
    return deadline_after_months(event, 12 * years, market, roll=roll)


def waiting_period_opens(event: datetime, days: int, market: Market | str) -> datetime:
    """T-1 Decision: a waiting period is never lengthened; it ends at the end of its last day and
    what waits opens at 00:00 local of the next day. Activation 2 Oct, 14 days: opens 17 Oct 00:00."""
    if days < 0:
        raise ValueError("days must not be negative")
    return start_of_local_day(local_date(event, market) + timedelta(days=days + 1), market)


def fixed_local_deadline(day: date, wall_time: time, market: Market | str) -> datetime:
    """T-2: a deadline the terms give as a date and time ("by 31.03.2026 23:59") is exact, never
    rolled. "By 23:59" includes that minute: the deadline is its last instant, 23:59:59.999999 local.
    """
    if wall_time.second or wall_time.microsecond:
        raise ValueError("a fixed deadline names a minute (hh:mm), without seconds")
    last_instant = wall_time.replace(second=59, microsecond=999999)
    return local_instant(day, last_instant, market)


# --- periods in hours (T-4) and judging an act (T-6) -----------------------------------------------


def hours_after(instant: datetime, hours: int) -> datetime:
    """T-4: clock arithmetic to the second, in UTC (so a clock change never adds or removes an hour)."""
    return as_utc(instant) + timedelta(hours=hours)


def in_time(at: datetime, deadline: datetime) -> bool:
    """Whether an act at `at` meets an inclusive deadline; for a statement, `at` is the moment it was
    sent (T-6, RS-VII.2)."""
    return as_utc(at) <= as_utc(deadline)
