"""A device's activation reported (KZ-1, KZ-4.1 ii, KZ-4.2, P-1 Decision): by staff, or line by line
from the activation feed (`make activations`). The first activation of a device counts; the same
report again answers the same, a different one is refused naming the one recorded.

Decided here:
- every device the feed reports is recorded, known to the shop or not; an activation reported before
  the device ships is applied when it ships (`tie_devices`, shop.services.perks);
- an activation cannot lie in the future (T-6: what is judged is when it happened, and it cannot
  have happened yet) nor, for a device the shop sold, before its order was placed (KZ-1);
- the answer lists the device's perks that start from its activation, as they now are: the same
  report again gives the same list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.calendar import as_utc
from shop.domain.devices import checked_imei
from shop.domain.errors import Conflict, InvalidInput
from shop.domain.markets import SUPPORTED_INSTANTS
from shop.domain.perks import Start, perk_terms
from shop.services.context import ShopContext
from shop.services.perks import PerkNow, activate_on, state_now


@dataclass(frozen=True)
class Activated:
    """The device's recorded activation and its perks that start from it, as they now are."""

    activation: Any
    perks: list[PerkNow]
    new: bool
    """Recorded by this report (False: the same report came before)."""


def checked_country(raw: str, *, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code, upper case (KZ-1 judges Kazakhstan, `KZ`)."""
    country = raw.strip().upper() if isinstance(raw, str) else ""
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        raise InvalidInput("invalid_country", f"{raw!r} is not an ISO 3166-1 alpha-2 country code", field=field)
    return country


async def record_activation(ctx: ShopContext, imei: str, *, country: str, activated_at: datetime,
                            source: str) -> Activated:
    """KZ-1: the device's activation recorded (the first counts) and applied to its perks."""
    imei = checked_imei(imei, field="imei")
    country = checked_country(country)
    earliest, latest = SUPPORTED_INSTANTS
    if not earliest <= as_utc(activated_at) < latest:
        raise InvalidInput("activated_at_out_of_range", f"activated_at must be from {earliest.isoformat()} "
                           f"and before {latest.isoformat()}", field="activated_at")
    return await ctx.db.transaction(lambda uow: _record(uow, imei, country, as_utc(activated_at), source))


def _record(uow: UnitOfWork, imei: str, country: str, activated_at: datetime, source: str) -> Activated:
    now = uow.now()
    if activated_at > as_utc(now):
        raise InvalidInput("activated_at_in_future", "activated_at lies in the future", clause="T-6",
                           field="activated_at")
    bundles = uow.perks.bundles_of_imei(imei)
    order = uow.orders.get(bundles[-1].order_id, lock=True) if bundles else None  # the order first
    activation, recorded_now = uow.devices.activation(imei), False
    if activation is None:
        if order is not None and activated_at < as_utc(order.placed_at):
            raise InvalidInput("activated_before_order",
                               f"activated_at is earlier than order {order.number} was placed "
                               f"({as_utc(order.placed_at).isoformat()})", clause="KZ-1", field="activated_at")
        activation, recorded_now = uow.devices.record_first({
            "imei": imei, "country": country, "activated_at": activated_at, "recorded_at": now, "source": source})
        if recorded_now and order is not None:
            activate_on(uow, _of_order(uow, imei, order), activation, actor=source, now=now)
    if (activation.country, as_utc(activation.activated_at)) != (country, activated_at):
        raise Conflict("activation_already_recorded",
                       f"device {imei} was recorded as activated in {activation.country} at "
                       f"{as_utc(activation.activated_at).isoformat()} (by {activation.source}); "
                       "the first activation counts", clause="KZ-1", field="activated_at")
    perks = _of_order(uow, imei, order) if order is not None else []
    terms = {bundle.id: perk_terms(bundle.terms_version) for bundle in bundles}
    return Activated(activation, [
        PerkNow(perk, state_now(perk, now))
        for perk in perks if terms[perk.bundle_id].perk(perk.code).start is Start.DEVICE_ACTIVATION], recorded_now)


def _of_order(uow: UnitOfWork, imei: str, order: Any) -> list[Any]:
    """The perks of the device's bundle in `order`, locked (the order is)."""
    return [perk for perk in uow.perks.of_imei(imei) if perk.order_id == order.id]
