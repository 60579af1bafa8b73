"""The order's life as one table of transitions, each citing the clause that allows it: the
`ORDER` lifecycle (shop.domain.machine). Guards are plain functions that raise a `DomainError` with
their own code and clause.

Placing the order creates it (RS-IV.1: the customer's order is the offer): `ORDER.start("place",
S.AWAITING_PAYMENT)` for a card order, which must be paid within 2 hours, or `ORDER.start("place",
S.AWAITING_INSTALLMENT_APPROVAL)` for an instalment order, which waits for the provider (RS-V.1).

RS-IV.7, payment comes before delivery: the table lets the seller confirm only a `paid` order, and
ship only a confirmed one; an order unpaid in its window, or whose payment came late, the seller
cancels (`expire_payment`, `refund_late_payment`).

The module-level names (`fire`, `allowed_events`, `STEPS`, …) are the order machine's, kept for the
callers written before there was more than one machine.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from shop.domain.errors import Conflict, InvalidInput
from shop.domain.machine import Lifecycle, Step, Transition


class OrderState(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    AWAITING_INSTALLMENT_APPROVAL = "awaiting_installment_approval"
    PAID = "paid"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"  # RS-VII.10: every contracted line withdrawn and refunded


S = OrderState
BEFORE_DELIVERY_STARTED = (S.AWAITING_PAYMENT, S.AWAITING_INSTALLMENT_APPROVAL, S.PAID, S.CONFIRMED)
INITIAL_STATES = (S.AWAITING_PAYMENT, S.AWAITING_INSTALLMENT_APPROVAL)
FINAL_STATES = (S.DELIVERED, S.CANCELLED, S.WITHDRAWN)


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

STEPS: tuple[Step[OrderState], ...] = (
    Step("place", (), S.AWAITING_PAYMENT, "RS-IV.1",
         "the customer's order (the offer), paid by card: payable within 2 hours (RS-V.1)"),
    Step("place", (), S.AWAITING_INSTALLMENT_APPROVAL, "RS-IV.1",
         "the customer's order (the offer), paid by instalments: waits for the provider's decision (RS-V.1)"),
    Step("pay", (S.AWAITING_PAYMENT,), S.PAID, "RS-V.1",
         "the card payment arrived within the payment window"),
    Step("approve_installments", (S.AWAITING_INSTALLMENT_APPROVAL,), S.PAID, "RS-V.1",
         "the instalment provider approved the payment"),
    Step("decline_installments", (S.AWAITING_INSTALLMENT_APPROVAL,), S.CANCELLED, "RS-V.1",
         "the instalment provider declined: the order is cancelled"),
    Step("payment_failed", (S.AWAITING_PAYMENT,), S.AWAITING_PAYMENT, "RS-V.1",
         "a card payment attempt failed: the order stays payable within its window"),
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
    Step("withdrawal_refunded", (S.DELIVERED,), S.WITHDRAWN, "RS-VII.10",
         "the customer withdrew from every contracted line and the last of their refunds is recorded, "
         "with the initial delivery charge"),
    Step("delivery_failed", (S.SHIPPED,), S.CANCELLED, "RS-V.3",
         "the seller cancels the delivery for a recorded reason and refunds"),
    Step("cancel", BEFORE_DELIVERY_STARTED, S.CANCELLED, "RS-IV.5",
         "the customer cancels before delivery has started"),
    Step("out_of_stock", BEFORE_DELIVERY_STARTED, S.CANCELLED, "RS-V.5.6",
         "a product is out of stock: the seller cancels and refunds"),
    Step("price_error", BEFORE_DELIVERY_STARTED, S.CANCELLED, "RS-III.2",
         "the order was placed at an obvious price error, not a promotion: the seller cancels and refunds"),
)

ORDER: Lifecycle[OrderState] = Lifecycle("order", OrderState, STEPS, initial=INITIAL_STATES, final=FINAL_STATES)

# The order machine's names from before `Lifecycle`, for the callers that use them.
STEP_BY_EVENT: dict[str, Step[OrderState]] = {step.event: ORDER.step(step.event) for step in STEPS}
fire = ORDER.fire
allowed_events = ORDER.allowed_events
check_table = ORDER.check
unreachable_states = ORDER.unreachable_states
dead_ends = ORDER.dead_ends
mermaid_diagram = ORDER.mermaid

__all__ = [
    "BEFORE_DELIVERY_STARTED", "FINAL_STATES", "INITIAL_STATES", "ORDER", "S", "STEPS", "STEP_BY_EVENT",
    "OrderState", "Step", "Transition", "allowed_events", "check_table", "dead_ends",
    "delivered_at_is_proven", "fire", "mermaid_diagram", "paid_after_window", "paid_in_time_after_expiry",
    "paid_late", "some_line_available", "unreachable_states",
]
