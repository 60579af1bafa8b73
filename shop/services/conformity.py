"""The legal guarantee of conformity (RS-VI): the customer's claim, staff's decision on the remedy,
the price reduction or withdrawal that may follow, and their refunds. Each use case runs its rules in
one transaction (plain functions of the unit of work: the order locked first, then the claim; each
step of the CONFORMITY_CLAIM machine on the order's timeline); refunds go to Stripe after the commit
through the shop's one refund path (shop.services.refunds), their corrected invoices with them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shop.adapters.stores.timeline import entry
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain import notices
from shop.domain.conformity import (
    CONFORMITY_CLAIM, ClaimState, Remedy, check_claim, check_reduction, lines_price,
)
from shop.domain.deadlines import refund_due_by
from shop.domain.errors import InvalidInput
from shop.domain.markets import Market
from shop.domain.money import Money
from shop.domain.order_lines import ORDER_LINE
from shop.services.context import ShopContext
from shop.services.idempotency import IdempotencyClaim, Kept, answer_row, earlier_answer, remember_answers
from shop.services.mail import queue_notice, send_after_answer
from shop.services.pages import cut, unknown_cursor
from shop.services.perks import revoke_unused
from shop.services.refunds import open_refund, send_refund


@dataclass(frozen=True)
class Done:
    """A step's claim as written and what is left after the commit: a refund to send, e-mails to send."""

    claim: Any
    refund: Any | None = None
    payment_intent_id: str | None = None
    emails: list[Any] | None = None


async def _finish(ctx: ShopContext, done: Done) -> Any:
    if done.refund is not None:
        await send_refund(ctx, done.refund, done.payment_intent_id)
    send_after_answer(ctx, done.emails or [])
    return done.claim


# --- the claim: RS-VI.1, RS-VI.4 ----------------------------------------------------------------------

async def make_claim(ctx: ShopContext, order_id: str, *, customer_id: int, line_ids: Collection[int], defect: str,
                     remedy: Remedy, key: IdempotencyClaim | None = None,
                     present: Callable[[Any], Any] | None = None) -> Any:
    """RS-VI.1: the customer reports that delivered lines lack conformity, within 2 years of delivery,
    and chooses repair or replacement (RS-VI.4). With an Idempotency-Key the answer is kept in the
    same transaction (`present` builds it); the same key again returns it (a `Kept`)."""
    if not defect.strip():
        raise InvalidInput("defect_missing", "describe the lack of conformity", clause="RS-VI.1", field="defect")

    def work(uow: UnitOfWork) -> Any:
        order = uow.orders.get(order_id, customer_id=customer_id, lock=True)
        if key is not None and (earlier := earlier_answer(uow, key)) is not None:
            return Kept(earlier.status_code or 201, earlier.body)
        now = uow.now()
        lines = check_claim(delivered_at=order.delivered_at, market=Market(order.market), claimed_at=now,
                            line_ids=line_ids, lines=uow.orders.lines(order.id),
                            held=uow.conformity_claims.lines_held(order.id))
        transition = CONFORMITY_CLAIM.start("claim", ClaimState.CLAIMED)
        claim = uow.conformity_claims.add({
            "id": str(uuid.uuid4()), "order_id": order.id, "customer_id": customer_id,
            "line_ids": [line.id for line in lines], "defect": defect, "remedy": remedy.value,
            "currency": order.currency,
            "state": transition.to_state.value, "claimed_at": now, "updated_at": now})
        uow.timeline.record(order.id, transition, actor=f"customer:{customer_id}", now=now, subject_id=claim.id,
                            reason=f"{remedy.value} asked for: {', '.join(line.sku for line in lines)}")
        _tell(uow, order, claim, "claim", now)
        if key is not None and present is not None:
            remember_answers(uow, [answer_row(key, resource_id=claim.id, status=201, body=present(claim), now=now)])
        return Done(claim, emails=uow.outbox.queued)

    made = await ctx.db.transaction(work)
    return made if isinstance(made, Kept) else await _finish(ctx, made)


def _locked(uow: UnitOfWork, claim_id: str, customer_id: int | None) -> tuple[Any, Any]:
    """The claim's order, then the claim, locked in that order (the order's use cases lock it first)."""
    order_id = uow.conformity_claims.get(claim_id, customer_id=customer_id).order_id
    order = uow.orders.get(order_id, lock=True)
    return order, uow.conformity_claims.get(claim_id, lock=True)


