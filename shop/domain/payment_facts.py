"""The payment ledger's facts (append-only, STYLE.md example 4): what was paid, refunded, failed,
each keyed so that a fact stated twice (Stripe retries, a second event for one payment, a staff
retry sent again) is recorded once. What an order received and gave back is derived from them.

The one key convention: `<the id the fact is about>:<what happened>[:<attempt>]`, where the id is
the provider's (a PaymentIntent's, a refund's) or, for a fact that only reports one event (a
failed attempt, a flagged payment, a cancellation), the event's own id."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

PAYMENT_INTENT_CREATED = "payment_intent.created"
PAYMENT_SUCCEEDED = "payment_intent.succeeded"
PAYMENT_FAILED = "payment_intent.payment_failed"
PAYMENT_CANCELED = "payment_intent.canceled"
INSTALLMENT_APPROVED = "installment.approved"
PAID_KINDS = (PAYMENT_SUCCEEDED, INSTALLMENT_APPROVED)
REFUND_REQUESTED = "refund.requested"
REFUND_SUCCEEDED = "refund.succeeded"
REFUND_FAILED = "refund.failed"


def fact_key(about: str, what: str | None = None, attempt: int | None = None) -> str:
    """`about` alone when the fact is one event's report; else `<about>:<what>[:<attempt>]`."""
    return ":".join(str(part) for part in (about, what, attempt) if part is not None)


@dataclass(frozen=True)
class PaymentFact:
    key: str
    kind: str
    order_id: str | None
    payment_intent_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    amount_minor: int | None = None
    currency: str | None = None
    flagged: str | None = None
    """Why staff must look at it (an amount that does not match the order, an unknown order):
    recorded, never applied, never counted."""

    def row(self) -> dict[str, Any]:
        """The ledger's row (`dataclasses.asdict` deep-copies every value: 0.4 ms a fact, measured)."""
        values = {name: getattr(self, name) for name in _FIELDS}
        values["fact_key"] = values.pop("key")
        return values


_FIELDS = tuple(field.name for field in fields(PaymentFact))
