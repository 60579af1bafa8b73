"""The order's life after placing it: the customer's cancel and the operations steps."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shop.adapters.prepared import in_session
from shop.adapters.stripe_gateway import PaymentProviderError
from shop.adapters.tables import Order, OrderLine, PaymentEvent, Refund, ShippedDevice
from shop.domain import notices
from shop.domain.devices import checked_imei
from shop.domain.errors import Conflict, InvalidInput
from shop.domain.lifecycle import OrderState
from shop.domain.markets import Market
from shop.domain.notices import Cause
from shop.services import stock
from shop.services.context import ShopContext
from shop.services.mail import QueuedEmail, queue_notice, send_after_answer
from shop.services.orders_common import (
    apply_transition, load_lines, load_order, release_open_lines, tell_cancelled,
)
from shop.services.refunds import INSTALLMENT_APPROVED, open_refund, send_refund

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


async def _finish(ctx: ShopContext, order: Order, refunds: Sequence[Refund | None],
                  emails: Sequence[QueuedEmail] = ()) -> None:
    """After the commit: send the refunds; the e-mails follow the answer."""
    for refund in refunds:
        if refund is not None:
            await send_refund(ctx, refund, order.payment_intent_id)
    send_after_answer(ctx, emails)


async def _cancel_unpaid_intent(ctx: ShopContext, order: Order) -> None:
    if order.payment_intent_id is None:
        return
    try:
        await ctx.stripe.cancel_payment_intent(order.payment_intent_id)
    except PaymentProviderError as error:
        # A payment that still arrives is refunded when its webhook comes (services.payments).
        log.warning("could not cancel PaymentIntent %s: %s", order.payment_intent_id, error)


async def cancel_by_customer(ctx: ShopContext, order_id: str, *, customer_id: int, reason: str | None) -> None:
    """RS-IV.5: until the message that delivery has started, the customer may cancel; whatever was
    paid is refunded."""
    await _cancel(ctx, order_id, "cancel", actor=f"customer:{customer_id}", customer_id=customer_id,
                  reason=reason or "cancelled by the customer", cause=Cause.BY_CUSTOMER, clause="RS-IV.5")


async def cancel_out_of_stock(ctx: ShopContext, order_id: str, *, actor: str) -> None:
    """RS-V.5.6: a product is out of stock; the seller cancels and refunds."""
    await _cancel(ctx, order_id, "out_of_stock", actor=actor, customer_id=None,
                  reason="a product is out of stock", cause=Cause.OUT_OF_STOCK, clause="RS-V.5.6")


async def _cancel(ctx: ShopContext, order_id: str, event: str, *, actor: str, customer_id: int | None,
                  reason: str, cause: Cause, clause: str) -> None:
    async with ctx.sessions() as session, session.begin():
        order = await load_order(session, order_id, customer_id=customer_id, lock=True)
        now = await ctx.now(session)
        was_awaiting_payment = order.state == OrderState.AWAITING_PAYMENT
        apply_transition(session, order, event, actor=actor, now=now, reason=reason)
        await release_open_lines(session, await load_lines(session, order.id))
        refund = await open_refund(session, order, amount_minor=None, reason=reason, clause=clause, now=now)
        email = await tell_cancelled(session, order, cause, clause, refund, now)
    if was_awaiting_payment:
        await _cancel_unpaid_intent(ctx, order)
    await _finish(ctx, order, [refund], [email])


async def confirm(ctx: ShopContext, order_id: str, availability: Mapping[int, bool], *, actor: str) -> None:
    """RS-IV.6: the contract covers only the lines confirmed available; the others are cancelled
    and refunded; with none available the order is rejected and everything refunded."""
    async with ctx.sessions() as session, session.begin():
        order = await load_order(session, order_id, lock=True)
        now = await ctx.now(session)
        lines = await load_lines(session, order.id)
        _check_names_every_line(availability, lines)
        available = [line for line in lines if availability[line.id]]  # type: ignore[index]
        unavailable = [line for line in lines if not availability[line.id]]  # type: ignore[index]
        if not available:
            apply_transition(session, order, "reject", actor=actor, now=now,
                             reason="no line is available")
            await release_open_lines(session, lines)
            refund = await open_refund(session, order, amount_minor=None, clause="RS-IV.6",
                                       reason="no line was confirmed available", now=now)
            emails = [await tell_cancelled(session, order, Cause.NONE_AVAILABLE,
                                            "RS-IV.6", refund, now)]
        else:
            emails = []
            apply_transition(session, order, "confirm", actor=actor, now=now,
                             available_lines=len(available),
                             reason=f"{len(available)} of {len(lines)} lines available")
            await release_open_lines(session, unavailable)
            refund = None
            if unavailable:
                refund = await open_refund(
                    session, order, amount_minor=sum(l.unit_price_minor * l.quantity for l in unavailable),
                    reason="lines not available: " + ", ".join(l.sku for l in unavailable),
                    clause="RS-IV.6", now=now)
        for line in lines:
            line.state = "confirmed" if line in available else "cancelled"
            session.add(line)
    await _finish(ctx, order, [refund], emails)


def _check_names_every_line(availability: Mapping[int, bool], lines: Sequence[OrderLine]) -> None:
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
    async with ctx.sessions() as session, session.begin():
        order = await load_order(session, order_id, lock=True)
        now = await ctx.now(session)
        # The state decides first: an order not confirmed has no line to ship (RS-IV.6).
        apply_transition(session, order, "ship", actor=actor, now=now,
                         reason=f"{shipment.carrier} {shipment.tracking_number}")
        lines = [line for line in await load_lines(session, order.id) if line.state == "confirmed"]
        imeis_by_line = _checked_devices(shipment.imeis, lines)
        await _refuse_devices_out(session, imeis_by_line)
        order.carrier, order.tracking_number = shipment.carrier.strip(), shipment.tracking_number.strip()
        for line in lines:
            line.imeis = imeis_by_line.get(line.id, [])  # type: ignore[arg-type]
            session.add(line)
            await stock.ship(session, line.sku, line.quantity)
        session.add_all(ShippedDevice(imei=imei, order_id=order.id, line_id=line.id, shipped_at=now)  # type: ignore[arg-type]
                        for line in lines for imei in line.imeis)
        try:  # written here, not by a later query's autoflush, so that a clash is answered as one
            await session.flush()
        except IntegrityError:  # another order shipped one of them meanwhile (PostgreSQL: its row waited)
            raise Conflict("imei_already_shipped", "one of these IMEIs has just left with another order",
                           clause="RS-IV.5", field="devices") from None
        email = await queue_notice(in_session(session), order, notices.delivery_started(
            Market(order.market), order.number, order.carrier, order.tracking_number), now)
    send_after_answer(ctx, [email])


async def _refuse_devices_out(session: AsyncSession, imeis_by_line: Mapping[int, Sequence[str]]) -> None:
    """RS-IV.5: a device leaves with one order at a time; one that left with another order and did
    not come back (a failed delivery gives it back, RS-V.3) cannot leave again."""
    imeis = [imei for imeis in imeis_by_line.values() for imei in imeis]
    if not imeis:
        return
    out = (await session.exec(select(ShippedDevice.imei, Order.number).join(Order)
                              .where(col(ShippedDevice.imei).in_(imeis)))).first()
    if out is not None:
        imei, number = out
        line_id = next(line_id for line_id, imeis in imeis_by_line.items() if imei in imeis)
        raise Conflict("imei_already_shipped", f"IMEI {imei} left with order {number} and has not come back",
                       clause="RS-IV.5", field=f"devices[line_id={line_id}].imeis")


def _checked_devices(imeis: Mapping[int, Sequence[str]], lines: Sequence[OrderLine]) -> dict[int, list[str]]:
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
        if line.requires_imei and len(checked.get(line.id, [])) != line.quantity:  # type: ignore[arg-type]
            raise InvalidInput("imei_count_mismatch",
                               f"{line.name}: {line.quantity} phone(s) need {line.quantity} IMEI(s)",
                               field=f"devices[line_id={line.id}].imeis")
    return checked


async def deliver(ctx: ShopContext, order_id: str, delivered_at: datetime, *, actor: str) -> None:
    """The carrier's proof of delivery: possession starts the withdrawal period (RS-VII.1)."""
    async with ctx.sessions() as session, session.begin():
        order = await load_order(session, order_id, lock=True)
        now = await ctx.now(session)
        apply_transition(session, order, "deliver", actor=actor, now=now,
                         delivered_at=delivered_at, shipped_at=order.shipped_at,
                         reason=f"delivered at {delivered_at.isoformat()}")
        order.delivered_at = delivered_at


