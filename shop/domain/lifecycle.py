"""The order's life as one table of transitions, each citing the clause that allows it.

One module-level `transitions.Machine` (model=None) is fired on a small subject that carries only
the order's state (STACK-NOTES.md: no machine per order, nothing kept alive). `fire()` refuses an
event the present state does not allow with a `TransitionRefused` that names the clause; guards are
plain functions that raise a `DomainError` with their own code and clause.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Callable

from transitions import Machine

from shop.domain.errors import Conflict, InvalidInput, TransitionRefused

logging.getLogger("transitions").setLevel(logging.WARNING)


class OrderState(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    AWAITING_INSTALLMENT_APPROVAL = "awaiting_installment_approval"
    PAID = "paid"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


S = OrderState
BEFORE_DELIVERY_STARTED = (S.AWAITING_PAYMENT, S.AWAITING_INSTALLMENT_APPROVAL, S.PAID, S.CONFIRMED)
INITIAL_STATES = (S.AWAITING_PAYMENT, S.AWAITING_INSTALLMENT_APPROVAL)
FINAL_STATES = (S.DELIVERED, S.CANCELLED)


# --- guards: raise with a code and a clause, or return True -------------------------------------

def some_line_available(*, available_lines: int, **_: Any) -> bool:
    """RS-IV.6: a confirmation forms the contract only for lines confirmed available."""
    if available_lines < 1:
        raise Conflict(
            "no_line_available",
            "no line is available: the order is rejected, not confirmed",
            clause="RS-IV.6",
        )
    return True


def delivered_at_is_proven(*, delivered_at: datetime, shipped_at: datetime, now: datetime, **_: Any) -> bool:
    """RS-VII.1: possession starts the withdrawal period, so the carrier's proof must be real:
    never in the future, never before the parcel left."""
    if delivered_at > now:
        raise InvalidInput(
            "delivered_at_in_future", "delivered_at lies in the future", clause="RS-VII.1",
            field="delivered_at",
        )
    if delivered_at < shipped_at:
        raise InvalidInput(
            "delivered_before_shipped", "delivered_at is earlier than the shipment",
            clause="RS-VII.1", field="delivered_at",
        )
    return True


def paid_in_time_after_expiry(*, paid_at: datetime, payment_due_at: datetime | None,
                              cancelled_by_event: str | None, **_: Any) -> bool:
    """RS-V.1 boundary: the order is cancelled only when no payment arrives within 2 hours. A
    payment Stripe recorded by the deadline, whose news came after the expiry job ran, means the
    cancellation was premature: the order is honoured. Any other cancelled order is refunded."""
    if cancelled_by_event != "expire_payment":
        raise Conflict("cancelled_for_another_reason",
                       "the order was not cancelled for want of payment", clause="RS-V.1")
    if payment_due_at is None or paid_at > payment_due_at:
        raise Conflict("paid_after_window", "the payment came after the 2-hour window", clause="RS-V.1")
    return True


def paid_late(paid_at: datetime, payment_due_at: datetime | None) -> bool:
    """RS-V.1: Stripe recorded the payment after the order's 2-hour window closed."""
    return payment_due_at is not None and paid_at > payment_due_at


def paid_after_window(*, paid_at: datetime, payment_due_at: datetime | None, **_: Any) -> bool:
    """RS-V.1: a payment Stripe recorded after the window does not pay the order, whenever its news
    arrives and whether or not the expiry job has run: the order is cancelled, the money refunded."""
    if not paid_late(paid_at, payment_due_at):
        raise Conflict("paid_within_window", "the payment came within the 2-hour window", clause="RS-V.1")
    return True


# --- the table ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    event: str
    sources: tuple[OrderState, ...]
    dest: OrderState
    clause: str
    meaning: str
    guards: tuple[Callable[..., bool], ...] = ()


