"""The goods of a withdrawal back and its refund (RS-VII.8–VII.11): staff record the receipt, each
line's condition and what had to come back with it (RS-VII.9, RS-VII.13), the resaleable units go
back to stock, and the refund is recorded in the same transaction and sent to Stripe after the commit
through the shop's one refund path (shop.services.refunds).

Decided here:
- the refund is owed from the statement (`refund_due_by`: 14 days from when it was sent, T-6,
  moved only by force majeure, T-7), and withheld until the goods or proof of their return arrive,
  whichever first (RS-VII.11): it is recorded when staff receive the return or the proof, and the withdrawal is
  `refunded` in that same transaction; what Stripe answers is the refund's own machine;
- on proof of return the refund is the full amount (the goods are not seen yet); the goods received
  after it are recorded (condition, checklist, restock) but refund nothing, and a deduction is then
  refused (409 `refund_already_released`, RS-VII.11): staff record the damage in the items' condition
  and the note; any claim for diminished value is pursued outside the shop;
- the initial delivery charge goes with the withdrawal whose refund is the last of an order whose
  every contracted line is withdrawn (RS-VII.10), so it is refunded once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain import notices
from shop.domain.errors import Conflict
from shop.domain.lifecycle import ORDER
from shop.domain.markets import Market
from shop.domain.money import Money
from shop.domain.order_lines import LineState
from shop.domain.withdrawal import WITHDRAWAL, ItemReceipt, WithdrawalState, receipts, refund_owed
from shop.services.context import ShopContext
from shop.services.orders_common import units_of
from shop.services.refunds import open_refund, send_refund
from shop.services.perks import revoke_unused
from shop.services.withdrawals import WithdrawalAggregate, aggregate, answered, locked, tell

W = WithdrawalState


async def receive_return(ctx: ShopContext, withdrawal_id: str, *, deduction_minor: int, note: str | None,
                         resaleable: bool = True, items: Sequence[ItemReceipt] | None = None,
                         actor: str) -> WithdrawalAggregate:
    """The goods are back (RS-VII.8, RS-VII.9): each line's condition and what was missing recorded,
    resaleable units back to stock, the refund recorded (RS-VII.10: the lines' price, the delivery
    charge with the order's last withdrawal, less the diminished value staff record) and, after the
    commit, sent to Stripe. `items` None: every line as new, as `resaleable` says."""
    made, refund, payment_intent_id = await ctx.db.transaction(
        lambda uow: _receive(uow, withdrawal_id, deduction_minor, note, resaleable, items, actor))
    if refund is not None:
        await send_refund(ctx, refund, payment_intent_id)
    return answered(ctx, made)


def _receive(uow: UnitOfWork, withdrawal_id: str, deduction_minor: int, note: str | None, resaleable: bool,
             items: Sequence[ItemReceipt] | None, actor: str) -> tuple[WithdrawalAggregate, Any, str | None]:
    order, withdrawal = locked(uow, withdrawal_id)
    now = uow.now()
    lines = uow.withdrawals.lines(withdrawal.id)
    found = receipts(lines, items, resaleable=resaleable)
    if withdrawal.state == W.REFUNDED:
        received = WITHDRAWAL.fire(withdrawal.state, "receive_after_refund",
                                   proof_of_return_at=withdrawal.proof_of_return_at, received_at=withdrawal.received_at)
        if deduction_minor:
            raise Conflict("refund_already_released", "the refund was released on proof of return: no "
                           "deduction can come off it any more", clause="RS-VII.11", field="deduction_minor")
    else:
        received = WITHDRAWAL.fire(withdrawal.state, "receive")
        refund_owed(order, lines, whole_order=False, deduction_minor=deduction_minor)  # bounds, before writing
    withdrawal = uow.withdrawals.move(withdrawal, received, received_at=now, deduction_minor=deduction_minor,
                                      note=note)
    uow.withdrawals.record_receipts(withdrawal.id, found)
    uow.timeline.record(order.id, received, actor=actor, now=now, subject_id=withdrawal.id,
                        reason=_receipt_reason(lines, found, note))
    uow.products.restock(units_of([line for line in lines if found[line.id]["resaleable"]]))
    if received.to_state == W.REFUNDED:  # refunded on proof before (RS-VII.11): not twice
        return aggregate(uow, order, withdrawal), None, None
    return _refund(uow, order, withdrawal, WITHDRAWAL.fire(withdrawal.state, "refund"), lines,
                   deduction_minor, actor, now)


async def refund_on_proof(ctx: ShopContext, withdrawal_id: str, *, note: str | None,
                          actor: str) -> WithdrawalAggregate:
    """RS-VII.11: proof the goods were sent back came before them: the refund is recorded and sent
    now, in full (no deduction can be judged before the goods are seen); the goods, when they come,
    are received without a second refund, and a deduction is then refused (`refund_already_released`)."""
    made, refund, payment_intent_id = await ctx.db.transaction(lambda uow: _proof(uow, withdrawal_id, note, actor))
    if refund is not None:
        await send_refund(ctx, refund, payment_intent_id)
    return answered(ctx, made)


def _proof(uow: UnitOfWork, withdrawal_id: str, note: str | None, actor: str
           ) -> tuple[WithdrawalAggregate, Any, str | None]:
    order, withdrawal = locked(uow, withdrawal_id)
    now = uow.now()
    transition = WITHDRAWAL.fire(withdrawal.state, "refund_on_proof")
    withdrawal = uow.withdrawals.move(withdrawal, transition, proof_of_return_at=now, note=note)
    return _refund(uow, order, withdrawal, transition, uow.withdrawals.lines(withdrawal.id), 0, actor, now)


def _refund(uow: UnitOfWork, order: Any, withdrawal: Any, transition: Any, lines: Sequence[Any],
            deduction_minor: int, actor: str, now: datetime) -> tuple[WithdrawalAggregate, Any, str | None]:
    """RS-VII.10: the refund of the withdrawn lines recorded, the withdrawal `refunded`, the customer told."""
    whole_order = _last_of_whole_order(uow, order, withdrawal)
    owed = refund_owed(order, lines, whole_order=whole_order, deduction_minor=deduction_minor)
    refund = open_refund(uow, order, amount_minor=owed.amount_minor, clause="RS-VII.10", now=now, actor=actor,
                         due_by=withdrawal.refund_due_by,
                         reason=f"withdrawal: {', '.join(line.sku for line in lines)}")
    withdrawal = uow.withdrawals.move(withdrawal, transition, refund_id=refund.id if refund else None)
    uow.timeline.record(order.id, transition, actor=actor, now=now, subject_id=withdrawal.id,
                        reason=f"{owed.amount_minor} {order.currency} owed "
                               f"(deduction {owed.deduction_minor}, delivery {owed.delivery_minor})")
    if whole_order:  # RS-VII.10: the order says it is withdrawn
        withdrawn = ORDER.fire(order.state, "withdrawal_refunded")
        uow.orders.move(order, withdrawn, now)
        uow.timeline.record(order.id, withdrawn, actor=actor, now=now, reason=f"withdrawal {withdrawal.id}")
    revoke_unused(uow, uow.perks.of_lines([line.id for line in lines]), reason="withdrawn", actor=actor, now=now,
                  note=f"withdrawal {withdrawal.id} refunded")  # P-3, RS-VII.9
    made = aggregate(uow, order, withdrawal)
    if refund is not None:
        made = tell(uow, order, notices.refund_sent(Market(order.market), order.number,
                                                     Money(refund.amount_minor, refund.currency)), now, made)
    made.emails[:] = uow.outbox.queued  # the refund's corrected invoice's too (RS-IV.10)
    return made, refund, order.payment_intent_id


def _receipt_reason(lines: Sequence[Any], found: dict[int, dict[str, Any]], note: str | None) -> str:
    """The receipt on the timeline: each line's condition and what was missing (RS-VII.9)."""
    parts = [f"{line.sku}: {found[line.id]['condition']}"
             + ("" if found[line.id]["resaleable"] else ", not resaleable")
             + (f", missing {', '.join(found[line.id]['missing'])}" if found[line.id]["missing"] else "")
             for line in lines]
    return "; ".join(parts + ([note] if note else []))


def _last_of_whole_order(uow: UnitOfWork, order: Any, withdrawal: Any) -> bool:
    """RS-VII.10: the whole order is withdrawn when every line of the contract is, and this
    withdrawal is the last of them to be refunded (the delivery charge goes back once)."""
    contracted = {line.id for line in uow.orders.lines(order.id) if line.state != LineState.CANCELLED}
    others = [view.row for view in uow.withdrawals.of_orders([order.id]).get(order.id, [])
              if view.row.id != withdrawal.id]
    return (contracted <= uow.withdrawals.withdrawn_lines(order.id)
            and all(other.state in (W.REFUNDED, W.REJECTED) for other in others))
