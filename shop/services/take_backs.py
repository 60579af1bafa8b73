"""The free take-back of an old device (RS-V.5.4): the customer asks for it for a device line of
their paid order and may call it off; staff collect the old device, or refuse it. Each use case runs
its rules in one transaction, the order locked first, then the take-back (the order's use cases lock
it first); each step of the TAKE_BACK machine goes on the order's timeline, and the customer is told
of it by e-mail (shop.domain.notices: queued in the step's transaction, sent once the request has
answered). A lapse runs in the transaction of the order's cancellation, whose use case sends every
e-mail it queued (`uow.outbox.queued`): the take-back's with the order's."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain import notices
from shop.domain.markets import Market
from shop.domain.notices import Notice
from shop.domain.take_back import (
    COUNTED, TAKE_BACK, TakeBackState, check_collected_at, check_line, check_order, check_place, check_reason,
    check_statement,
)
from shop.services.context import ShopContext
from shop.services.idempotency import IdempotencyClaim, Kept, answer_row, earlier_answer, remember_answers
from shop.services.mail import queue_notice, send_after_answer
from shop.services.pages import cut, unknown_cursor

@dataclass(frozen=True)
class _Done:
    """A step's take-back as written, and the e-mails its transaction queued."""

    take_back: Any
    emails: Sequence[Any]


async def _run(ctx: ShopContext, work: Callable[[UnitOfWork], Any]) -> Any:
    """`work` in one transaction; its e-mails go once the request has answered. The take-back, or
    an Idempotency-Key's earlier answer (a `Kept`)."""
    done = await ctx.db.transaction(work)
    if isinstance(done, Kept):
        return done
    send_after_answer(ctx, done.emails)
    return done.take_back


def _about(order: Any, take_back: Any, product: str) -> dict[str, Any]:
    """What every take-back message names (RS-V.5.4): the order, the take-back, the old device as
    the customer described it and the product of the line it goes with."""
    return {"market": Market(order.market), "number": order.number, "reference": take_back.id,
            "device": take_back.description, "product": product}


async def request(ctx: ShopContext, order_id: str, *, customer_id: int, line_id: int, description: str,
                  same_type_and_function: bool, key: IdempotencyClaim | None = None,
                  present: Callable[[Any], Any] | None = None) -> Any:
    """RS-V.5.4: the free take-back of one old device of the same type and function as the device of
    `line_id`, at the order's delivery address in Serbia. With an Idempotency-Key the answer is kept
    in the same transaction (`present` builds it); the same key again returns it (a `Kept`). A
    refused request is not kept: it never started."""
    text = check_statement(description, same_type_and_function)

    def work(uow: UnitOfWork) -> _Done | Kept:
        order = uow.orders.get(order_id, customer_id=customer_id, lock=True)  # 404: not the customer's
        if key is not None and (earlier := earlier_answer(uow, key)) is not None:
            return Kept(earlier.status_code or 201, earlier.body)
        address = (order.delivery or {}).get("address")
        check_place(order.market, address)
        check_order(order.state)
        line = next((line for line in uow.orders.lines(order.id) if line.id == line_id), None)
        check_line(line, line_id, taken=uow.take_backs.count_of_line(line_id, COUNTED))
        now = uow.now()
        transition = TAKE_BACK.start("request", TakeBackState.REQUESTED)
        take_back = uow.take_backs.add({
            "id": str(uuid.uuid4()), "order_id": order.id, "customer_id": customer_id, "line_id": line.id,
            "sku": line.sku, "description": text, "address": dict(address), "state": transition.to_state.value,
            "requested_at": now})
        uow.timeline.record(order.id, transition, actor=f"customer:{customer_id}", now=now,
                            subject_id=take_back.id, reason=f"{line.sku}: {text}"[:500])
        queue_notice(uow, order, notices.take_back_requested(**_about(order, take_back, line.name),
                                                             address=take_back.address), now)
        if key is not None and present is not None:
            remember_answers(uow, [answer_row(key, resource_id=take_back.id, status=201, body=present(take_back),
                                              now=now)])
        return _Done(take_back, uow.outbox.queued)

    return await _run(ctx, work)


