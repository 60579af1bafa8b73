"""The order's lifecycle table as pure domain (no database): every step cites its clause, the machine
refuses what the table does not allow and says why, guards explain themselves, no state is
unreachable or a dead end, and the published diagram is drawn from the same table. What holds for
every lifecycle (order lines, refunds) is proved in tests/test_machines.py."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shop.domain.errors import Conflict, InvalidInput, TransitionRefused
from shop.domain import lifecycle
from shop.domain.lifecycle import (
    FINAL_STATES, INITIAL_STATES, ORDER, STEP_BY_EVENT, STEPS, OrderState, Transition, allowed_events,
    check_table, dead_ends, fire, mermaid_diagram, unreachable_states,
)
from shop.domain.machines import MACHINES, document_name

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 10, 29, 9, 0, tzinfo=UTC)

# The RS rule ids of REQUIREMENTS.md (the digest of seed 004).
CONTRACT_CLAUSES = {
    "RS-I.1", "RS-I.2", "RS-III.1", "RS-III.2", "RS-III.3", "RS-III.4", "RS-III.5", "RS-IV.1", "RS-IV.2",
    "RS-IV.4", "RS-IV.5", "RS-IV.6", "RS-IV.7", "RS-IV.8–9", "RS-IV.10", "RS-V.1", "RS-V.2", "RS-V.3",
    "RS-V.5.1", "RS-V.5.2", "RS-V.5.3", "RS-V.5.4", "RS-V.5.5", "RS-V.5.6", "RS-V.5.7", "RS-V.5.8",
    "RS-V.5.9", "RS-VI.1", "RS-VI.3", "RS-VI.4", "RS-VI.5", "RS-VI.6", "RS-VI.7", "RS-VI.8", "RS-VI.9",
    "RS-VI.10", "RS-VII.1", "RS-VII.2", "RS-VII.3", "RS-VII.6", "RS-VII.7", "RS-VII.8", "RS-VII.9",
    "RS-VII.10", "RS-VII.11", "RS-VII.12", "RS-VII.13", "RS-VII.14", "RS-VIII", "RS-IX", "RS-X.1",
    "RS-X.2", "RS-X.3", "RS-XII", "RS-XIII", "RS-XV",
    # the KZ VIP terms, the perks on orders and the time rules (REQUIREMENTS.md)
    "KZ-1", "KZ-2", "KZ-3", "KZ-4.1", "KZ-4.2", "KZ-4.3", "KZ-4.4", "KZ-4.5", "KZ-4.6", "KZ-4.7", "KZ-5.1",
    "KZ-5.3", "KZ-5.4", "P-1", "P-2", "P-3", "P-4", "T-1", "T-2", "T-3", "T-4", "T-5", "T-6",
}
STOREFRONT_STATES = {"awaiting_payment", "awaiting_installment_approval", "paid", "confirmed", "shipped",
                     "delivered", "cancelled",
                     # added by issue 18 ("add more where the contract needs them"): every contracted line
                     # withdrawn and refunded (RS-VII.10)
                     "withdrawn"}
REFUSED = [(state, step) for state in OrderState for step in STEPS if state not in step.sources]


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.event)
def test_every_step_cites_a_clause_of_the_contract(step):
    assert step.clause in CONTRACT_CLAUSES
    assert step.meaning.strip()


def test_machine_allows_exactly_what_the_table_lists():
    for state in OrderState:
        assert set(allowed_events(state)) == {step.event for step in STEPS if state in step.sources}, state


@pytest.mark.parametrize(("state", "step"), REFUSED, ids=lambda value: getattr(value, "event", value))
def test_event_not_allowed_in_a_state_is_refused_with_code_and_clause(state, step):
    with pytest.raises(TransitionRefused) as refused:
        fire(state, step.event, now=NOW)
    assert (refused.value.code, refused.value.clause) == (f"{step.event}_not_allowed", step.clause)
    assert refused.value.status == 409


def test_customer_cannot_cancel_after_shipping_RS_IV_5():
    for state in (OrderState.SHIPPED, OrderState.DELIVERED):
        with pytest.raises(TransitionRefused) as refused:
            fire(state, "cancel")
        assert (refused.value.code, refused.value.clause) == ("cancel_not_allowed", "RS-IV.5")


def test_customer_may_cancel_until_delivery_has_started_RS_IV_5():
    for state in ("awaiting_payment", "awaiting_installment_approval", "paid", "confirmed"):
        transition = fire(state, "cancel")
        assert (transition.to_state, transition.clause) == (OrderState.CANCELLED, "RS-IV.5")


def test_the_seller_cancels_for_a_price_error_until_delivery_has_started_RS_III_2():
    for state in ("awaiting_payment", "awaiting_installment_approval", "paid", "confirmed"):
        transition = fire(state, "price_error")
        assert (transition.to_state, transition.clause) == (OrderState.CANCELLED, "RS-III.2")
    for state in (OrderState.SHIPPED, OrderState.DELIVERED, OrderState.CANCELLED, OrderState.WITHDRAWN):
        with pytest.raises(TransitionRefused) as refused:
            fire(state, "price_error")
        assert (refused.value.code, refused.value.clause, refused.value.status) == (
            "price_error_not_allowed", "RS-III.2", 409)


def test_nothing_is_fulfilled_before_payment_RS_V_1_RS_IV_7():
    for state in INITIAL_STATES:
        assert not {"confirm", "ship", "deliver"} & set(allowed_events(state))
    assert {state for state in OrderState if "confirm" in allowed_events(state)} == {OrderState.PAID}


def test_deliver_refuses_delivered_at_in_the_future_RS_VII_1():
    with pytest.raises(InvalidInput) as refused:
        fire("shipped", "deliver", now=NOW, delivered_at=NOW + timedelta(seconds=1),
             shipped_at=NOW - timedelta(days=1))
    error = refused.value
    assert (error.code, error.clause, error.field, error.status) == (
        "delivered_at_in_future", "RS-VII.1", "delivered_at", 422)


def test_deliver_refuses_delivered_at_before_shipping_RS_VII_1():
    with pytest.raises(InvalidInput) as refused:
        fire("shipped", "deliver", now=NOW, delivered_at=NOW - timedelta(days=2),
             shipped_at=NOW - timedelta(days=1))
    assert (refused.value.code, refused.value.clause) == ("delivered_before_shipped", "RS-VII.1")


def test_deliver_accepts_proof_between_shipping_and_now_RS_VII_1():
    transition = fire("shipped", "deliver", now=NOW, delivered_at=NOW, shipped_at=NOW - timedelta(days=1))
    assert (transition.from_state, transition.to_state, transition.clause) == (
        OrderState.SHIPPED, OrderState.DELIVERED, "RS-VII.1")


def test_confirm_with_no_available_line_is_refused_RS_IV_6():
    with pytest.raises(Conflict) as refused:
        fire("paid", "confirm", now=NOW, available_lines=0)
    assert (refused.value.code, refused.value.clause) == ("no_line_available", "RS-IV.6")
    assert fire("paid", "confirm", now=NOW, available_lines=1).to_state == OrderState.CONFIRMED


def test_cancelled_order_is_reopened_only_for_a_payment_made_in_the_window_RS_V_1():
    due = NOW
    with pytest.raises(Conflict) as late:
        fire("cancelled", "honour_timely_payment", paid_at=due + timedelta(seconds=1), payment_due_at=due,
             cancelled_by_event="expire_payment")
    with pytest.raises(Conflict) as other:
        fire("cancelled", "honour_timely_payment", paid_at=due, payment_due_at=due, cancelled_by_event="cancel")
    assert (late.value.code, late.value.clause) == ("paid_after_window", "RS-V.1")
    assert (other.value.code, other.value.clause) == ("cancelled_for_another_reason", "RS-V.1")
    assert fire("cancelled", "honour_timely_payment", paid_at=due, payment_due_at=due,
                cancelled_by_event="expire_payment").to_state == OrderState.PAID


def test_table_has_no_unreachable_state_and_no_dead_end():
    check_table()
    assert unreachable_states() == set() and dead_ends() == set()
    # the same, read straight from the table
    entered = set(INITIAL_STATES) | {step.dest for step in STEPS}
    left = {source for step in STEPS for source in step.sources}
    assert entered == set(OrderState)
    assert set(OrderState) - set(FINAL_STATES) <= left


def test_states_include_those_the_storefront_relies_on():
    assert STOREFRONT_STATES <= {state.value for state in OrderState}
    assert {state.value for state in INITIAL_STATES} == {"awaiting_payment", "awaiting_installment_approval"}


def diagram_edges(text: str) -> set[tuple[str, str, str]]:
    """(source, dest, label) of every arrow; `[*]` is the source of a creating step."""
    edges = set()
    for source, dest, labels in re.findall(r"^\s*(\w+|\[\*\]) --> (\w+): (.+)$", text, re.MULTILINE):
        edges |= {(source, dest, label.strip()) for label in labels.split("|")}
    return edges


def table_edges(steps=STEPS) -> set[tuple[str, str, str]]:
    return {(source, step.dest.value, f"{step.event} ({step.clause})")
            for step in steps for source in [s.value for s in step.sources] or ["[*]"]}


def test_mermaid_diagram_draws_every_state_and_every_event_of_the_table():
    text = mermaid_diagram()
    assert text.lstrip().startswith("---") and "stateDiagram-v2" in text
    for state in OrderState:
        assert f'state "{state.value}" as {state.value}' in text
    assert diagram_edges(text) == table_edges()
    assert {step.event for step in STEPS} == {label.split(" (")[0] for _, _, label in diagram_edges(text)}


def test_diagram_draws_placing_into_each_initial_state_RS_IV_1():
    text = mermaid_diagram()
    assert "  [*] --> awaiting_payment: place (RS-IV.1)\n" in text
    assert "  [*] --> awaiting_installment_approval: place (RS-IV.1)\n" in text
    assert text.count("[*] -->") == len(INITIAL_STATES)


def test_diagram_task_writes_a_page_for_every_machine(tmp_path):
    target = tmp_path / "docs"
    done = subprocess.run([sys.executable, "-m", "shop.jobs", "diagram", str(target)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for machine in MACHINES:
        page = target / document_name(machine)
        assert f"wrote {page}" in done.stdout
        text = page.read_text()
        assert "```mermaid" in text and diagram_edges(text) == table_edges(machine.steps)
        for step in machine.steps:
            assert f"| `{step.event}` |" in text and step.clause in text
    assert (target / "lifecycle-order.md").read_text().count("| `place` |") == 2


# --- placing the order, and a failed payment attempt, are steps of the table ----------------------

def test_placing_a_card_order_creates_it_awaiting_payment_RS_IV_1_RS_V_1():
    transition = ORDER.start("place", OrderState.AWAITING_PAYMENT)
    assert transition == Transition("order", "place", None, OrderState.AWAITING_PAYMENT, "RS-IV.1",
                                    ORDER.creations[0].meaning)
    assert "2 hours" in transition.meaning


def test_placing_an_instalment_order_creates_it_awaiting_the_provider_RS_IV_1_RS_V_1():
    transition = ORDER.start("place", "awaiting_installment_approval")
    assert (transition.from_state, transition.to_state, transition.clause) == (
        None, OrderState.AWAITING_INSTALLMENT_APPROVAL, "RS-IV.1")


def test_an_order_is_placed_only_into_an_initial_state_RS_IV_1():
    for state in set(OrderState) - set(INITIAL_STATES):
        with pytest.raises(TransitionRefused) as refused:
            ORDER.start("place", state)
        assert (refused.value.code, refused.value.clause) == ("place_not_allowed", "RS-IV.1")
    with pytest.raises(TransitionRefused) as refused:
        ORDER.start("pay", OrderState.PAID)
    assert (refused.value.code, refused.value.clause) == ("pay_not_allowed", "RS-V.1")


def test_an_existing_order_is_never_placed_again_RS_IV_1():
    for state in OrderState:
        assert "place" not in allowed_events(state)
        with pytest.raises(TransitionRefused) as refused:
            fire(state, "place")
        assert (refused.value.code, refused.value.clause) == ("place_not_allowed", "RS-IV.1")


def test_a_failed_card_payment_leaves_the_order_payable_RS_V_1():
    transition = fire(OrderState.AWAITING_PAYMENT, "payment_failed")
    assert (transition.machine, transition.from_state, transition.to_state, transition.clause) == (
        "order", OrderState.AWAITING_PAYMENT, OrderState.AWAITING_PAYMENT, "RS-V.1")
    assert set(allowed_events(transition.to_state)) >= {"pay", "expire_payment", "cancel"}


def test_a_failed_payment_is_a_step_only_of_an_order_awaiting_card_payment_RS_V_1():
    assert [state for state in OrderState if "payment_failed" in allowed_events(state)] == [
        OrderState.AWAITING_PAYMENT]


def test_refusal_names_the_order_and_the_step_RS_IV_5():
    with pytest.raises(TransitionRefused) as refused:
        fire("shipped", "cancel")
    assert refused.value.detail == (
        "an order that is shipped cannot take 'cancel' (the customer cancels before delivery has started)")


def test_the_module_names_are_the_order_machine_s():
    assert (lifecycle.fire, lifecycle.allowed_events, check_table, mermaid_diagram) == (
        ORDER.fire, ORDER.allowed_events, ORDER.check, ORDER.mermaid)
    assert (unreachable_states, dead_ends) == (ORDER.unreachable_states, ORDER.dead_ends)
    assert STEPS == ORDER.steps and set(STEP_BY_EVENT) == {step.event for step in STEPS}
    assert ORDER in MACHINES and lifecycle.S is OrderState
    assert (ORDER.initial, ORDER.final) == (INITIAL_STATES, FINAL_STATES)
