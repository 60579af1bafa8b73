"""Complaints (RS-X): the customer's own on the web, those staff record from e-mail, phone or post,
and staff's answer. Each use case runs its rules in one transaction (`_receive`, `_answer`: plain
functions of the unit of work, each step of the COMPLAINT machine on its order's timeline when it
names an order); the e-mails go once the request has answered."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shop.adapters.stores.idempotency import KeyTaken
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain import notices
from shop.domain.accounts import account_gone
from shop.domain.complaints import (
    COMPLAINT, About, AnswerBy, Channel, Complainant, ComplaintState, answer_due_by, check_complainant,
    check_received_at, check_statement, staff_channel,
)
from shop.domain.errors import InvalidInput, NotFound
from shop.domain.markets import Market
from shop.services.context import ShopContext
from shop.services.idempotency import IdempotencyClaim, Kept, answer_row, earlier_answer, remember_answers
from shop.services.mail import notice_row, send_after_answer
from shop.services.pages import cut, unknown_cursor

@dataclass(frozen=True)
class Statement:
    """What a complaint says (RS-X.1, RS-X.2): its subject, description and justification, the
    remedy wanted, the order where there is one, and its market where there is none."""

    about: About
    description: str
    remedy: str
    order_id: str | None = None
    market: Market | None = None


async def complain(ctx: ShopContext, statement: Statement, *, customer_id: int, answer_by: AnswerBy,
                   postal_address: str | None, name: str | None = None, claim: IdempotencyClaim | None = None,
                   present: Callable[[Any], Any] | None = None) -> Any:
    """The customer's complaint on the web shop, received now (RS-X.1), in their account's name (or
    `name`) and, for an electronic answer, to its e-mail address (RS-X.2). With an Idempotency-Key the
    answer is kept in the same transaction (`present` builds it); the same key again returns it (a
    `Kept`). A complaint that does not state what RS-X.2 asks is refused, and not kept: it never
    started, as a body that does not validate."""
    def receive(uow: UnitOfWork) -> _Received:
        account = uow.accounts.get(customer_id)
        if account is None:
            raise account_gone()
        order = None if statement.order_id is None else uow.orders.get(statement.order_id, customer_id=customer_id)
        now = uow.now()
        complainant = Complainant(name or account.full_name, answer_by, account.email, postal_address)
        return _receive(uow, statement, complainant, order=order, channel=Channel.WEB, received_at=now,
                        customer_id=customer_id, actor=f"customer:{customer_id}", now=now)

    return await _received(ctx, receive, claim, present)


async def record(ctx: ShopContext, statement: Statement, complainant: Complainant, *, channel: str,
                 received_at: datetime, actor: str, claim: IdempotencyClaim | None = None,
                 present: Callable[[Any], Any] | None = None) -> Any:
    """Staff record a complaint that came by e-mail, phone or post (RS-X.1) with the moment it was
    received, which may not lie in the future; its 8 days run from then (RS-X.3). An Idempotency-Key
    works as for the customer's."""
    how = staff_channel(channel)

    def receive(uow: UnitOfWork) -> _Received:
        order = None if statement.order_id is None else uow.orders.get(statement.order_id)
        now = uow.now()
        check_received_at(received_at, now)
        return _receive(uow, statement, complainant, order=order, channel=how, received_at=received_at,
                        customer_id=None if order is None else order.customer_id, actor=actor, now=now)

    return await _received(ctx, receive, claim, present)


async def _received(ctx: ShopContext, receive: Callable[[UnitOfWork], _Received], claim: IdempotencyClaim | None,
                    present: Callable[[Any], Any] | None) -> Any:
    """`receive` in one transaction, its answer kept for the Idempotency-Key (`claim`) in it; the key's
    earlier answer (a `Kept`) instead when it has one. The e-mails go once the request has answered."""
    def work(uow: UnitOfWork) -> _Received | Kept:
        if claim is not None and (earlier := earlier_answer(uow, claim)) is not None:
            return Kept(earlier.status_code or 201, earlier.body)
        made = receive(uow)
        if claim is not None and present is not None:
            remember_answers(uow, [answer_row(claim, resource_id=made.complaint.id, status=201,
                                              body=present(made.complaint), now=made.complaint.recorded_at)])
        return made

    try:
        made = await ctx.db.transaction(work)
    except KeyTaken:  # a concurrent twin with the same key was kept first: its answer is this one's
        assert claim is not None
        earlier = await ctx.db.read(lambda uow: earlier_answer(uow, claim))
        assert earlier is not None  # the twin's, committed; a record is never deleted
        return Kept(earlier.status_code or 201, earlier.body)
    if isinstance(made, Kept):
        return made
    send_after_answer(ctx, made.emails)
    return made.complaint


@dataclass(frozen=True)
class _Received:
    complaint: Any
    emails: list[Any]