def _step(uow: UnitOfWork, order: Any, claim: Any, event: str, *, actor: str, now: datetime,
          note: str | None = None, amount: Money | None = None, **facts: Any) -> Any:
    """Fire `event` on the claim, write it with `facts`, record it on its order's timeline with `note`,
    and tell the customer (with the `amount` refunded, where there is one)."""
    transition = CONFORMITY_CLAIM.fire(claim.state, event)
    claim = uow.conformity_claims.move(claim, transition, now=now, **facts)
    uow.timeline.record(claim.order_id, transition, actor=actor, now=now, subject_id=claim.id, reason=note)
    _tell(uow, order, claim, event, now, amount=amount)
    return claim


def _tell(uow: UnitOfWork, order: Any, claim: Any, event: str, now: datetime, *, amount: Money | None = None) -> None:
    notice = notices.conformity_claim(Market(order.market), order.number, claim.id, event, claim.remedy,
                                      reason=claim.reason, amount=amount)
    queue_notice(uow, order, notice, now)


async def _run(ctx: ShopContext, claim_id: str, work: Callable[[UnitOfWork, Any, Any, datetime], Done], *,
               customer_id: int | None = None) -> Any:
    def transaction(uow: UnitOfWork) -> Done:
        order, claim = _locked(uow, claim_id, customer_id)
        done = work(uow, order, claim, uow.now())
        return Done(done.claim, done.refund, done.payment_intent_id, uow.outbox.queued)

    return await _finish(ctx, await ctx.db.transaction(transaction))


# --- staff's decision: RS-VI.3, RS-VI.5, RS-VI.6 ----------------------------------------------------------

async def accept(ctx: ShopContext, claim_id: str, *, actor: str) -> Any:
    """RS-VI.6: the repair or replacement the customer chose, in reasonable time at the seller's cost."""
    return await _run(ctx, claim_id, lambda uow, order, claim, now: Done(
        _step(uow, order, claim, "accept", actor=actor, now=now)))


async def complete(ctx: ShopContext, claim_id: str, *, actor: str, note: str | None) -> Any:
    return await _run(ctx, claim_id, lambda uow, order, claim, now: Done(
        _step(uow, order, claim, "complete", actor=actor, now=now, note=note)))


async def reject(ctx: ShopContext, claim_id: str, *, reason: str, actor: str) -> Any:
    """RS-VI.3: no lack of conformity the seller answers for, for a recorded reason."""
    reason = _reason(reason)
    return await _run(ctx, claim_id, lambda uow, order, claim, now: Done(
        _step(uow, order, claim, "reject", actor=actor, now=now, note=reason, reason=reason)))


async def refuse_remedy(ctx: ShopContext, claim_id: str, *, reason: str, actor: str) -> Any:
    """RS-VI.5: repair and replacement both impossible or excessively costly, for a recorded reason."""
    reason = _reason(reason)
    return await _run(ctx, claim_id, lambda uow, order, claim, now: Done(
        _step(uow, order, claim, "refuse_remedy", actor=actor, now=now, note=reason, reason=reason)))


def _reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidInput("reason_missing", "give the reason", field="reason")
    return reason.strip()


# --- the customer's turn: RS-VI.7 -----------------------------------------------------------------------

async def ask_reduction(ctx: ShopContext, claim_id: str, *, customer_id: int) -> Any:
    """RS-VI.7: a price reduction, the remedy refused or failing; its 14 days run from now (RS-VI.8)."""
    return await _run(ctx, claim_id, lambda uow, order, claim, now: Done(
        _step(uow, order, claim, "ask_reduction", actor=f"customer:{customer_id}", now=now, statement_at=now)),
        customer_id=customer_id)


async def withdraw(ctx: ShopContext, claim_id: str, *, customer_id: int) -> Any:
    """RS-VI.7: the customer withdraws from the claimed lines for their lack of conformity; the lines
    are `withdrawn` (never withdrawn or refunded again, RS-VII)."""
    def work(uow: UnitOfWork, order: Any, claim: Any, now: datetime) -> Done:
        actor = f"customer:{customer_id}"
        claim = _step(uow, order, claim, "withdraw", actor=actor, now=now, statement_at=now)
        _move_lines(uow, order, claim, "withdraw_nonconforming", actor=actor, now=now)
        return Done(claim)

    return await _run(ctx, claim_id, work, customer_id=customer_id)


def _move_lines(uow: UnitOfWork, order: Any, claim: Any, event: str, *, actor: str, now: datetime) -> None:
    lines = [line for line in uow.orders.lines(order.id) if line.id in set(claim.line_ids)]
    moves = {line.id: ORDER_LINE.fire(line.state, event) for line in lines}
    uow.orders.set_line_states({line_id: move.to_state for line_id, move in moves.items()})
    uow.timeline.record_entries([entry(order.id, move, actor=actor, now=now, subject_id=line_id)
                                 for line_id, move in moves.items()])


