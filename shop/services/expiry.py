"""RS-V.1: a card order not paid within 2 hours is cancelled. The job claims expired orders in
bounded batches with one UPDATE … RETURNING (skipping rows another process holds), so each order is
cancelled exactly once however many copies run, and its cost follows the number of expired orders
(the index on (state, payment_due_at)), not the number of all orders. On PostgreSQL two batches
are written at once, as two copies of the job would."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter

from shop.adapters.stripe_gateway import PaymentProviderError
from shop.adapters.background import all_together
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain import notices
from shop.domain.lifecycle import ORDER, OrderState
from shop.domain.machine import Transition
from shop.domain.markets import Market
from shop.domain.order_lines import ORDER_LINE, LineState
from shop.messages import render
from shop.services.context import ShopContext

log = logging.getLogger(__name__)

BATCH_SIZE = 2_000
WORKERS_ON_POSTGRESQL = 2
"""Batches written at once on PostgreSQL, where a batch is one server process's work on one core
(100,000 of 1,000,000 orders, this 2-core machine: 8.5 s one at a time, 5.5-6.3 s two at once,
no better with three). SQLite has one writer."""
ACTOR = "system:expire-payments"
CANCEL_INTENT = "cancel_payment_intent"
STRIPE_CONCURRENCY = 16


@dataclass
class ExpiryReport:
    cancelled: list[tuple[str, str, datetime]] = field(default_factory=list)  # (id, number, due)
    database_seconds: float = 0.0
    intents_cancelled: int = 0
    intents_failed: int = 0
    stripe_seconds: float = 0.0


async def expire_unpaid_orders(ctx: ShopContext, now: datetime, *, batch_size: int = BATCH_SIZE,
                               workers: int | None = None,
                               on_cancelled: Callable[[str, str, datetime], None] | None = None) -> ExpiryReport:
    """Cancel every card order whose payment window closed before `now`; release its stock and
    queue the cancellation of its PaymentIntent. `workers` batches at once (by default
    WORKERS_ON_POSTGRESQL there, one on SQLite), each in its own transaction."""
    report = ExpiryReport()
    transition = ORDER.fire(OrderState.AWAITING_PAYMENT, "expire_payment")  # the table decides the target
    if workers is None:
        workers = WORKERS_ON_POSTGRESQL if ctx.db.dialect == "postgresql" else 1

    async def cancel_batches() -> None:
        while claimed := await ctx.db.transaction(lambda uow: _cancel_batch(uow, transition, now, batch_size)):
            for order_id, number, due in claimed:
                report.cancelled.append((order_id, number, due))
                if on_cancelled is not None:
                    on_cancelled(order_id, number, due)

    started = perf_counter()
    await all_together(cancel_batches, copies=workers)
    report.database_seconds = perf_counter() - started
    return report


def _cancel_batch(uow: UnitOfWork, transition: Transition, now: datetime,
                  limit: int) -> list[tuple[str, str, datetime]]:
    """One batch in one transaction: claimed and moved in one UPDATE … RETURNING, then its timeline
    entries (one statement for the batch), each customer told why, each PaymentIntent's cancellation
    owed to Stripe, the units released."""
    claimed = [(row.id, row.number, row.payment_due_at)
               for row in uow.orders.claim_expired(transition, now, limit)]
    if not claimed:
        return claimed
    ids = [order_id for order_id, _, _ in claimed]
    uow.timeline.record_for_orders(ids, transition, actor=ACTOR, now=now, reason_before_due="not paid by ")
    held = uow.orders.held_units(ids, cancelled=LineState.CANCELLED)
    uow.orders.move_lines_of(ids, ORDER_LINE.fire(LineState.ORDERED, transition.event))  # a line follows its order
    _queue_notices(uow, ids, now, transition.clause)
    uow.outbox.queue_intent_cancellations(ids, CANCEL_INTENT, now)  # sent apart, after the commit
    # The stock last: every batch (and every order placed meanwhile) writes the same product rows,
    # which stay locked until the commit. In a fixed order: no two batches wait for each other in a circle.
    uow.products.release(held)
    return claimed


def _queue_notices(uow: UnitOfWork, ids: list[str], now: datetime, clause: str) -> None:
    """Tell each customer why, in one INSERT … SELECT per batch: the wording is notices.py's, in the
    order's market's language, the order's number put in by the database (T-5)."""
    mark = "\x00number\x00"
    notice_of = {market: notices.order_cancelled(market, mark, notices.Cause.NOT_PAID_IN_TIME, clause, None)
                 for market in Market}
    kind, = {notice.kind for notice in notice_of.values()}
    uow.outbox.queue_worded_per_market(ids, {market.value: render(notice) for market, notice in notice_of.items()},
                                       mark, kind, now)


async def send_queued_cancellations(ctx: ShopContext, now: datetime, report: ExpiryReport,
                                    *, batch_size: int = 500, at_most: int | None = None) -> None:
    """Cancel the queued PaymentIntents at Stripe, outside any database transaction: each batch is
    leased (so a second sender skips it), sent with bounded concurrency, then marked. A payment that
    slips in before its cancellation lands is refunded when its webhook arrives (services.payments)."""
    started = perf_counter()
    limit = asyncio.Semaphore(STRIPE_CONCURRENCY)

    async def cancel(command_id: int, intent_id: str) -> tuple[int, PaymentProviderError | None]:
        async with limit:
            try:
                await ctx.stripe.cancel_payment_intent(intent_id)
                return command_id, None
            except PaymentProviderError as error:
                return command_id, error

    while (at_most is None or report.intents_cancelled + report.intents_failed < at_most) and (
            pending := await ctx.db.transaction(lambda uow: uow.outbox.lease_stripe_commands(now, batch_size))):
        results = await asyncio.gather(*(cancel(command_id, intent_id) for command_id, intent_id in pending))
        report.intents_cancelled += sum(error is None for _, error in results)
        report.intents_failed += sum(error is not None for _, error in results)
        attempts = [(command_id, now if error is None or not error.retryable else None,  # refused: already
                     None if error is None else str(error)[:500]) for command_id, error in results]  # paid or cancelled
        await ctx.db.transaction(lambda uow: uow.outbox.mark_stripe_commands(attempts))
        if any(error is not None and error.retryable for _, error in results):
            break  # Stripe is struggling: the rest waits for the next run
    report.stripe_seconds = perf_counter() - started
