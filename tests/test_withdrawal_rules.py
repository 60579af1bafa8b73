"""The withdrawal's rules as pure domain (shop.domain.withdrawal), each test named after its clause:
the period (RS-VII.1, T-1 on the market's calendar), the statement judged by when it was sent (T-6),
the lines a statement covers (RS-VII.13, RS-VII.14), the return deadline (RS-VII.7) and the refund
(RS-VII.10, RS-VII.11)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest

from shop.domain.calendar import local_instant
from shop.domain.deadlines import refund_due_by
from shop.domain.errors import Conflict, InvalidInput, TransitionRefused
from shop.domain.markets import Market
from shop.domain.withdrawal import (
    WITHDRAWAL, WithdrawalState, check_statement, covered_lines, refund_owed, refundable_delivery, return_due_by,
)

RS, KZ = Market.RS, Market.KZ
FAR = datetime(2027, 6, 1, tzinfo=UTC)


@dataclass
class L:
    id: int
    unit_price_minor: int = 1000
    quantity: int = 1
    returnable: bool = True
    set_items: list[str] = field(default_factory=list)
    state: str = "confirmed"
    price_corrected_minor: int = 0


def at(day: str, hh: int, mm: int, market: Market) -> datetime:
    return local_instant(datetime.fromisoformat(day).date(), time(hh, mm), market)


# --- the period ---------------------------------------------------------------------------------------

def test_statement_sent_on_the_last_day_at_local_23_59_is_in_time_RS_VII_1():
    delivered = at("2026-10-01", 12, 0, RS)
    deadline = check_statement(sent_at=at("2026-10-15", 23, 59, RS), delivered_at=delivered, market=RS, now=FAR)
    assert deadline == at("2026-10-15", 23, 59, RS) + timedelta(seconds=59, microseconds=999_999)


def test_statement_sent_on_the_first_day_after_the_period_is_late_RS_VII_1():
    with pytest.raises(Conflict) as late:
        check_statement(sent_at=at("2026-10-16", 0, 0, RS), delivered_at=at("2026-10-01", 12, 0, RS),
                        market=RS, now=FAR)
    assert (late.value.code, late.value.clause, late.value.status) == ("withdrawal_period_expired", "RS-VII.1", 409)


def test_a_period_ending_on_a_weekend_ends_on_the_next_working_day_T_1():
    delivered = at("2026-10-03", 10, 0, RS)  # the 14th day is Saturday 17 Oct
    check_statement(sent_at=at("2026-10-19", 23, 59, RS), delivered_at=delivered, market=RS, now=FAR)
    with pytest.raises(Conflict):
        check_statement(sent_at=at("2026-10-20", 0, 0, RS), delivered_at=delivered, market=RS, now=FAR)


def test_a_period_ending_on_a_serbian_holiday_ends_on_the_next_working_day_T_1():
    delivered = at("2026-10-28", 15, 0, RS)  # the 14th day is 11 Nov, Armistice Day in RS
    check_statement(sent_at=at("2026-11-12", 23, 59, RS), delivered_at=delivered, market=RS, now=FAR)
    with pytest.raises(Conflict):
        check_statement(sent_at=at("2026-11-13", 0, 0, RS), delivered_at=delivered, market=RS, now=FAR)


def test_a_period_ending_on_a_kazakh_holiday_ends_on_the_next_working_day_T_1():
    delivered = at("2026-12-02", 15, 0, KZ)  # the 14th day is 16 Dec, Independence Day in KZ
    check_statement(sent_at=at("2026-12-17", 23, 59, KZ), delivered_at=delivered, market=KZ, now=FAR)
    with pytest.raises(Conflict):
        check_statement(sent_at=at("2026-12-18", 0, 0, KZ), delivered_at=delivered, market=KZ, now=FAR)


def test_a_statement_sent_in_time_and_recorded_late_counts_T_6():
    delivered = at("2026-10-01", 12, 0, RS)
    check_statement(sent_at=at("2026-10-15", 22, 0, RS), delivered_at=delivered, market=RS,
                    now=at("2026-10-20", 9, 0, RS))


def test_a_statement_sent_in_the_future_or_before_delivery_is_refused_T_6():
    delivered = at("2026-10-01", 12, 0, RS)
    now = at("2026-10-05", 9, 0, RS)
    with pytest.raises(InvalidInput) as future:
        check_statement(sent_at=now + timedelta(seconds=1), delivered_at=delivered, market=RS, now=now)
    with pytest.raises(InvalidInput) as early:
        check_statement(sent_at=delivered - timedelta(seconds=1), delivered_at=delivered, market=RS, now=now)
    assert (future.value.code, future.value.field) == ("sent_at_in_future", "sent_at")
    assert early.value.code == "sent_before_delivery"


# --- the lines ----------------------------------------------------------------------------------------

def test_no_line_named_covers_every_delivered_returnable_line_not_yet_withdrawn_RS_VII_1():
    lines = [L(1), L(2, returnable=False), L(3, state="cancelled"), L(4)]
    assert [line.id for line in covered_lines(lines, None, withdrawn={4})] == [1]


def test_a_set_is_withdrawn_whole_RS_VII_13():
    band = L(1, quantity=2, set_items=["band", "strap", "cable"])
    [covered] = covered_lines([band, L(2)], [1], withdrawn=set())
    assert covered is band and covered.quantity == 2 and covered.set_items == ["band", "strap", "cable"]


def test_a_non_returnable_line_is_refused_RS_VII_14():
    with pytest.raises(Conflict) as refused:
        covered_lines([L(1), L(2, returnable=False)], [1, 2], withdrawn=set())
    assert (refused.value.code, refused.value.clause) == ("not_returnable", "RS-VII.14")
    with pytest.raises(Conflict) as nothing_left:
        covered_lines([L(2, returnable=False)], None, withdrawn=set())
    assert nothing_left.value.clause == "RS-VII.14"


def test_a_line_is_not_withdrawn_twice_RS_VII_1():
    with pytest.raises(Conflict) as twice:
        covered_lines([L(1), L(2)], [2], withdrawn={2})
    assert twice.value.code == "line_already_withdrawn"
    with pytest.raises(Conflict):
        covered_lines([L(1)], None, withdrawn={1})


def test_unknown_or_undelivered_lines_are_named_RS_VII_1():
    with pytest.raises(InvalidInput) as unknown:
        covered_lines([L(1), L(3, state="cancelled")], [3, 9], withdrawn=set())
    assert (unknown.value.code, unknown.value.field) == ("unknown_line", "line_ids")
    with pytest.raises(InvalidInput):
        covered_lines([L(1)], [], withdrawn=set())


# --- the return and the refund ------------------------------------------------------------------------

def test_the_goods_are_due_back_14_calendar_days_after_the_label_RS_VII_7():
    issued = datetime(2026, 10, 2, 16, 30, tzinfo=UTC)  # 16 Oct is a Friday: never rolled, never shortened
    assert return_due_by(issued) == datetime(2026, 10, 16, 16, 30, tzinfo=UTC)


def test_the_refund_is_due_14_days_after_the_statement_T_1_RS_VII_10():
    assert refund_due_by(at("2026-10-28", 15, 0, RS), RS) == at("2026-11-12", 23, 59, RS) + timedelta(
        seconds=59, microseconds=999_999)


ORDER = SimpleNamespace(market="RS", items_minor=200_000, delivery_minor=39_000)


def test_the_refund_is_the_lines_price_RS_VII_10():
    owed = refund_owed(ORDER, [L(1, 50_000, 2), L(2, 100_000)], whole_order=False, deduction_minor=0)
    assert (owed.lines_minor, owed.delivery_minor, owed.amount_minor) == (200_000, 0, 200_000)


def test_a_whole_order_withdrawn_gets_the_delivery_charge_back_RS_VII_10():
    owed = refund_owed(ORDER, [L(1, 200_000)], whole_order=True, deduction_minor=0)
    assert owed.amount_minor == 239_000


def test_only_the_cheapest_standard_delivery_is_refunded_RS_VII_10():
    dearer = SimpleNamespace(market="RS", items_minor=200_000, delivery_minor=99_000)
    free = SimpleNamespace(market="RS", items_minor=2_000_000, delivery_minor=0)
    pickup = SimpleNamespace(market="KZ", items_minor=200_000, delivery_minor=0)
    assert (refundable_delivery(dearer), refundable_delivery(free), refundable_delivery(pickup)) == (39_000, 0, 0)


def test_a_deduction_at_its_bounds_RS_VII_10_RS_VII_11():
    lines = [L(1, 50_000, 2)]
    assert refund_owed(ORDER, lines, whole_order=True, deduction_minor=0).amount_minor == 139_000
    assert refund_owed(ORDER, lines, whole_order=True, deduction_minor=100_000).amount_minor == 39_000
    for wrong in (-1, 100_001):
        with pytest.raises(InvalidInput) as refused:
            refund_owed(ORDER, lines, whole_order=False, deduction_minor=wrong)
        assert (refused.value.field, refused.value.clause) == ("deduction_minor", "RS-VII.10")


# --- the machine --------------------------------------------------------------------------------------

def test_a_withdrawal_goes_requested_label_received_refunded_RS_VII():
    W = WithdrawalState
    state = WITHDRAWAL.start("request", W.REQUESTED).to_state
    for event, clause, expected in (("issue_label", "RS-VII.7", W.AWAITING_RETURN),
                                    ("receive", "RS-VII.8", W.RECEIVED), ("refund", "RS-VII.10", W.REFUNDED)):
        transition = WITHDRAWAL.fire(state, event)
        assert (transition.clause, transition.to_state) == (clause, expected)
        state = transition.to_state
    with pytest.raises(TransitionRefused):
        WITHDRAWAL.fire(W.REQUESTED, "receive")
    assert WITHDRAWAL.fire(W.AWAITING_RETURN, "reject").to_state == W.REJECTED
