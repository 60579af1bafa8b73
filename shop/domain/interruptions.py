"""Announced technical interruptions (RS-IV.4): the `INTERRUPTION` lifecycle of a market's
announced period and the rule it makes for new orders.

The terms (seed 004, IV): the customer may order 24 hours a day, every day, provided there is no
technical interruption; the seller posts a notice on the website of technical interruptions
whenever it can. So staff announce a market's interruption with its start and end, and a notice the
storefront shows (`GET /interruptions`); while it is in effect new orders of that market are refused
with a clear message and when to come back (503, `Retry-After`). Everything else goes on: orders
already placed are untouched (their payments, cancellation, confirmation, delivery), quotes are
answered, and an Idempotency-Key's earlier answer is still given.

Decisions (the terms are silent): an interruption is announced before it ends and begins no earlier
than it is announced (staff cannot refuse orders in the past); it lasts at most
`LONGEST_INTERRUPTION` (a longer stop is not a technical interruption, and a typo must not close
the shop for a year); a market's interruptions do not overlap; one not yet begun may be called off,
one in effect may be ended early (its end becomes the moment staff end it). One that runs its course
needs no step: it is over at its end (`status_at`).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from enum import StrEnum

from shop.domain.calendar import as_utc, to_local
from shop.domain.errors import Conflict, DomainError, InvalidInput
from shop.domain.machine import Lifecycle, Step
from shop.domain.markets import Market

LONGEST_INTERRUPTION = timedelta(hours=24)


class InterruptionState(StrEnum):
    ANNOUNCED = "announced"
    CALLED_OFF = "called_off"
    ENDED = "ended"


class InterruptionStatus(StrEnum):
    """What the storefront shows of an interruption at an instant."""

    UPCOMING = "upcoming"
    IN_EFFECT = "in_effect"
    OVER = "over"
    CALLED_OFF = "called_off"


INTERRUPTION_STEPS: tuple[Step[InterruptionState], ...] = (
    Step("announce", (), InterruptionState.ANNOUNCED, "RS-IV.4",
         "staff announce a technical interruption of a market: while it is in effect new orders are refused"),
    Step("call_off", (InterruptionState.ANNOUNCED,), InterruptionState.CALLED_OFF, "RS-IV.4",
         "an interruption not yet begun is called off: orders are taken as before"),
    Step("end", (InterruptionState.ANNOUNCED,), InterruptionState.ENDED, "RS-IV.4",
         "an interruption in effect is over early: orders are taken again from now"),
)

INTERRUPTION: Lifecycle[InterruptionState] = Lifecycle(
    "technical interruption", InterruptionState, INTERRUPTION_STEPS, initial=(InterruptionState.ANNOUNCED,),
    final=(InterruptionState.CALLED_OFF, InterruptionState.ENDED),
)


class OrdersInterrupted(DomainError):
    """RS-IV.4: a new order during an announced technical interruption. 503: the shop is there, it
    takes no orders until the interruption ends (`retry_after`); nothing was written."""

    status = 503
    title = "Technical interruption"


def check_announcement(starts_at: datetime, ends_at: datetime, now: datetime, *, overlapping: bool) -> None:
    """An interruption begins now or later, ends after it begins, within `LONGEST_INTERRUPTION`,
    and meets no other of its market."""
    if as_utc(starts_at) < as_utc(now):
        raise InvalidInput("starts_at_in_past", "an interruption begins no earlier than it is announced",
                           clause="RS-IV.4", field="starts_at")
    if as_utc(ends_at) <= as_utc(starts_at):
        raise InvalidInput("ends_before_it_begins", "an interruption ends after it begins",
                           clause="RS-IV.4", field="ends_at")
    if as_utc(ends_at) - as_utc(starts_at) > LONGEST_INTERRUPTION:
        raise InvalidInput("interruption_too_long",
                           f"an interruption lasts at most {LONGEST_INTERRUPTION.total_seconds() / 3600:g} hours",
                           clause="RS-IV.4", field="ends_at")
    if overlapping:
        raise Conflict("interruption_overlaps", "the market has an interruption announced in that time already",
                       clause="RS-IV.4", field="starts_at")


def status_at(state: str, starts_at: datetime, ends_at: datetime, now: datetime) -> InterruptionStatus:
    """The interruption as of `now`: an announced (or ended early) one is upcoming, in effect or over
    by its times."""
    if state == InterruptionState.CALLED_OFF:
        return InterruptionStatus.CALLED_OFF
    if as_utc(now) < as_utc(starts_at):
        return InterruptionStatus.UPCOMING
    if as_utc(now) < as_utc(ends_at):
        return InterruptionStatus.IN_EFFECT
    return InterruptionStatus.OVER


def check_call_off(starts_at: datetime, now: datetime) -> None:
    """Only an interruption not yet begun is called off; one in effect is ended."""
    if as_utc(now) >= as_utc(starts_at):
        raise Conflict("interruption_already_begun", "the interruption has begun: end it instead",
                       clause="RS-IV.4")


def check_end(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    """Only an interruption in effect is ended early; one not begun is called off, one over needs nothing."""
    if as_utc(now) < as_utc(starts_at):
        raise Conflict("interruption_not_begun", "the interruption has not begun: call it off instead",
                       clause="RS-IV.4")
    if as_utc(now) >= as_utc(ends_at):
        raise Conflict("interruption_over", "the interruption is over already", clause="RS-IV.4")


def refuse_new_orders(market: Market | str, interrupted_until: datetime | None, now: datetime) -> None:
    """RS-IV.4: no new order of `market` while an announced interruption is in effect
    (`interrupted_until`: the end of the one in effect, None when there is none). The message says
    until when, in the market's time (T-5), and `Retry-After` in how many seconds."""
    if interrupted_until is None or as_utc(interrupted_until) <= as_utc(now):
        return
    until = to_local(interrupted_until, market)
    refused = OrdersInterrupted(
        "technical_interruption",
        f"orders are not taken during an announced technical interruption, until "
        f"{until:%Y-%m-%d %H:%M} ({until.tzname()}, {until.tzinfo}); orders already placed are not affected",
        clause="RS-IV.4")
    refused.retry_after = max(1, math.ceil((as_utc(interrupted_until) - as_utc(now)).total_seconds()))
    raise refused