def _step(uow: UnitOfWork, take_back_id: str, event: str, *, actor: str, tell: Callable[..., Notice],
          customer_id: int | None = None, check: Callable[[Any, datetime], None] | None = None,
          note: str | None = None, **facts: Any) -> _Done:
    """Fire `event` on the take-back (its order locked first), after `check(take_back, now)`; write
    it, closed now by `actor` with `facts`, record it on its order's timeline with `note`, and queue
    the customer's message (`tell`, given what every take-back message names)."""
    order_id = uow.take_backs.get(take_back_id, customer_id=customer_id).order_id
    order = uow.orders.get(order_id, lock=True)
    take_back = uow.take_backs.get(take_back_id, lock=True)
    transition = TAKE_BACK.fire(take_back.state, event)
    now = uow.now()
    if check is not None:
        check(take_back, now)
    take_back = uow.take_backs.move(take_back, transition, closed_at=now, closed_by=actor, **facts)
    uow.timeline.record(order_id, transition, actor=actor, now=now, subject_id=take_back.id, reason=note)
    product = next(line.name for line in uow.orders.lines(order_id) if line.id == take_back.line_id)
    queue_notice(uow, order, tell(**_about(order, take_back, product)), now)
    return _Done(take_back, uow.outbox.queued)


def lapse(uow: UnitOfWork, order: Any, lines: Sequence[Any], *, actor: str, now: datetime, note: str) -> None:
    """RS-V.5.4: the take-backs of `lines`, just cancelled, not yet collected, lapse, and the customer
    is told (the caller holds the order's lock, cancels the lines in the same transaction and sends
    every e-mail it queued)."""
    names = {line.id: line.name for line in lines}
    for take_back in uow.take_backs.requested_of_lines(list(names), lock=True):
        transition = TAKE_BACK.fire(take_back.state, "lapse")
        uow.take_backs.move(take_back, transition, closed_at=now, closed_by=actor)
        uow.timeline.record(order.id, transition, actor=actor, now=now, subject_id=take_back.id, reason=note)
        queue_notice(uow, order, notices.take_back_lapsed(**_about(order, take_back, names[take_back.line_id])),
                     now)


async def collect(ctx: ShopContext, take_back_id: str, *, collected_at: datetime, actor: str) -> Any:
    """RS-V.5.4: staff collected the old device at `collected_at` (not in the future, not before it
    was asked for; any day, before or after the delivery)."""
    def check(take_back: Any, now: datetime) -> None:
        check_collected_at(collected_at, requested_at=take_back.requested_at, now=now)

    return await _run(ctx, lambda uow: _step(
        uow, take_back_id, "collect", actor=actor, check=check,
        tell=partial(notices.take_back_collected, collected_at=collected_at), collected_at=collected_at))


async def refuse(ctx: ShopContext, take_back_id: str, *, reason: str, actor: str) -> Any:
    """RS-V.5.4: the old device is not of the same type or function as the one delivered."""
    why = check_reason(reason)
    return await _run(ctx, lambda uow: _step(
        uow, take_back_id, "refuse", actor=actor, note=why, tell=partial(notices.take_back_refused, reason=why),
        reason=why))


async def cancel(ctx: ShopContext, take_back_id: str, *, customer_id: int) -> Any:
    """The customer calls the take-back off before it is collected (RS-V.5.4); its unit is free again."""
    return await _run(ctx, lambda uow: _step(
        uow, take_back_id, "cancel", actor=f"customer:{customer_id}", customer_id=customer_id,
        tell=notices.take_back_cancelled))


async def of_customer(ctx: ShopContext, customer_id: int) -> list[Any]:
    return await ctx.db.read(lambda uow: uow.take_backs.of_customer(customer_id))


async def requested(ctx: ShopContext, *, limit: int, after: str | None = None) -> tuple[list[Any], bool]:
    """A page of the take-backs waiting to be collected or refused, the oldest first: at most
    `limit`, those after the take-back `after` wherever it is now (none such: 422 naming `after`);
    and whether more follow."""
    def page(uow: UnitOfWork) -> tuple[list[Any], bool]:
        if after is not None and not uow.take_backs.known(after):
            raise unknown_cursor("take-back", after)
        rows = uow.take_backs.requested(limit=limit + 1, after=after)
        return cut(rows, limit)
    return await ctx.db.read(page)
