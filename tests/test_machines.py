"""Every lifecycle of the shop (shop.domain.machines.MACHINES) as pure domain: each step cites a
clause of the contract, each machine allows exactly what its table lists and refuses the rest with
the step's clause, no state is unreachable or a dead end, a broken table fails when it is built,
and the committed pages in docs/ are what `make diagram` writes now. Then the rules of the order
line (RS-IV.6, RS-IV.5, RS-V.1, RS-V.3, RS-V.5.6) and of the refund (RS-III.4, RS-VII.10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import pytest

from shop.domain.errors import Conflict, TransitionRefused
from shop.domain.machine import Lifecycle, Step
from shop.domain.machines import MACHINES, document_name, documents
from shop.domain.order_lines import ORDER_LINE, LineState
from shop.domain.refunds import REFUND, RefundState
from shop.jobs.__main__ import diagram
from tests.test_lifecycle import CONTRACT_CLAUSES, diagram_edges, table_edges

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 10, 29, 9, 0, tzinfo=UTC)

STEPS = [(machine, step) for machine in MACHINES for step in machine.steps]
REFUSED = [(machine, state, step) for machine in MACHINES for state in machine.states
           for step in machine.steps if state not in step.sources]


def name(value: object) -> str:
    return getattr(value, "name", None) if isinstance(value, Lifecycle) else getattr(value, "event", str(value))


# --- what holds for every machine -------------------------------------------------------------------

def test_every_machine_is_registered_once_under_its_own_name():
    assert [machine.name for machine in MACHINES] == ["order", "order line", "refund", "withdrawal", "perk",
                                                       "service case", "complaint", "conformity claim",
                                                       "force majeure", "technical interruption", "take-back", "review",
                                                       "content notice"]
    assert len({document_name(machine) for machine in MACHINES}) == len(MACHINES)


@pytest.mark.parametrize(("machine", "step"), STEPS, ids=name)
def test_every_step_cites_a_clause_of_the_contract(machine, step):
    assert step.clause in CONTRACT_CLAUSES, (machine.name, step.event)
    assert step.meaning.strip()


@pytest.mark.parametrize("machine", MACHINES, ids=name)
def test_machine_allows_exactly_what_the_table_lists(machine):
    for state in machine.states:
        assert set(machine.allowed_events(state)) == {
            step.event for step in machine.steps if state in step.sources}, (machine.name, state)


@pytest.mark.parametrize(("machine", "state", "step"), REFUSED, ids=name)
def test_event_not_allowed_in_a_state_is_refused_with_code_and_clause(machine, state, step):
    with pytest.raises(TransitionRefused) as refused:
        machine.fire(state, step.event, now=NOW)
    assert (refused.value.code, refused.value.clause) == (f"{step.event}_not_allowed", step.clause)
    meaning = machine.step(step.event).meaning  # of a creating event, its first step's
    refusal = f"{machine.subject} that is {state.value} cannot take '{step.event}' ({meaning})"
    assert refused.value.detail == refusal
    assert refused.value.status == 409


@pytest.mark.parametrize("machine", MACHINES, ids=name)
def test_every_initial_state_is_created_by_a_step_and_nothing_else_is(machine):
    assert {step.dest for step in machine.creations} == set(machine.initial)
    for step in machine.creations:
        transition = machine.start(step.event, step.dest, now=NOW)
        assert (transition.machine, transition.from_state, transition.to_state, transition.clause) == (
            machine.name, None, step.dest, step.clause)
    for state in set(machine.states) - set(machine.initial):
        with pytest.raises(TransitionRefused):
            machine.start(machine.creations[0].event, state)


@pytest.mark.parametrize("machine", MACHINES, ids=name)
def test_table_has_no_unreachable_state_and_no_dead_end(machine):
    machine.check()
    assert machine.unreachable_states() == set() and machine.dead_ends() == set()
    entered = set(machine.initial) | {step.dest for step in machine.steps}
    left = {source for step in machine.moves for source in step.sources if step.dest != source}
    assert entered == set(machine.states)
    assert set(machine.states) - set(machine.final) <= left


@pytest.mark.parametrize("machine", MACHINES, ids=name)
def test_mermaid_draws_every_state_and_every_step_of_the_table(machine):
    text = machine.mermaid()
    for state in machine.states:
        assert f'state "{state.value}" as {state.value}' in text
    assert diagram_edges(text) == table_edges(machine.steps)
    assert text.count("[*] -->") == len(machine.initial)


def test_committed_pages_are_what_make_diagram_writes_now(tmp_path):
    """`make diagram` output is committed; this fails when a table changes without it."""
    diagram(tmp_path)
    written = {path.name: path.read_text() for path in tmp_path.glob("lifecycle-*.md")}
    committed = {path.name: path.read_text() for path in (ROOT / "docs").glob("lifecycle-*.md")}
    assert written == documents()
    assert committed == written, "run `make diagram` and commit docs/"
    assert not (ROOT / "docs" / "order-lifecycle.md").exists()


# --- a broken table fails when it is built ----------------------------------------------------------

class Door(StrEnum):
    OPEN = "open"
    SHUT = "shut"
    LOCKED = "locked"


def build(*steps: Step[Door], initial=(Door.OPEN,), final=(Door.LOCKED,)) -> Lifecycle[Door]:
    return Lifecycle("door", Door, steps, initial=initial, final=final)


SHUT = Step("shut", (Door.OPEN,), Door.SHUT, "RS-IV.1", "shut it")
LOCK = Step("lock", (Door.SHUT,), Door.LOCKED, "RS-IV.1", "lock it")


def test_a_sound_table_builds():
    door = build(SHUT, LOCK)
    assert door.fire("open", "shut").to_state == Door.SHUT and repr(door) == "Lifecycle('door', Door, 2 steps)"


def test_a_state_no_step_reaches_fails_at_construction():
    with pytest.raises(RuntimeError, match=r"door lifecycle table is broken: unreachable states \['locked'\]"):
        build(SHUT, final=(Door.SHUT, Door.LOCKED))


def test_a_state_without_a_way_out_fails_at_construction():
    with pytest.raises(RuntimeError, match=r"door lifecycle table is broken: .*dead ends \['shut'\]"):
        build(SHUT, Step("lock", (Door.OPEN,), Door.LOCKED, "RS-IV.1", "lock it"))


def test_a_self_step_is_no_way_out():
    stay = Step("knock", (Door.SHUT,), Door.SHUT, "RS-IV.1", "knock")
    with pytest.raises(RuntimeError, match=r"dead ends \['shut'\]"):
        build(SHUT, stay, Step("lock", (Door.OPEN,), Door.LOCKED, "RS-IV.1", "lock it"))
    door = build(SHUT, stay, LOCK)
    assert door.fire(Door.SHUT, "knock").to_state == Door.SHUT


@pytest.mark.parametrize(("steps", "problem"), [
    ((SHUT, LOCK, Step("shut", (Door.LOCKED,), Door.SHUT, "RS-IV.1", "again")), "'shut' is more than one step"),
    ((SHUT, LOCK, Step("lock", (), Door.OPEN, "RS-IV.1", "make")), "'lock' is both a step and a creation"),
    ((SHUT, LOCK, Step("make", (), Door.SHUT, "RS-IV.1", "make")), "are not those created"),
    ((SHUT, LOCK, Step("paint", (Door.OPEN,), "blue", "RS-IV.1", "paint")),  # type: ignore[arg-type]
     "names 'blue', not a Door"),
    ((SHUT, LOCK, Step("oil", (Door.OPEN,), Door.OPEN, "", "oil")), "'oil' cites no clause"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_a_malformed_table_fails_at_construction_naming_the_machine(steps, problem):
    with pytest.raises(RuntimeError, match="door lifecycle table is broken") as broken:
        build(*steps)
    assert problem in str(broken.value)


def test_a_guard_that_only_says_no_still_refuses():
    door = build(SHUT, Step("lock", (Door.SHUT,), Door.LOCKED, "RS-IV.1", "lock it", (lambda **_: False,)))
    with pytest.raises(TransitionRefused) as refused:
        door.fire("shut", "lock")
    assert (refused.value.code, refused.value.clause) == ("lock_not_allowed", "RS-IV.1")


def test_an_unknown_event_is_a_programming_error_naming_the_machine():
    with pytest.raises(KeyError, match="the refund lifecycle has no event 'ship'"):
        REFUND.fire("pending", "ship")
    with pytest.raises(TypeError, match="use start"):
        REFUND.fire(None, "request")  # type: ignore[arg-type]


# --- the order line -------------------------------------------------------------------------------

def test_a_line_is_ordered_with_its_order_RS_IV_1():
    transition = ORDER_LINE.start("place", LineState.ORDERED)
    assert (transition.machine, transition.from_state, transition.to_state, transition.clause) == (
        "order line", None, LineState.ORDERED, "RS-IV.1")


def test_only_lines_confirmed_available_join_the_contract_RS_IV_6():
    assert ORDER_LINE.fire("ordered", "confirm").to_state == LineState.CONFIRMED
    left_out = ORDER_LINE.fire("ordered", "unavailable")
    assert (left_out.to_state, left_out.clause) == (LineState.CANCELLED, "RS-IV.6")


def test_a_confirmed_line_is_not_left_out_afterwards_RS_IV_6():
    for event in ("unavailable", "confirm"):
        with pytest.raises(TransitionRefused) as refused:
            ORDER_LINE.fire("confirmed", event)
        assert (refused.value.code, refused.value.clause) == (f"{event}_not_allowed", "RS-IV.6")
    assert refused.value.detail.startswith("an order line that is confirmed cannot take 'confirm'")


def test_lines_are_cancelled_with_their_order_before_delivery_RS_IV_5_RS_V_5_6():
    for state in (LineState.ORDERED, LineState.CONFIRMED):
        assert ORDER_LINE.fire(state, "cancel").clause == "RS-IV.5"
        assert ORDER_LINE.fire(state, "out_of_stock").clause == "RS-V.5.6"


def test_lines_are_cancelled_with_an_order_placed_at_a_price_error_before_delivery_RS_III_2():
    for state in (LineState.ORDERED, LineState.CONFIRMED):
        transition = ORDER_LINE.fire(state, "price_error")
        assert (transition.to_state, transition.clause) == (LineState.CANCELLED, "RS-III.2")
    for state in (LineState.CANCELLED, LineState.WITHDRAWN):
        with pytest.raises(TransitionRefused) as refused:
            ORDER_LINE.fire(state, "price_error")
        assert (refused.value.code, refused.value.clause) == ("price_error_not_allowed", "RS-III.2")


def test_a_failed_delivery_cancels_the_confirmed_lines_RS_V_3():
    assert ORDER_LINE.fire("confirmed", "delivery_failed").to_state == LineState.CANCELLED
    assert "delivery_failed" not in ORDER_LINE.allowed_events(LineState.ORDERED)


def test_unpaid_lines_are_cancelled_with_their_order_RS_V_1():
    for event in ("expire_payment", "decline_installments", "refund_late_payment"):
        assert ORDER_LINE.fire("ordered", event).clause == "RS-V.1"
        with pytest.raises(TransitionRefused):
            ORDER_LINE.fire("confirmed", event)


def test_an_expired_line_is_ordered_again_only_for_a_payment_made_in_the_window_RS_V_1():
    due = NOW
    with pytest.raises(Conflict) as other:
        ORDER_LINE.fire("cancelled", "honour_timely_payment", paid_at=due, payment_due_at=due,
                        cancelled_by_event="cancel")
    with pytest.raises(Conflict) as late:
        ORDER_LINE.fire("cancelled", "honour_timely_payment", paid_at=due + timedelta(seconds=1),
                        payment_due_at=due, cancelled_by_event="expire_payment")
    assert (other.value.code, late.value.code) == ("cancelled_for_another_reason", "paid_after_window")
    assert ORDER_LINE.fire("cancelled", "honour_timely_payment", paid_at=due, payment_due_at=due,
                           cancelled_by_event="expire_payment").to_state == LineState.ORDERED


def test_line_states_keep_their_stored_values():
    assert [state.value for state in LineState] == ["ordered", "confirmed", "cancelled", "withdrawn"]


# --- the refund -----------------------------------------------------------------------------------

def test_a_refund_is_recorded_pending_RS_III_4():
    transition = REFUND.start("request", RefundState.PENDING)
    assert (transition.machine, transition.from_state, transition.to_state, transition.clause) == (
        "refund", None, RefundState.PENDING, "RS-III.4")


def test_a_pending_refund_succeeds_or_fails_RS_III_4():
    assert REFUND.fire("pending", "succeed").to_state == RefundState.SUCCEEDED
    assert REFUND.fire("pending", "fail").to_state == RefundState.FAILED


def test_a_succeeded_refund_never_changes_again_RS_III_4():
    assert REFUND.allowed_events(RefundState.SUCCEEDED) == ()
    assert REFUND.final == (RefundState.SUCCEEDED,)
    for step in REFUND.moves:
        with pytest.raises(TransitionRefused) as refused:
            REFUND.fire("succeeded", step.event)
        assert refused.value.detail.startswith(f"a refund that is succeeded cannot take '{step.event}'")


def test_a_failed_refund_is_sent_again_by_staff_as_a_pending_attempt_RS_VII_10():
    transition = REFUND.fire("failed", "retry")
    assert (transition.to_state, transition.clause) == (RefundState.PENDING, "RS-VII.10")
    with pytest.raises(TransitionRefused) as refused:
        REFUND.fire("pending", "retry")
    assert (refused.value.code, refused.value.clause) == ("retry_not_allowed", "RS-VII.10")


def test_a_refund_the_shop_took_for_failed_may_still_be_reported_succeeded_RS_III_4():
    assert REFUND.fire("failed", "succeed").to_state == RefundState.SUCCEEDED
    with pytest.raises(TransitionRefused):
        REFUND.fire("failed", "fail")


def test_refund_states_keep_their_stored_values():
    assert [state.value for state in RefundState] == ["pending", "succeeded", "failed"]