def _receive(uow: UnitOfWork, statement: Statement, complainant: Complainant, *, order: Any | None,
             channel: Channel, received_at: datetime, customer_id: int | None, actor: str,
             now: datetime) -> _Received:
    """RS-X.1–X.3: the complaint checked, received with its deadline, on its order's timeline, and the
    complainant told by when the answer comes (when they gave an e-mail address)."""
    check_complainant(complainant)
    check_statement(statement.description, statement.remedy)
    market = _market(statement, order)
    transition = COMPLAINT.start("receive", ComplaintState.RECEIVED)
    complaint = uow.complaints.add({
        "id": str(uuid.uuid4()), "market": market.value, "channel": channel.value, "about": statement.about.value,
        "customer_id": customer_id, "order_id": None if order is None else order.id,
        "name": complainant.name.strip(), "answer_by": complainant.answer_by.value, "email": complainant.email,
        "postal_address": complainant.postal_address, "description": statement.description,
        "remedy": statement.remedy, "state": transition.to_state.value, "received_at": received_at,
        "recorded_at": now, "recorded_by": actor, "answer_due_by": answer_due_by(received_at, market)})
    if order is not None:
        uow.timeline.record(order.id, transition, actor=actor, now=now, subject_id=complaint.id,
                            reason=f"{channel.value}: about the {statement.about.value}")
    if complaint.email:
        notice = notices.complaint_received(market, complaint.id, received_at, complaint.answer_due_by,
                                            None if order is None else order.number)
        uow.outbox.queue_emails([notice_row(complaint.order_id, notice, now, address=complaint.email)])
    return _Received(complaint, uow.outbox.queued)


def _market(statement: Statement, order: Any | None) -> Market:
    """An order's complaint is its order's market's; one without an order names its own."""
    if order is not None:
        return Market(order.market)
    if statement.market is None:
        raise InvalidInput("complaint_market_missing", "a complaint without an order names its market (RS or KZ)",
                           field="market")
    return statement.market


async def answer(ctx: ShopContext, complaint_id: str, *, text: str, actor: str) -> Any:
    """RS-X.3: staff answer the complaint (due within 8 days of receipt; a late answer is recorded as
    late, never refused); an electronic answer is e-mailed to its address, a written one is posted by
    staff (RS-X.2)."""
    if not text.strip():
        raise InvalidInput("complaint_answer_missing", "the answer has no text", clause="RS-X.3", field="answer")

    def work(uow: UnitOfWork) -> _Received:
        complaint = uow.complaints.get(complaint_id, lock=True)
        now = uow.now()
        transition = COMPLAINT.fire(complaint.state, "answer")
        complaint = uow.complaints.move(complaint, transition, answer=text, answered_at=now, answered_by=actor)
        if complaint.order_id is not None:
            uow.timeline.record(complaint.order_id, transition, actor=actor, now=now, subject_id=complaint.id)
        if complaint.answer_by == AnswerBy.EMAIL and complaint.email:
            notice = notices.complaint_answered(Market(complaint.market), complaint.id, complaint.received_at, text)
            uow.outbox.queue_emails([notice_row(complaint.order_id, notice, now, address=complaint.email)])
        return _Received(complaint, uow.outbox.queued)

    made = await ctx.db.transaction(work)
    send_after_answer(ctx, made.emails)
    return made.complaint


async def of_customer(ctx: ShopContext, customer_id: int, *, limit: int, before: str | None = None
                      ) -> tuple[list[Any], bool]:
    """A page of the customer's complaints, newest first: at most `limit`, those received after the
    complaint `before` (the previous page's last, which must be theirs: 422 naming `before`
    otherwise); and whether more follow."""
    def page(uow: UnitOfWork) -> tuple[list[Any], bool]:
        if before is not None:
            try:
                uow.complaints.get(before, customer_id=customer_id)
            except NotFound:
                raise unknown_cursor("complaint", before, field="before", of_yours=True) from None
        rows = uow.complaints.of_customer(customer_id, limit=limit + 1, before=before)
        return cut(rows, limit)
    return await ctx.db.read(page)


async def one(ctx: ShopContext, complaint_id: str, *, customer_id: int | None = None) -> Any:
    """The complaint; 404 when there is none or, for a customer, it is not theirs."""
    return await ctx.db.read(lambda uow: uow.complaints.get(complaint_id, customer_id=customer_id))


async def open_complaints(ctx: ShopContext, *, limit: int, after: str | None = None
                          ) -> tuple[list[Any], bool]:
    """A page of the complaints not yet answered, the earliest due first (RS-X.3): at most `limit`,
    those after the complaint `after` wherever it is now (none such: 422 naming `after`); and
    whether more follow."""
    def page(uow: UnitOfWork) -> tuple[list[Any], bool]:
        if after is not None and not uow.complaints.known(after):
            raise unknown_cursor("complaint", after)
        rows = uow.complaints.open(limit=limit + 1, after=after)
        return cut(rows, limit)
    return await ctx.db.read(page)