async def delivery_failed(ctx: ShopContext, order_id: str, reason: DeliveryFailure, *, actor: str) -> None:
    """RS-V.3: the seller cancels the delivery for a recorded reason and refunds what was paid.
    The parcel's units come back to stock when staff count them in (the stock endpoint)."""
    async with ctx.sessions() as session, session.begin():
        order = await load_order(session, order_id, lock=True)
        now = await ctx.now(session)
        apply_transition(session, order, "delivery_failed", actor=actor, now=now, reason=reason.value)
        await session.exec(delete(ShippedDevice).where(col(ShippedDevice.order_id) == order.id))  # back with us
        refund = await open_refund(session, order, amount_minor=None, clause="RS-V.3",
                                   reason=f"delivery failed: {reason.value}", now=now)
        email = await tell_cancelled(session, order, Cause.DELIVERY_FAILED, "RS-V.3",
                                      refund, now)
    await _finish(ctx, order, [refund], [email])


async def installment_decision(ctx: ShopContext, order_id: str, approved: bool, *, actor: str) -> None:
    """RS-V.1 exception: an instalment order waits for the provider; declined → cancelled and the
    customer told why."""
    emails: list[QueuedEmail] = []
    async with ctx.sessions() as session, session.begin():
        order = await load_order(session, order_id, lock=True)
        now = await ctx.now(session)
        if approved:
            apply_transition(session, order, "approve_installments", actor=actor, now=now,
                             reason="the instalment provider approved")
            session.add(PaymentEvent(fact_key=f"{order.id}:{INSTALLMENT_APPROVED}", kind=INSTALLMENT_APPROVED,
                                     order_id=order.id, amount_minor=order.total_minor,
                                     currency=order.currency, occurred_at=now, recorded_at=now))
        else:
            reason = "the instalment provider declined the payment"
            apply_transition(session, order, "decline_installments", actor=actor, now=now, reason=reason)
            await release_open_lines(session, await load_lines(session, order.id))
            emails.append(await tell_cancelled(session, order, Cause.INSTALMENTS_DECLINED, "RS-V.1", None, now))
    send_after_answer(ctx, emails)
