"""The right of withdrawal (RS-VII): the customer's statement (on the web, or recorded by staff from
another channel), the return label, the goods received and the refund. Each use case reads `now`,
runs its rules in one transaction (`_request`, `_issue_label`, `_reject`: plain functions of the
unit of work, each step of the WITHDRAWAL machine on the order's timeline); the goods back and the
refund are shop.services.withdrawal_refunds."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shop.adapters.stores.timeline import entry
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain import notices
from shop.domain.deadlines import refund_due_by
from shop.domain.errors import Conflict, DomainError, InvalidInput
from shop.domain.lifecycle import ORDER, OrderState
from shop.domain.markets import Market
from shop.domain.order_lines import ORDER_LINE, LineState
from shop.domain.withdrawal import (
    WITHDRAWAL, Channel, WithdrawalState, check_statement, covered_lines, return_due_by,
)
from shop.services.context import ShopContext
from shop.services.idempotency import (
    IdempotencyClaim, Kept, answer_row, earlier_answer, remember_answers, remember_refusal,
)
from shop.services.mail import queue_notice, send_after_answer
from shop.services.perks import redeemed_on_lines

W = WithdrawalState
STAFF_CHANNELS = (Channel.EMAIL, Channel.PHONE, Channel.CHAT, Channel.ORDER_CENTRE)  # RS-VII.3


@dataclass(frozen=True)
class WithdrawalAggregate:
    """A withdrawal with the order lines it covers (rows)."""

    withdrawal: Any
    lines: Sequence[Any]
    emails: list[Any] = field(default_factory=list, compare=False)
    """The customer's messages this step queued, sent once the request has answered."""
    redeemed_perks: Sequence[Any] = ()
    """P-3, RS-VII.9, RS-VII.10: the perks of the lines' devices already redeemed (KZ), for the
    refund decision; the unused ones are revoked when the withdrawal is refunded."""


def aggregate(uow: UnitOfWork, order: Any, withdrawal: Any, lines: Sequence[Any] | None = None
              ) -> WithdrawalAggregate:
    """The withdrawal with the lines it covers and, for a KZ order, the perks of their devices
    already redeemed (P-3)."""
    lines = uow.withdrawals.lines(withdrawal.id) if lines is None else lines
    redeemed = (redeemed_on_lines(uow, [line.id for line in lines]) if order.market == Market.KZ else ())
    return WithdrawalAggregate(withdrawal, lines, redeemed_perks=redeemed)


def tell(uow: UnitOfWork, order: Any, notice: notices.Notice, now: datetime, made: WithdrawalAggregate
          ) -> WithdrawalAggregate:
    """The customer's message about a withdrawal step (RS-VII.6 the statement received, RS-VII.7 the
    return label with its deadline, RS-VII.10 the refund), queued in the step's transaction."""
    made.emails.append(queue_notice(uow, order, notice, now))
    return made


def answered(ctx: ShopContext, made: Any) -> Any:
    """After the commit: the step's messages go out once the request has answered."""
    if isinstance(made, WithdrawalAggregate):
        send_after_answer(ctx, made.emails)
    return made


# --- the statement: RS-VII.1–VII.3, T-6 ---------------------------------------------------------------

class _Refused(Exception):
    """A keyed statement refused for a business reason: out of its transaction, to be kept."""

    def __init__(self, error: DomainError, now: datetime) -> None:
        super().__init__(error.code)
        self.error, self.now = error, now


async def withdraw(ctx: ShopContext, order_id: str, *, customer_id: int, line_ids: Collection[int] | None,
                   claim: IdempotencyClaim | None = None,
                   present: Callable[[WithdrawalAggregate], Any] | None = None,
                   refusal: Callable[[DomainError], Any] | None = None) -> WithdrawalAggregate | Kept:
    """The customer's statement on the web, sent now (RS-VII.1, RS-VII.2). With an Idempotency-Key,
    the answer is kept in the same transaction (`present` builds it); the same key again returns it.
    A keyed statement refused for a business reason (RS-VII.1 period over, RS-VII.14 not returnable,
    a line already withdrawn …) keeps that refusal (`refusal` builds its body) as the key's answer,
    as a keyed order does (shop.services.idempotency); an order not found is not kept."""
    def work(uow: UnitOfWork) -> WithdrawalAggregate | Kept:
        order = uow.orders.get(order_id, customer_id=customer_id, lock=True)
        if claim is not None and (earlier := earlier_answer(uow, claim)) is not None:
            return Kept(earlier.status_code or 201, earlier.body)
        now = uow.now()
        try:
            made = _request(uow, order, channel=Channel.WEB, sent_at=now, line_ids=line_ids,
                            actor=f"customer:{customer_id}", now=now)
        except DomainError as error:
            if claim is None or refusal is None or error.status >= 500:
                raise
            raise _Refused(error, now) from error
        if claim is not None and present is not None:
            remember_answers(uow, [answer_row(claim, resource_id=made.withdrawal.id, status=201,
                                              body=present(made), now=now)])
        return made
    try:
        return answered(ctx, await ctx.db.transaction(work))
    except _Refused as refused:
        assert claim is not None and refusal is not None
        record = await remember_refusal(ctx, claim, refused.error.status, refusal(refused.error), refused.now)
        return Kept(record.status_code or 201, record.body)


