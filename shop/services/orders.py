"""The order's life after placing it: the customer's cancel and the operations steps. Each use case
reads `now`, runs its rules in one transaction (`_confirm`, `_ship` … plain functions of the unit of
work) and, after the commit, asks Stripe for refunds; the e-mails follow the answer."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shop.adapters.stripe_gateway import PaymentProviderError
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain import notices
from shop.domain.devices import checked_imei
from shop.domain.errors import Conflict, InvalidInput
from shop.domain.lifecycle import ORDER, OrderState
from shop.domain.markets import Market
from shop.domain.notices import Cause
from shop.domain.order_lines import ORDER_LINE, LineState
from shop.domain.payment_facts import INSTALLMENT_APPROVED, PaymentFact, fact_key
from shop.domain.price_errors import MarketPrice, check_price_error, check_reason, evidence_note
from shop.services.context import ShopContext
from shop.services.invoices import issue_invoice
from shop.services.mail import queue_notice, send_after_answer
from shop.services.orders_common import (cancel_lines, move_lines, release_open_lines, tell_cancelled,
                                         tell_confirmed, tell_delivered, units_of)
from shop.services.perks import grant_bundles, revoke_unused, tie_devices
from shop.services.refunds import open_refund, send_refund
from shop.services.take_backs import lapse as lapse_take_backs

log = logging.getLogger(__name__)


class DeliveryFailure(StrEnum):
    """RS-V.3: the recorded reasons for which the seller may cancel a delivery."""

    BAD_ADDRESS = "bad_address"  # (i)
    UNREACHABLE = "unreachable"  # (ii)
    ABSENT = "absent"  # (iii)
    FORCE_MAJEURE = "force_majeure"  # (iv)


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking_number: str
    imeis: Mapping[int, Sequence[str]]  # line id -> IMEIs


@dataclass(frozen=True)
class Done:
    """What a transaction leaves to do after its commit: refunds to send, e-mails to send (every one
    it queued: `uow.outbox.queued`, a corrected invoice's too, RS-IV.10)."""

    order: Any
    refunds: Sequence[Any] = ()
    emails: Sequence[Any] = ()
    cancel_intent: bool = False


async def _finish(ctx: ShopContext, done: Done) -> None:
    """After the commit: the unpaid PaymentIntent cancelled, the refunds sent; the e-mails follow
    the answer."""
    if done.cancel_intent and done.order.payment_intent_id is not None:
        try:
            await ctx.stripe.cancel_payment_intent(done.order.payment_intent_id)
        except PaymentProviderError as error:
            # A payment that still arrives is refunded when its webhook comes (services.payments).
            log.warning("could not cancel PaymentIntent %s: %s", done.order.payment_intent_id, error)
    for refund in done.refunds:
        if refund is not None:
            await send_refund(ctx, refund, done.order.payment_intent_id)
    send_after_answer(ctx, done.emails)


async def cancel_by_customer(ctx: ShopContext, order_id: str, *, customer_id: int, reason: str | None) -> None:
    """RS-IV.5: until the message that delivery has started, the customer may cancel; whatever was
    paid is refunded."""
    reason = reason or "cancelled by the customer"
    await _finish(ctx, await ctx.db.transaction(lambda uow: _cancel(
        uow, order_id, "cancel", actor=f"customer:{customer_id}", customer_id=customer_id, reason=reason,
        cause=Cause.BY_CUSTOMER, clause="RS-IV.5")))


async def cancel_out_of_stock(ctx: ShopContext, order_id: str, *, actor: str) -> None:
    """RS-V.5.6: a product is out of stock; the seller cancels and refunds."""
    await _finish(ctx, await ctx.db.transaction(lambda uow: _cancel(
        uow, order_id, "out_of_stock", actor=actor, customer_id=None, reason="a product is out of stock",
        cause=Cause.OUT_OF_STOCK, clause="RS-V.5.6")))


async def cancel_price_error(ctx: ShopContext, order_id: str, evidence: Sequence[MarketPrice], *, reason: str,
                             actor: str) -> None:
    """RS-III.2: the order was placed at an obvious price error, not a promotion's price: the seller
    cancels it before delivery has started and refunds everything, as for any of its cancellations
    (stock released, KZ perks revoked, the customer told why). The customer's own cancellation for a
    price charged too high is RS-IV.5's (`cancel_by_customer`), or after delivery the withdrawal."""
    reason = check_reason(reason)
    await _finish(ctx, await ctx.db.transaction(lambda uow: _price_error(uow, order_id, evidence, reason, actor)))


def _price_error(uow: UnitOfWork, order_id: str, evidence: Sequence[MarketPrice], reason: str, actor: str) -> Done:
    order = uow.orders.get(order_id, lock=True)
    ORDER.fire(order.state, "price_error")  # the state decides first: 409 once delivery has started
    priced = check_price_error(coupon_code=order.coupon_code, lines=uow.orders.lines(order.id), evidence=evidence)
    uow.orders.keep_market_prices({line.id: market for line, market in priced})
    return _cancel(uow, order_id, "price_error", actor=actor, customer_id=None, reason=reason,
                   note=evidence_note(reason, priced, order.currency), cause=Cause.PRICE_ERROR, clause="RS-III.2")


def _cancel(uow: UnitOfWork, order_id: str, event: str, *, actor: str, customer_id: int | None,
            reason: str, cause: Cause, clause: str, note: str | None = None) -> Done:
    """Cancel the order by `event`, refund what it keeps for `reason`; `note`, where given, is the
    timeline's reason instead (staff's evidence with it)."""
    order = uow.orders.get(order_id, customer_id=customer_id, lock=True)
    now = uow.now()
    _move(uow, order, event, actor=actor, now=now, reason=note or reason)
    lines = uow.orders.lines(order.id)
    release_open_lines(uow, lines)
    _revoke_perks(uow, order, lines, actor=actor, now=now, note=reason)
    refund = open_refund(uow, order, amount_minor=None, reason=reason, clause=clause, now=now)
    cancel_lines(uow, order, lines, event, actor=actor, now=now, note=reason)
    tell_cancelled(uow, order, cause, clause, refund, now)
    return Done(order, [refund], uow.outbox.queued, cancel_intent=order.state == OrderState.AWAITING_PAYMENT)


def _revoke_perks(uow: UnitOfWork, order: Any, lines: Sequence[Any], *, actor: str, now: datetime,
                  note: str) -> None:
    """P-3: an order cancelled after confirmation (cancel, out of stock, a failed delivery) revokes
    every unused perk of its bundles; an order cancelled before has none (they are made on
    confirmation, P-1), nor has one rejected (RS-IV.6: no line confirmed), nor any but a KZ order."""
    if order.market != Market.KZ:
        return
    revoke_unused(uow, uow.perks.of_lines([line.id for line in lines]), reason="order_cancelled", actor=actor,
                  now=now, note=note)


def _move(uow: UnitOfWork, order: Any, event: str, *, actor: str, now: datetime, reason: str | None = None,
          facts: Mapping[str, Any] | None = None, **guard_context: Any) -> None:
    """Fire `event` on the order (its guards see `guard_context`), move it with `facts` beside its
    state, and record the move on its timeline, in the caller's transaction."""
    transition = ORDER.fire(order.state, event, now=now, **guard_context)
    uow.orders.move(order, transition, now, **(facts or {}))
    uow.timeline.record(order.id, transition, actor=actor, now=now, reason=reason)


async def confirm(ctx: ShopContext, order_id: str, availability: Mapping[int, bool], *, actor: str) -> None:
    """RS-IV.6: the contract covers only the lines confirmed available; the others are cancelled
    and refunded; with none available the order is rejected and everything refunded."""
    await _finish(ctx, await ctx.db.transaction(lambda uow: _confirm(uow, order_id, availability, actor)))


def _confirm(uow: UnitOfWork, order_id: str, availability: Mapping[int, bool], actor: str) -> Done:
    order = uow.orders.get(order_id, lock=True)
    now = uow.now()
    lines = uow.orders.lines(order.id)
    _check_names_every_line(availability, lines)
    available = [line for line in lines if availability[line.id]]
    unavailable = [line for line in lines if not availability[line.id]]
    refund = None
    if not available:
        _move(uow, order, "reject", actor=actor, now=now, reason="no line is available")
        release_open_lines(uow, lines)
        refund = open_refund(uow, order, amount_minor=None, clause="RS-IV.6",
                             reason="no line was confirmed available", now=now)
        tell_cancelled(uow, order, Cause.NONE_AVAILABLE, "RS-IV.6", refund, now)
    else:
        _move(uow, order, "confirm", actor=actor, now=now, available_lines=len(available),
              reason=f"{len(available)} of {len(lines)} lines available")
        release_open_lines(uow, unavailable)
        if unavailable:
            refund = open_refund(
                uow, order, amount_minor=sum(line.unit_price_minor * line.quantity for line in unavailable),
                reason="lines not available: " + ", ".join(line.sku for line in unavailable),
                clause="RS-IV.6", now=now)
        tell_confirmed(uow, order, available, unavailable, refund, now)
        issue_invoice(uow, order, available, now)  # RS-IV.8–9: of the contract, after the refund of the rest
        grant_bundles(uow, order, available, actor=actor, now=now)  # P-1: paid and confirmed
    _settle_lines(uow, order, lines, availability, actor, now)
    return Done(order, [refund], uow.outbox.queued)


def _settle_lines(uow: UnitOfWork, order: Any, lines: Sequence[Any], availability: Mapping[int, bool],
                  actor: str, now: datetime) -> None:
    """RS-IV.6: each line confirmed available joins the contract, each other one is left out; every
    line's move on the order's timeline (its subject the line), in one statement for all. A line left
    out takes its take-backs not yet collected with it (RS-V.5.4), the customer told in the caller's
    `uow.outbox.queued`."""
    moves = {line.id: ORDER_LINE.fire(line.state, "confirm" if availability[line.id] else "unavailable")
             for line in lines}
    move_lines(uow, order.id, moves, actor=actor, now=now)
    left_out = [line for line in lines if moves[line.id].to_state == LineState.CANCELLED]
    lapse_take_backs(uow, order, left_out, actor=actor, now=now, note="the line was not confirmed available")


def _check_names_every_line(availability: Mapping[int, bool], lines: Sequence[Any]) -> None:
    ids = {line.id for line in lines}
    unknown = set(availability) - ids
    if unknown:
        raise InvalidInput("unknown_line", f"no line {sorted(unknown)} in this order", field="lines")
    missing = ids - set(availability)
    if missing:
        raise InvalidInput("line_not_named", f"say whether line(s) {sorted(missing)} are available",
                           clause="RS-IV.6", field="lines")


async def ship(ctx: ShopContext, order_id: str, shipment: Shipment, *, actor: str) -> None:
    """RS-IV.5: delivery starts; phones leave with their IMEIs (15 digits, valid check digit)."""
    if not shipment.carrier.strip():
        raise InvalidInput("carrier_missing", "carrier is required", field="carrier")
    if not shipment.tracking_number.strip():
        raise InvalidInput("tracking_number_missing", "tracking_number is required", field="tracking_number")
    email = await ctx.db.transaction(lambda uow: _ship(uow, order_id, shipment, actor))
    send_after_answer(ctx, [email])


def _ship(uow: UnitOfWork, order_id: str, shipment: Shipment, actor: str) -> Any:
    order = uow.orders.get(order_id, lock=True)
    now = uow.now()
    carrier, tracking = shipment.carrier.strip(), shipment.tracking_number.strip()
    # The state decides first: an order not confirmed has no line to ship (RS-IV.6).
    transition = ORDER.fire(order.state, "ship", now=now)
    lines = [line for line in uow.orders.lines(order.id) if line.state == LineState.CONFIRMED]
    imeis_by_line = _checked_devices(shipment.imeis, lines)
    _refuse_devices_out(uow, imeis_by_line)
    uow.orders.move(order, transition, now, carrier=carrier, tracking_number=tracking)
    uow.timeline.record(order.id, transition, actor=actor, now=now,
                        reason=f"{shipment.carrier} {shipment.tracking_number}")
    uow.orders.ship_lines({line.id: imeis_by_line.get(line.id, []) for line in lines}, order.id, now)
    tie_devices(uow, order, imeis_by_line, now=now)
    uow.products.ship(units_of(lines))
    return queue_notice(uow, order, notices.delivery_started(Market(order.market), order.number, carrier,
                                                             tracking), now)


def _refuse_devices_out(uow: UnitOfWork, imeis_by_line: Mapping[int, Sequence[str]]) -> None:
    """RS-IV.5: a device leaves with one order at a time; one that left with another order and did
    not come back (a failed delivery gives it back, RS-V.3) cannot leave again."""
    out = uow.orders.device_out([imei for imeis in imeis_by_line.values() for imei in imeis])
    if out is not None:
        line_id = next(line_id for line_id, imeis in imeis_by_line.items() if out.imei in imeis)
        raise Conflict("imei_already_shipped", f"IMEI {out.imei} left with order {out.number} and has not come back",
                       clause="RS-IV.5", field=f"devices[line_id={line_id}].imeis")


def _checked_devices(imeis: Mapping[int, Sequence[str]], lines: Sequence[Any]) -> dict[int, list[str]]:
    by_id = {line.id: line for line in lines}
    checked: dict[int, list[str]] = {}
    seen: set[str] = set()
    for line_id, raw_imeis in imeis.items():
        line = by_id.get(line_id)
        field = f"devices[line_id={line_id}]"
        if line is None:
            raise InvalidInput("unknown_line", f"no confirmed line {line_id} in this order", field=field)
        if not line.requires_imei:
            raise InvalidInput("imei_not_expected", f"{line.name} is not a device with an IMEI", field=field)
        checked[line_id] = [checked_imei(raw, field=f"{field}.imeis") for raw in raw_imeis]
        for imei in checked[line_id]:
            if imei in seen:
                raise InvalidInput("duplicate_imei", f"IMEI {imei} is given twice", field=f"{field}.imeis")
            seen.add(imei)
    for line in lines:
        if line.requires_imei and len(checked.get(line.id, [])) != line.quantity:
            raise InvalidInput("imei_count_mismatch",
                               f"{line.name}: {line.quantity} phone(s) need {line.quantity} IMEI(s)",
                               field=f"devices[line_id={line.id}].imeis")
    return checked


async def deliver(ctx: ShopContext, order_id: str, delivered_at: datetime, *, actor: str,
                  signed_by: str | None = None) -> None:
    """The carrier's proof of delivery: possession starts the withdrawal period (RS-VII.1), and the
    customer is told when it ends. Who signed for it, where the carrier's proof names them
    (RS-V.5.7: delivery is signed for), is kept on the timeline with it."""
    email = await ctx.db.transaction(lambda uow: _deliver(uow, order_id, delivered_at, actor, signed_by))
    send_after_answer(ctx, [email])


def _deliver(uow: UnitOfWork, order_id: str, delivered_at: datetime, actor: str, signed_by: str | None) -> Any:
    order = uow.orders.get(order_id, lock=True)
    now = uow.now()
    signed = f", signed for by {signed_by.strip()}" if signed_by and signed_by.strip() else ""
    _move(uow, order, "deliver", actor=actor, now=now, facts={"delivered_at": delivered_at},
          delivered_at=delivered_at, shipped_at=order.shipped_at,
          reason=f"delivered at {delivered_at.isoformat()}{signed}")
    return tell_delivered(uow, order, delivered_at, now)


async def delivery_failed(ctx: ShopContext, order_id: str, reason: DeliveryFailure, *, actor: str) -> None:
    """RS-V.3: the seller cancels the delivery for a recorded reason and refunds what was paid.
    The parcel's units come back to stock when staff count them in (the stock endpoint)."""
    await _finish(ctx, await ctx.db.transaction(lambda uow: _delivery_failed(uow, order_id, reason, actor)))


def _delivery_failed(uow: UnitOfWork, order_id: str, reason: DeliveryFailure, actor: str) -> Done:
    order = uow.orders.get(order_id, lock=True)
    now = uow.now()
    _move(uow, order, "delivery_failed", actor=actor, now=now, reason=reason.value)
    uow.orders.return_devices(order.id)  # back with us
    lines = uow.orders.lines(order.id)
    _revoke_perks(uow, order, lines, actor=actor, now=now, note=f"delivery failed: {reason.value}")
    refund = open_refund(uow, order, amount_minor=None, clause="RS-V.3",
                         reason=f"delivery failed: {reason.value}", now=now)
    cancel_lines(uow, order, lines, "delivery_failed", actor=actor, now=now, note=f"delivery failed: {reason.value}")
    tell_cancelled(uow, order, Cause.DELIVERY_FAILED, "RS-V.3", refund, now)
    return Done(order, [refund], uow.outbox.queued)


async def installment_decision(ctx: ShopContext, order_id: str, approved: bool, *, actor: str) -> None:
    """RS-V.1 exception: an instalment order waits for the provider; declined → cancelled and the
    customer told why."""
    await _finish(ctx, await ctx.db.transaction(lambda uow: _installment_decision(uow, order_id, approved, actor)))


def _installment_decision(uow: UnitOfWork, order_id: str, approved: bool, actor: str) -> Done:
    order = uow.orders.get(order_id, lock=True)
    now = uow.now()
    if approved:
        _move(uow, order, "approve_installments", actor=actor, now=now, reason="the instalment provider approved")
        uow.ledger.append([PaymentFact(fact_key(order.id, INSTALLMENT_APPROVED), INSTALLMENT_APPROVED, order.id,
                                       None, now, now, order.total_minor, order.currency)])
        return Done(order)
    _move(uow, order, "decline_installments", actor=actor, now=now,
          reason="the instalment provider declined the payment")
    lines = uow.orders.lines(order.id)
    release_open_lines(uow, lines)
    cancel_lines(uow, order, lines, "decline_installments", actor=actor, now=now,
                  note="the instalment provider declined the payment")
    return Done(order, emails=[tell_cancelled(uow, order, Cause.INSTALMENTS_DECLINED, "RS-V.1", None, now)])
