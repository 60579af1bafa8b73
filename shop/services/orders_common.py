"""What every order use case shares: the order as a whole for its readers, and the side effects of
every cancellation (units back to stock, the customer told why)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain import notices
from shop.domain.checkout import order_vat
from shop.domain.deadlines import withdrawal_deadline
from shop.domain.markets import Market
from shop.domain.machine import Transition
from shop.domain.money import Money
from shop.domain.notices import Cause
from shop.adapters.stores.timeline import entry
from shop.domain.order_lines import ORDER_LINE, LineState
from shop.services.mail import queue_notice
from shop.services.take_backs import lapse as lapse_take_backs


@dataclass
class OrderAggregate:
    """An order with its lines, timeline and refunds, as rows (read, or just written and given back
    by INSERT … RETURNING: the same attributes), and what followed its sale. An order just placed
    has none of the rest: they default to empty, and placing it reads nothing more (shop.services.checkout)."""

    order: Any
    lines: Sequence[Any]
    timeline: Sequence[Any]
    refunds: Sequence[Any]
    withdrawals: Sequence[Any] = ()  # WithdrawalView: a withdrawal's row and the ids of its lines
    perks: Sequence[Any] = ()  # BundleNow: a device's perk bundle, each perk's state as of the read (KZ)
    invoices: Sequence[Any] = ()  # the invoice and the credit notes (RS-IV.8–10), oldest first
    conformity_claims: Sequence[Any] = ()  # RS-VI, oldest first
    complaints: Sequence[Any] = ()  # RS-X: those that name the order, the earliest received first
    take_backs: Sequence[Any] = ()  # RS-V.5.4: old devices taken back for its lines, oldest first


def units_of(lines: Sequence[Any]) -> dict[str, int]:
    """The units these lines hold, by SKU."""
    units: dict[str, int] = {}
    for line in lines:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    return units


def release_open_lines(uow: UnitOfWork, lines: Sequence[Any]) -> None:
    """RS-V.5.6: the units of the lines not yet cancelled go back to stock."""
    uow.products.release(units_of([line for line in lines if line.state != LineState.CANCELLED]))


def tell_cancelled(uow: UnitOfWork, order: Any, cause: Cause, clause: str, refund: Any | None,
                   now: datetime) -> Any:
    """Every cancellation tells the customer why, with the clause, and what comes back (queued in
    the caller's transaction)."""
    notice = notices.order_cancelled(Market(order.market), order.number, cause, clause, _amount(refund))
    return queue_notice(uow, order, notice, now)


def tell_confirmed(uow: UnitOfWork, order: Any, available: Sequence[Any], unavailable: Sequence[Any],
                   refund: Any | None, now: datetime) -> Any:
    """RS-IV.6: the confirmation that forms the contract, with what it covers: the total and VAT of
    the lines kept (and the delivery charge), the lines left out and the refund of them."""
    currency = order.currency
    kept = [Money(line.unit_price_minor * line.quantity, currency) for line in available]
    charge = Money(order.delivery_minor, currency)
    # Every line of an order carries the rate of its tax point, the quote's (shop.services.order_rows).
    vat = order_vat(kept, charge, Decimal(available[0].vat_rate))
    notice = notices.order_confirmed(Market(order.market), order.number, Money.total(kept, currency) + charge, vat,
                                     [f"{line.quantity} × {line.name}" for line in unavailable], _amount(refund))
    return queue_notice(uow, order, notice, now)


def tell_delivered(uow: UnitOfWork, order: Any, delivered_at: datetime, now: datetime) -> Any:
    """RS-VII.1: possession starts the withdrawal period; the customer is told when it ends."""
    market = Market(order.market)
    notice = notices.delivered(market, order.number, delivered_at, withdrawal_deadline(delivered_at, market))
    return queue_notice(uow, order, notice, now)


def _amount(refund: Any | None) -> Money | None:
    return Money(refund.amount_minor, refund.currency) if refund else None


def cancel_lines(uow: UnitOfWork, order: Any, lines: Sequence[Any], event: str, *, actor: str,
                 now: datetime, note: str) -> None:
    """A line follows its order (shop.domain.order_lines): the order's cancelling `event` fired on
    each line still open, after the refund was reckoned from them; their take-backs not yet
    collected lapse with them (RS-V.5.4), the customer told in the caller's `uow.outbox.queued`."""
    moves = {line.id: ORDER_LINE.fire(line.state, event) for line in lines
             if line.state not in (LineState.CANCELLED, LineState.WITHDRAWN)}
    move_lines(uow, order.id, moves, actor=actor, now=now)
    lapse_take_backs(uow, order, [line for line in lines if line.id in moves], actor=actor, now=now, note=note)


def move_lines(uow: UnitOfWork, order_id: str, moves: Mapping[int, Transition[Any]], *, actor: str,
               now: datetime) -> None:
    """Lines moved by their ORDER_LINE transitions (by line id): their states in one statement, each
    move on the order's timeline (its subject the line) in another."""
    uow.orders.set_line_states({line_id: move.to_state for line_id, move in moves.items()})
    uow.timeline.record_entries([entry(order_id, move, actor=actor, now=now, subject_id=line_id)
                                 for line_id, move in moves.items()])
