"""Force majeure (RS-VIII, T-7): the `FORCE_MAJEURE` lifecycle of a declared period and how it moves
the seller's own deadlines.

Staff declare a period for a market when it begins (or later, from when it began) and end it when it
is over. While it lasts, the seller's own deadlines are suspended; when it ends they resume: each
deadline still running when the period began is moved later by the time of the period that fell
while it ran (`moved_deadline`). The seller's deadlines are: the refund owed (RS-VII.10, RS-VI.8,
RS-VI.10 …), a withdrawal's refund (RS-VII.10), the answer to a complaint (RS-X.3) and the expected
delivery (RS-V.5.2, a date: moved by the period's days, to a working day). The customer's rights are
not shortened: the customer's own deadlines (the payment window, the withdrawal period, the return,
the guarantee) are left as they are.

Decisions: the deadlines move when the period ends, once, in the transaction that ends it (until
then they are shown as they stand, and `make sweep` says which markets are in a period); a period
begins no later than it is declared and ends no later than it is ended (staff record what happened,
not what will); one period of a market at a time.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from enum import StrEnum

from shop.domain.calendar import as_utc, next_working_day
from shop.domain.errors import Conflict, InvalidInput
from shop.domain.machine import Lifecycle, Step
from shop.domain.markets import Market


class PeriodState(StrEnum):
    DECLARED = "declared"
    ENDED = "ended"


PERIOD_STEPS: tuple[Step[PeriodState], ...] = (
    Step("declare", (), PeriodState.DECLARED, "RS-VIII",
         "staff declare force majeure for a market from when it began: the seller's own deadlines are suspended "
         "(T-7)"),
    Step("end", (PeriodState.DECLARED,), PeriodState.ENDED, "RS-VIII",
         "the period is over: every seller's deadline that ran during it resumes, moved later by that time (T-7)"),
)

FORCE_MAJEURE: Lifecycle[PeriodState] = Lifecycle(
    "force majeure", PeriodState, PERIOD_STEPS, initial=(PeriodState.DECLARED,), final=(PeriodState.ENDED,),
)


def check_declaration(starts_at: datetime, now: datetime, *, open_period: bool) -> None:
    """A period has begun when it is declared; a market has one period at a time."""
    if starts_at > now:
        raise InvalidInput("starts_at_in_future", "a period is declared once it has begun", field="starts_at")
    if open_period:
        raise Conflict("force_majeure_already_declared", "this market is in a declared period already",
                       clause="RS-VIII")


def check_end(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    """A period ends after it began and no later than now."""
    if ends_at > now:
        raise InvalidInput("ends_at_in_future", "a period is ended once it is over", field="ends_at")
    if ends_at <= starts_at:
        raise InvalidInput("ends_before_it_began", "a period ends after it began", field="ends_at")


def moved_deadline(due: datetime, running_since: datetime, starts_at: datetime, ends_at: datetime) -> datetime | None:
    """T-7: a seller's deadline `due` that ran from `running_since`, after the period [starts_at,
    ends_at): later by the part of the period that fell while it ran; None when the period did not
    touch it (it had passed before the period began, or began to run after it ended)."""
    due, since, start, end = as_utc(due), as_utc(running_since), as_utc(starts_at), as_utc(ends_at)
    if due <= start or since >= end:
        return None
    return due + (end - max(start, since))


def moved_delivery_date(expected_on: date, starts_at: datetime, ends_at: datetime, *, start_day: date,
                        market: Market) -> date | None:
    """T-7, RS-V.5.2: an expected delivery date not yet reached when the period began (`start_day`, its
    local date), later by the period's length in whole days, rounded up, on a working day."""
    if expected_on < start_day:
        return None
    days = math.ceil((as_utc(ends_at) - as_utc(starts_at)) / timedelta(days=1))
    return next_working_day(expected_on + timedelta(days=days), market)
