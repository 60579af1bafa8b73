"""The deadlines of an order's life, each with its clause, computed on the market's calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shop.domain.calendar import deadline_after_days, deadline_after_years, end_of_local_day, hours_after
from shop.domain.markets import Market

PAYMENT_WINDOW_HOURS = 2  # RS-V.1
WITHDRAWAL_DAYS = 14  # RS-VII.1
LEGAL_GUARANTEE_YEARS = 2  # RS-VI.1
REFUND_DAYS = 14  # RS-VII.10, RS-VI.8, RS-VI.10


@dataclass(frozen=True)
class Deadline:
    name: str
    due_at: datetime
    clause: str


def payment_due_at(placed_at: datetime) -> datetime:
    """RS-V.1, T-4: payment within 2 hours of placing the order, to the second."""
    return hours_after(placed_at, PAYMENT_WINDOW_HOURS)


def withdrawal_deadline(delivered_at: datetime, market: Market) -> datetime:
    """RS-VII.1, T-1: 14 days from taking possession, rolled to a working day."""
    return deadline_after_days(delivered_at, WITHDRAWAL_DAYS, market)


def legal_guarantee_ends(delivered_at: datetime, market: Market) -> datetime:
    """RS-VI.1, T-2: a lack of conformity that shows within 2 years of delivery."""
    return deadline_after_years(delivered_at, LEGAL_GUARANTEE_YEARS, market)


def refund_due_by(statement_at: datetime, market: Market) -> datetime:
    """RS-VII.10: refund within 14 days of the statement (the seller's own deadline, T-1)."""
    return deadline_after_days(statement_at, REFUND_DAYS, market)


def order_deadlines(
    *,
    market: Market,
    payment_due: datetime | None,
    expected_delivery_on,
    delivered_at: datetime | None,
) -> list[Deadline]:
    deadlines = []
    if payment_due is not None:
        deadlines.append(Deadline("payment_due", payment_due, "RS-V.1"))
    deadlines.append(
        Deadline("expected_delivery", end_of_local_day(expected_delivery_on, market), "RS-V.5.2")
    )
    if delivered_at is not None:
        deadlines.append(Deadline("withdrawal", withdrawal_deadline(delivered_at, market), "RS-VII.1"))
        deadlines.append(
            Deadline("legal_guarantee", legal_guarantee_ends(delivered_at, market), "RS-VI.1")
        )
    return deadlines
