"""The free take-back of an old device (RS-V.5.4): the customer asks for it for a device line of
their paid order and may call it off; staff collect the old device, or refuse it. Each use case runs
its rules in one transaction, the order locked first, then the take-back (the order's use cases lock
it first); each step of the TAKE_BACK machine goes on the order's timeline. No e-mail yet."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.take_back import (
    COUNTED, TAKE_BACK, TakeBackState, check_collected_at, check_line, check_order, check_place, check_reason,
    check_statement,
)
from shop.services.context import ShopContext
from shop.services.idempotency import IdempotencyClaim, Kept, answer_row, earlier_answer, remember_answers

MOST_LISTED = 200
"""Requested take-backs listed for staff at most at once (the oldest first)."""


async def request(ctx: ShopContext, order_id: str, *, customer_id: int, line_id: int, description: str,
                  same_type_and_function: bool, key: IdempotencyClaim | None = None,
                  present: Callable[[Any], Any] | None = None) -> Any:
    """RS-V.5.4: the free take-back of one old device of the same type and function as the device of
    `line_id`, at the order's delivery address in Serbia. With an Idempotency-Key the answer is kept
    in the same transaction (`present` builds it); the same key again returns it (a `Kept`). A
    refused request is not kept: it never started."""
    text = check_statement(description, same_type_and_function)

    def work(uow: UnitOfWork) -> Any:
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
        if key is not None and present is not None:
            remember_answers(uow, [answer_row(key, resource_id=take_back.id, status=201, body=present(take_back),
                                              now=now)])
        return take_back

    return await ctx.db.transaction(work)


def _step(uow: UnitOfWork, take_back_id: str, event: str, *, actor: str, customer_id: int | None = None,
          check: Callable[[Any, datetime], None] | None = None, note: str | None = None,
          **facts: Any) -> Any:
    """Fire `event` on the take-back (its order locked first), after `check(take_back, now)`; write
    it, closed now by `actor` with `facts`, and record it on its order's timeline with `note`."""
    order_id = uow.take_backs.get(take_back_id, customer_id=customer_id).order_id
    uow.orders.get(order_id, lock=True)
    take_back = uow.take_backs.get(take_back_id, lock=True)
    transition = TAKE_BACK.fire(take_back.state, event)
    now = uow.now()
    if check is not None:
        check(take_back, now)
    take_back = uow.take_backs.move(take_back, transition, closed_at=now, closed_by=actor, **facts)
    uow.timeline.record(order_id, transition, actor=actor, now=now, subject_id=take_back.id, reason=note)
    return take_back


def lapse(uow: UnitOfWork, order_id: str, line_ids: list[int], *, actor: str, now: datetime, note: str) -> None:
    """RS-V.5.4: the take-backs of lines just cancelled, not yet collected, lapse (the caller holds the
    order's lock and cancels the lines in the same transaction)."""
    for take_back in uow.take_backs.requested_of_lines(line_ids, lock=True):
        transition = TAKE_BACK.fire(take_back.state, "lapse")
        uow.take_backs.move(take_back, transition, closed_at=now, closed_by=actor)
        uow.timeline.record(order_id, transition, actor=actor, now=now, subject_id=take_back.id, reason=note)


async def collect(ctx: ShopContext, take_back_id: str, *, collected_at: datetime, actor: str) -> Any:
    """RS-V.5.4: staff collected the old device at `collected_at` (not in the future, not before it
    was asked for; any day, before or after the delivery)."""
    def check(take_back: Any, now: datetime) -> None:
        check_collected_at(collected_at, requested_at=take_back.requested_at, now=now)

    return await ctx.db.transaction(lambda uow: _step(uow, take_back_id, "collect", actor=actor, check=check,
                                                      collected_at=collected_at))


async def refuse(ctx: ShopContext, take_back_id: str, *, reason: str, actor: str) -> Any:
    """RS-V.5.4: the old device is not of the same type or function as the one delivered."""
    why = check_reason(reason)
    return await ctx.db.transaction(lambda uow: _step(uow, take_back_id, "refuse", actor=actor, note=why,
                                                      reason=why))


async def cancel(ctx: ShopContext, take_back_id: str, *, customer_id: int) -> Any:
    """The customer calls the take-back off before it is collected (RS-V.5.4); its unit is free again."""
    return await ctx.db.transaction(lambda uow: _step(uow, take_back_id, "cancel", actor=f"customer:{customer_id}",
                                                      customer_id=customer_id))


async def of_customer(ctx: ShopContext, customer_id: int) -> list[Any]:
    return await ctx.db.read(lambda uow: uow.take_backs.of_customer(customer_id))


async def requested(ctx: ShopContext, *, limit: int = MOST_LISTED) -> list[Any]:
    """Take-backs waiting to be collected or refused, the oldest first."""
    return await ctx.db.read(lambda uow: uow.take_backs.requested(limit=limit))
