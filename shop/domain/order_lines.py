"""An order line's life as one table: the `ORDER_LINE` lifecycle (shop.domain.machine).

A line is ordered with its order (RS-IV.1) and becomes part of the contract only when the seller
confirms it available (RS-IV.6); the lines left out, and every line of an order cancelled before it
was delivered, are cancelled (their units go back to stock, anything paid for them is refunded).

The order's machine decides first; a line follows its order: its events carry the names of the
order's events that move it (`cancel`, `out_of_stock`, `expire_payment`, …), so a service fires the
order's event on the order and then on each of its open lines (shop.services.orders_common
`cancel_lines`; the expiry job moves a batch's lines in one statement, the orders' timeline entries
standing for theirs). A line the seller leaves out takes
`unavailable`, whether the order is confirmed in part or rejected.

A delivered line stays `confirmed` until the customer withdraws from it (RS-VII.1, or RS-VI.7 for a
lack of conformity): it is then `withdrawn`; only a withdrawal staff reject gives it back
(`withdrawal_rejected`, `nonconforming_withdrawal_refused`). Its return and refund are the business of
the withdrawal lifecycle (shop.domain.withdrawal) or the conformity claim's (shop.domain.conformity),
machines of their own, not more states here.
"""

from __future__ import annotations

from enum import StrEnum

from shop.domain.lifecycle import paid_in_time_after_expiry
from shop.domain.machine import Lifecycle, Step


class LineState(StrEnum):
    ORDERED = "ordered"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"


L = LineState
BEFORE_DELIVERY_STARTED = (L.ORDERED, L.CONFIRMED)

LINE_STEPS: tuple[Step[LineState], ...] = (
    Step("place", (), L.ORDERED, "RS-IV.1",
         "the line is part of the customer's order (the offer); its units are reserved"),
    Step("confirm", (L.ORDERED,), L.CONFIRMED, "RS-IV.6",
         "the seller confirms the line available: it is part of the contract and is delivered"),
    Step("unavailable", (L.ORDERED,), L.CANCELLED, "RS-IV.6",
         "the seller does not confirm the line (partial confirmation, or the order rejected): "
         "not part of the contract, refunded if paid"),
    Step("decline_installments", (L.ORDERED,), L.CANCELLED, "RS-V.1",
         "the instalment provider declined: the order and its lines are cancelled"),
    Step("expire_payment", (L.ORDERED,), L.CANCELLED, "RS-V.1",
         "no payment within 2 hours: the order and its lines are cancelled"),
    Step("refund_late_payment", (L.ORDERED,), L.CANCELLED, "RS-V.1",
         "the payment came after the 2-hour window: the order and its lines are cancelled, the money refunded"),
    Step("honour_timely_payment", (L.CANCELLED,), L.ORDERED, "RS-V.1",
         "a payment made within the window reached the shop after the expiry job: the line is ordered again",
         (paid_in_time_after_expiry,)),
    Step("cancel", BEFORE_DELIVERY_STARTED, L.CANCELLED, "RS-IV.5",
         "the customer cancels the order before delivery has started: its lines with it"),
    Step("out_of_stock", BEFORE_DELIVERY_STARTED, L.CANCELLED, "RS-V.5.6",
         "a product is out of stock: the seller cancels the order and its lines, and refunds"),
    Step("price_error", BEFORE_DELIVERY_STARTED, L.CANCELLED, "RS-III.2",
         "the order was placed at an obvious price error: the seller cancels the order and its lines, and refunds"),
    Step("delivery_failed", (L.CONFIRMED,), L.CANCELLED, "RS-V.3",
         "the seller cancels the delivery for a recorded reason: the lines with it, refunded"),
    Step("withdraw", (L.CONFIRMED,), L.WITHDRAWN, "RS-VII.1",
         "the customer withdraws from the delivered line (a set whole, RS-VII.13): it goes back and is refunded"),
    Step("withdrawal_rejected", (L.WITHDRAWN,), L.CONFIRMED, "RS-VII.14",
         "staff refuse the withdrawal for a recorded reason: the line is delivered and kept, and may be "
         "withdrawn again while the period runs"),
    Step("withdraw_nonconforming", (L.CONFIRMED,), L.WITHDRAWN, "RS-VI.7",
         "the customer withdraws from a line that lacks conformity (a conformity claim): it goes back and is "
         "refunded"),
    Step("nonconforming_withdrawal_refused", (L.WITHDRAWN,), L.CONFIRMED, "RS-VI.9",
         "staff refuse that withdrawal for a minor lack of conformity: the line is kept"),
)

ORDER_LINE: Lifecycle[LineState] = Lifecycle(
    "order line", LineState, LINE_STEPS, initial=(L.ORDERED,), final=(L.CONFIRMED, L.CANCELLED, L.WITHDRAWN),
)
