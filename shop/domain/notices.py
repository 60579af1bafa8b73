"""What the shop tells the customer, and when (RS-IV.5, RS-V.1, RS-V.3, RS-IV.6, RS-V.5.6)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Notice:
    kind: str
    subject: str
    body: str


def shown(amount_minor: int, currency: str) -> str:
    """An amount as a customer reads it: 89999.00 RSD (both markets' currencies have 2 minor digits)."""
    return f"{Decimal(amount_minor).scaleb(-2):.2f} {currency}"


def order_received(number: str, total: str, due: str | None) -> Notice:
    """RS-IV.5: after the order, the customer gets an order-information message."""
    pay = f"Please pay by {due} (RS-V.1: unpaid orders are cancelled after 2 hours).\n" if due else ""
    return Notice("order_received", f"Order {number} received",
                  f"We received your order {number} for {total}.\n{pay}"
                  "You may cancel it until we tell you that delivery has started (RS-IV.5).\n")


def delivery_started(number: str, carrier: str, tracking: str) -> Notice:
    """RS-IV.5: the message that delivery has started ends the right to cancel the order."""
    return Notice("delivery_started", f"Order {number} is on its way",
                  f"Your order {number} left with {carrier}, tracking number {tracking}.\n"
                  "From now on the order can no longer be cancelled; the 14-day withdrawal right "
                  "starts when you receive it (RS-VII.1).\n")


def order_cancelled(number: str, reason: str, clause: str, refund: str | None) -> Notice:
    """Every cancellation tells the customer why, with the clause, and what comes back."""
    money = f"We are refunding {refund} to your original payment method (RS-III.4).\n" if refund else ""
    return Notice("order_cancelled", f"Order {number} cancelled",
                  f"Your order {number} was cancelled: {reason} ({clause}).\n{money}")