async def record_statement(ctx: ShopContext, order_id: str, *, channel: Channel | str, sent_at: datetime,
                           line_ids: Collection[int] | None, actor: str) -> WithdrawalAggregate:
    """Staff record a statement that came by e-mail, phone, chat or the order centre (RS-VII.3),
    judged by the moment it was sent (T-6), which may not lie in the future."""
    channel = Channel(channel)
    if channel not in STAFF_CHANNELS:
        raise InvalidInput("channel_not_recorded_by_staff", f"staff do not record {channel} statements",
                          clause="RS-VII.3", field="channel")

    def work(uow: UnitOfWork) -> WithdrawalAggregate:
        order = uow.orders.get(order_id, lock=True)
        return _request(uow, order, channel=channel, sent_at=sent_at, line_ids=line_ids, actor=actor,
                        now=uow.now())
    return answered(ctx, await ctx.db.transaction(work))


def _request(uow: UnitOfWork, order: Any, *, channel: Channel, sent_at: datetime,
             line_ids: Collection[int] | None, actor: str, now: datetime) -> WithdrawalAggregate:
    _must_be_delivered(order)
    market = Market(order.market)
    check_statement(sent_at=sent_at, delivered_at=order.delivered_at, market=market, now=now)
    lines = covered_lines(uow.orders.lines(order.id), line_ids, uow.withdrawals.withdrawn_lines(order.id),
                          delivered=(LineState.CONFIRMED, LineState.WITHDRAWN))
    transition = WITHDRAWAL.start("request", W.REQUESTED)
    withdrawal = uow.withdrawals.add({
        "id": str(uuid.uuid4()), "order_id": order.id, "state": transition.to_state.value,
        "channel": channel.value, "sent_at": sent_at, "recorded_at": now,
        "refund_due_by": refund_due_by(sent_at, market)}, [line.id for line in lines])
    uow.timeline.record(order.id, transition, actor=actor, now=now, subject_id=withdrawal.id,
                        reason=f"{channel.value} statement sent at {sent_at.isoformat()}")
    moves = {line.id: ORDER_LINE.fire(line.state, "withdraw") for line in lines}
    uow.orders.set_line_states({line_id: move.to_state for line_id, move in moves.items()})
    uow.timeline.record_entries([entry(order.id, move, actor=actor, now=now, subject_id=str(line_id))
                                 for line_id, move in moves.items()])
    return tell(uow, order, notices.withdrawal_received(market, order.number, now, withdrawal.refund_due_by),
                 now, aggregate(uow, order, withdrawal, lines))


def _must_be_delivered(order: Any) -> None:
    """RS-VII.1: the period runs from possession; an order not delivered has none to withdraw from."""
    if order.state != OrderState.DELIVERED or order.delivered_at is None:
        raise Conflict("order_not_delivered", f"the order is {order.state}, not delivered",
                       clause=ORDER.step("deliver").clause)


# --- the return: RS-VII.7, RS-VII.12 ------------------------------------------------------------------

async def issue_return_label(ctx: ShopContext, withdrawal_id: str, *, actor: str) -> WithdrawalAggregate:
    """Staff issue the return label, the shop paying the shipping (RS-VII.12); the goods are due
    back 14 calendar days after the customer received it, taken as the moment it was issued (RS-VII.7)."""
    return answered(ctx, await ctx.db.transaction(lambda uow: _issue_label(uow, withdrawal_id, actor)))


def locked(uow: UnitOfWork, withdrawal_id: str) -> tuple[Any, Any]:
    """The withdrawal and its order, the order locked first (as every use case of an order)."""
    order = uow.orders.get(uow.withdrawals.get(withdrawal_id).order_id, lock=True)
    return order, uow.withdrawals.get(withdrawal_id, lock=True)


def _issue_label(uow: UnitOfWork, withdrawal_id: str, actor: str) -> WithdrawalAggregate:
    order, withdrawal = locked(uow, withdrawal_id)
    now = uow.now()
    transition = WITHDRAWAL.fire(withdrawal.state, "issue_label")
    due = return_due_by(now)
    withdrawal = uow.withdrawals.move(withdrawal, transition, label_issued_at=now, return_due_by=due)
    uow.timeline.record(order.id, transition, actor=actor, now=now, subject_id=withdrawal.id,
                        reason=f"goods due back by {due.isoformat()}")
    return tell(uow, order, notices.return_label(Market(order.market), order.number, due), now,
                 aggregate(uow, order, withdrawal))


# --- refused: RS-VII.14 ------------------------------------------------------------------------------

async def reject(ctx: ShopContext, withdrawal_id: str, *, reason: str, actor: str) -> WithdrawalAggregate:
    """Staff refuse a withdrawal not yet back for a recorded reason (RS-VII.14): its lines are the
    customer's again (`withdrawal_rejected`) and may be withdrawn again while the period runs."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason_required", "a rejection needs its reason", clause="RS-VII.14", field="reason")
    return answered(ctx, await ctx.db.transaction(lambda uow: _reject(uow, withdrawal_id, reason, actor)))


def _reject(uow: UnitOfWork, withdrawal_id: str, reason: str, actor: str) -> WithdrawalAggregate:
    order, withdrawal = locked(uow, withdrawal_id)
    now = uow.now()
    transition = WITHDRAWAL.fire(withdrawal.state, "reject")
    withdrawal = uow.withdrawals.move(withdrawal, transition, rejected_reason=reason)
    uow.timeline.record(order.id, transition, actor=actor, now=now, subject_id=withdrawal.id, reason=reason)
    lines = uow.withdrawals.lines(withdrawal.id)
    uow.withdrawals.release(withdrawal.id)
    moves = {line.id: ORDER_LINE.fire(line.state, "withdrawal_rejected") for line in lines}
    uow.orders.set_line_states({line_id: move.to_state for line_id, move in moves.items()})
    uow.timeline.record_entries([entry(order.id, move, actor=actor, now=now, subject_id=str(line_id),
                                       reason=reason) for line_id, move in moves.items()])
    return aggregate(uow, order, withdrawal)
