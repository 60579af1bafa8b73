"""The difference refunded for lines charged above their correct price (RS-III.2): staff name the lines
and the correct unit prices, the rule (shop.domain.price_errors) says what is owed, and it goes back
through the one refund path (a credit note with it after the invoice, RS-IV.10); the customer is
e-mailed. The customer's own cancellation needs nothing here: RS-IV.5 before delivery, RS-VII after."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain import notices
from shop.domain.errors import Conflict
from shop.domain.lifecycle import OrderState
from shop.domain.markets import Market
from shop.domain.money import Money
from shop.domain.price_errors import CLAUSE, CorrectPrice, check_corrections, check_reason
from shop.services.context import ShopContext
from shop.services.idempotency import IdempotencyClaim, Kept, answer_row, earlier_answer, remember_answers
from shop.services.mail import queue_notice, send_after_answer
from shop.services.refunds import open_refund, send_refund


@dataclass(frozen=True)
class _Done:
    refund: Any
    payment_intent_id: str | None
    emails: Sequence[Any]


async def correct_prices(ctx: ShopContext, order_id: str, corrections: Sequence[CorrectPrice], *, reason: str,
                         actor: str, claim: IdempotencyClaim | None = None) -> Kept | None:
    """RS-III.2: refund `(unit price charged − correct unit price) × quantity` of each line named, less
    what the line was corrected by before, in one refund; the customer told. With an Idempotency-Key
    the same key returns a `Kept` instead of refunding again (a retried request is one correction)."""
    reason = check_reason(reason)

    def work(uow: UnitOfWork) -> _Done | Kept:
        order = uow.orders.get(order_id, lock=True)
        if claim is not None and (earlier := earlier_answer(uow, claim)) is not None:
            return Kept(earlier.status_code or 200, earlier.body)
        now = uow.now()
        made = check_corrections(order_state=order.state, lines=uow.orders.lines(order.id), corrections=corrections)
        amount = sum(correction.refund_minor for correction in made)
        if amount > uow.ledger.keeps_minor(order.id):
            raise Conflict("refund_exceeds_payment", "the order keeps less than this correction refunds",
                           clause="RS-III.4")
        uow.orders.set_price_corrected({correction.line.id: correction.corrected_minor for correction in made})
        refund = open_refund(uow, order, amount_minor=amount, clause=CLAUSE, now=now, actor=actor,
                             reason=f"price corrected: {reason}")  # open_refund keeps its first 200 characters
        currency = order.currency
        queue_notice(uow, order, notices.price_corrected(
            Market(order.market), order.number,
            [{"quantity": c.line.quantity, "name": c.line.name, "charged": Money(c.line.unit_price_minor, currency),
              "correct": Money(c.correct_unit_price_minor, currency)} for c in made],
            Money(amount, currency), can_cancel=order.state in (OrderState.PAID, OrderState.CONFIRMED)), now)
        if claim is not None:
            remember_answers(uow, [answer_row(claim, resource_id=order.id, status=200, body=None, now=now)])
        return _Done(refund, order.payment_intent_id, uow.outbox.queued)

    done = await ctx.db.transaction(work)
    if isinstance(done, Kept):
        return done
    if done.refund is not None:
        await send_refund(ctx, done.refund, done.payment_intent_id)
    send_after_answer(ctx, done.emails)
    return None