# --- the money: RS-VI.8, RS-VI.9, RS-VI.10 ------------------------------------------------------------------

async def grant_reduction(ctx: ShopContext, claim_id: str, *, amount_minor: int, note: str | None,
                          actor: str) -> Any:
    """RS-VI.8: a proportional reduction (at most the lines' price), refunded within 14 days of the
    customer's statement."""
    def work(uow: UnitOfWork, order: Any, claim: Any, now: datetime) -> Done:
        lines = _claimed_lines(uow, order, claim)
        check_reduction(amount_minor, lines)
        refund = open_refund(uow, order, amount_minor=amount_minor, clause="RS-VI.8", now=now, actor=actor,
                             reason=f"price reduction: {', '.join(line.sku for line in lines)}",
                             due_by=refund_due_by(claim.statement_at or now, Market(order.market)))
        claim = _step(uow, order, claim, "grant_reduction", actor=actor, now=now, note=note,
                      amount=Money(amount_minor, order.currency), reduction_minor=amount_minor,
                      refund_id=None if refund is None else refund.id)
        return Done(claim, refund, order.payment_intent_id)

    return await _run(ctx, claim_id, work)


async def refuse_withdrawal(ctx: ShopContext, claim_id: str, *, reason: str, actor: str) -> Any:
    """RS-VI.9: the lack of conformity is minor: the withdrawal refused, the lines kept; a price
    reduction stays open to the customer."""
    reason = _reason(reason)

    def work(uow: UnitOfWork, order: Any, claim: Any, now: datetime) -> Done:
        claim = _step(uow, order, claim, "refuse_withdrawal", actor=actor, now=now, note=reason, reason=reason)
        _move_lines(uow, order, claim, "nonconforming_withdrawal_refused", actor=actor, now=now)
        return Done(claim)

    return await _run(ctx, claim_id, work)


async def receive_return(ctx: ShopContext, claim_id: str, *, note: str | None, actor: str) -> Any:
    """RS-VI.10: the goods, or proof of their return, are back at the seller's cost: their price is
    refunded within 14 days of now; the devices' unused KZ perks are revoked (P-3)."""
    def work(uow: UnitOfWork, order: Any, claim: Any, now: datetime) -> Done:
        lines = _claimed_lines(uow, order, claim)
        refund = open_refund(uow, order, amount_minor=lines_price(lines), clause="RS-VI.10", now=now, actor=actor,
                             reason=f"withdrawal for non-conformity: {', '.join(line.sku for line in lines)}",
                             due_by=refund_due_by(now, Market(order.market)))
        claim = _step(uow, order, claim, "receive_return", actor=actor, now=now, note=note, goods_back_at=now,
                      amount=Money(lines_price(lines), order.currency), refund_id=None if refund is None else refund.id)
        revoke_unused(uow, uow.perks.of_lines(claim.line_ids), reason="withdrawn", actor=actor, now=now,
                      note=f"conformity claim {claim.id}: goods back")
        return Done(claim, refund, order.payment_intent_id)

    return await _run(ctx, claim_id, work)


def _claimed_lines(uow: UnitOfWork, order: Any, claim: Any) -> list[Any]:
    return [line for line in uow.orders.lines(order.id) if line.id in set(claim.line_ids)]


# --- reads --------------------------------------------------------------------------------------------

async def of_customer(ctx: ShopContext, customer_id: int) -> list[Any]:
    return await ctx.db.read(lambda uow: uow.conformity_claims.of_customer(customer_id))


async def one(ctx: ShopContext, claim_id: str, *, customer_id: int | None = None) -> Any:
    """The claim; 404 when there is none or, for a customer, it is not theirs."""
    return await ctx.db.read(lambda uow: uow.conformity_claims.get(claim_id, customer_id=customer_id))


async def open_claims(ctx: ShopContext, *, limit: int, after: str | None = None
                      ) -> tuple[list[Any], bool]:
    """A page of the claims not settled yet, the longest waiting first: staff's list of what to act
    on. At most `limit`, those after the claim `after` wherever it is now (none such: 422 naming
    `after`); and whether more follow."""
    def page(uow: UnitOfWork) -> tuple[list[Any], bool]:
        if after is not None and not uow.conformity_claims.known(after):
            raise unknown_cursor("conformity claim", after)
        rows = uow.conformity_claims.open(limit=limit + 1, after=after)
        return cut(rows, limit)
    return await ctx.db.read(page)