STEPS: tuple[Step, ...] = (
    Step("pay", (S.AWAITING_PAYMENT,), S.PAID, "RS-V.1",
         "the card payment arrived within the payment window"),
    Step("approve_installments", (S.AWAITING_INSTALLMENT_APPROVAL,), S.PAID, "RS-V.1",
         "the instalment provider approved the payment"),
    Step("decline_installments", (S.AWAITING_INSTALLMENT_APPROVAL,), S.CANCELLED, "RS-V.1",
         "the instalment provider declined: the order is cancelled"),
    Step("expire_payment", (S.AWAITING_PAYMENT,), S.CANCELLED, "RS-V.1",
         "no payment within 2 hours: the order is cancelled"),
    Step("honour_timely_payment", (S.CANCELLED,), S.PAID, "RS-V.1",
         "a payment made within the window reached the shop after the expiry job: honoured",
         (paid_in_time_after_expiry,)),
    Step("refund_late_payment", (S.AWAITING_PAYMENT,), S.CANCELLED, "RS-V.1",
         "Stripe recorded the payment after the 2-hour window: cancelled, the money refunded",
         (paid_after_window,)),
    Step("confirm", (S.PAID,), S.CONFIRMED, "RS-IV.6",
         "the seller confirms acceptance and the available lines", (some_line_available,)),
    Step("reject", (S.PAID,), S.CANCELLED, "RS-IV.6",
         "the seller confirms no line: no contract, everything refunded"),
    Step("ship", (S.CONFIRMED,), S.SHIPPED, "RS-IV.5",
         "delivery has started: the customer can no longer cancel"),
    Step("deliver", (S.SHIPPED,), S.DELIVERED, "RS-VII.1",
         "the customer took possession: the withdrawal period starts", (delivered_at_is_proven,)),
    Step("delivery_failed", (S.SHIPPED,), S.CANCELLED, "RS-V.3",
         "the seller cancels the delivery for a recorded reason and refunds"),
    Step("cancel", BEFORE_DELIVERY_STARTED, S.CANCELLED, "RS-IV.5",
         "the customer cancels before delivery has started"),
    Step("out_of_stock", BEFORE_DELIVERY_STARTED, S.CANCELLED, "RS-V.5.6",
         "a product is out of stock: the seller cancels and refunds"),
)
STEP_BY_EVENT: dict[str, Step] = {step.event: step for step in STEPS}


def _machine_table() -> list[dict[str, Any]]:
    return [
        {
            "trigger": step.event,
            "source": [state.value for state in step.sources],
            "dest": step.dest.value,
            "conditions": list(step.guards),
        }
        for step in STEPS
    ]


MACHINE = Machine(
    model=None,
    states=[state.value for state in OrderState],
    transitions=_machine_table(),
    initial=S.AWAITING_PAYMENT.value,
    auto_transitions=False,
)


@dataclass(frozen=True)
class Transition:
    """What happened, for the order's timeline."""

    event: str
    from_state: OrderState
    to_state: OrderState
    clause: str
    machine: str = "order"


class _Subject:
    """What the machine fires on: only the state, so no order is kept alive by the machine."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def allowed_events(state: OrderState | str) -> tuple[str, ...]:
    """The events an order in `state` can take, as the machine's table says."""
    return _ALLOWED[OrderState(state)]


# The table never changes once loaded: asked on every transition, the machine would walk all of its
# events each time (6 µs of the 19 µs a `fire` took).
_ALLOWED = {state: tuple(MACHINE.get_triggers(state.value)) for state in OrderState}


def fire(state: OrderState | str, event: str, **context: Any) -> Transition:
    """Fire `event` on an order in `state`; the guards see `context`. Returns the transition, or
    raises `TransitionRefused` (state does not allow it) or the guard's own `DomainError`."""
    step = STEP_BY_EVENT[event]
    current = OrderState(state)
    if event not in allowed_events(current):
        raise TransitionRefused(
            f"{event}_not_allowed",
            f"an order that is {current.value} cannot take '{event}' ({step.meaning})",
            clause=step.clause,
        )
    subject = _Subject(current.value)
    MACHINE.events[event].trigger(subject, **context)
    return Transition(event, current, OrderState(subject.state), step.clause)


def unreachable_states() -> set[OrderState]:
    """States no path from an initial state reaches (checked at import, as Vendure does)."""
    seen: set[OrderState] = set(INITIAL_STATES)
    queue = deque(INITIAL_STATES)
    while queue:
        state = queue.popleft()
        for step in STEPS:
            if state in step.sources and step.dest not in seen:
                seen.add(step.dest)
                queue.append(step.dest)
    return set(OrderState) - seen


def dead_ends() -> set[OrderState]:
    """Non-final states with no way out."""
    return {s for s in OrderState if s not in FINAL_STATES and not allowed_events(s)}


def check_table() -> None:
    problems = unreachable_states() | dead_ends()
    if problems:
        raise RuntimeError(f"order lifecycle table is broken at: {sorted(problems)}")


check_table()


def mermaid_diagram() -> str:
    """The Mermaid state diagram, drawn from the same table by transitions' mermaid engine."""
    from transitions.extensions import GraphMachine

    class Drawing:  # GraphMachine attaches its helpers to a model of its own
        pass

    graph = GraphMachine(
        model=Drawing(),
        states=[state.value for state in OrderState],
        transitions=[
            {"trigger": f"{step.event} ({step.clause})", "source": [s.value for s in step.sources],
             "dest": step.dest.value}
            for step in STEPS
        ],
        initial=S.AWAITING_PAYMENT.value,
        auto_transitions=False,
        graph_engine="mermaid",
        show_state_attributes=False,
    )
    drawing = graph.get_graph().draw(None)
    # transitions draws one initial state; an instalment order starts in the other one.
    others = "".join(f"  [*] --> {state.value}\n" for state in INITIAL_STATES[1:])
    return drawing.rstrip("\n") + "\n" + others
