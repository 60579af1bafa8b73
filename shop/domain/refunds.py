"""A refund's life as one table: the `REFUND` lifecycle (shop.domain.machine).

Every refund goes back through the original payment method, in the original currency (RS-III.4),
without delay (RS-VII.10): recorded `pending` in the transaction that owes it, then sent; Stripe's
answer (or, for an instalment order, staff recording that the provider paid it back) settles it.

What the table allows follows what Stripe may say (shop.services.refunds `mark_refund`,
`retry_refund`):
- a refund that failed may still be reported succeeded: the shop took an attempt for failed (Stripe
  out of reach, its answer lost) while the money did go back; Stripe's word on the money wins;
- a failed refund stays visible until staff send it again (`retry`, a new attempt, pending);
- a succeeded refund is final: no later news changes it (RS-III.4: the money is back).
A repeated answer (pending told pending, failed told failed) is no transition: the service drops it
before firing.
"""

from __future__ import annotations

from enum import StrEnum

from shop.domain.machine import Lifecycle, Step


class RefundState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


R = RefundState

REFUND_STEPS: tuple[Step[RefundState], ...] = (
    Step("request", (), R.PENDING, "RS-III.4",
         "a refund is recorded, to go back through the original payment method in the original currency"),
    Step("succeed", (R.PENDING, R.FAILED), R.SUCCEEDED, "RS-III.4",
         "the money is back with the customer (Stripe says so, or staff record the instalment provider's "
         "refund); Stripe's word wins over an attempt the shop had taken for failed"),
    Step("fail", (R.PENDING,), R.FAILED, "RS-III.4",
         "Stripe refused or cancelled the refund: it stays owed, visible for staff to send again"),
    Step("retry", (R.FAILED,), R.PENDING, "RS-VII.10",
         "staff send a failed refund again, a new attempt: what is owed is refunded without delay"),
)

REFUND: Lifecycle[RefundState] = Lifecycle(
    "refund", RefundState, REFUND_STEPS, initial=(R.PENDING,), final=(R.SUCCEEDED,),
)
