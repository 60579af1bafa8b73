"""The KZ perk bundle on orders (P-1 … P-3): bundles made when a qualifying line is paid and
confirmed, tied to their devices when they ship, and shown on the order as of now.

These are steps of other use cases (`_confirm`, `_ship` in shop.services.orders) and run in their
transactions; the perk's own use cases (activation, redemption, service cases, revocation) build on
the same store, `uow.perks`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shop.adapters.stores.perks import BundleView
from shop.adapters.stores.timeline import entry
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.calendar import as_utc, local_date, waiting_period_opens
from shop.domain.errors import Conflict
from shop.domain.markets import Market
from shop.domain.perk_bundles import grant
from shop.domain.perk_lifecycle import PERK, UNUSED, PerkState, due_event, state_at
from shop.domain.perks import perk_terms
from shop.domain.withdrawal import WithdrawalState

BEING_RETURNED = (WithdrawalState.REQUESTED.value, WithdrawalState.AWAITING_RETURN.value,
                  WithdrawalState.RECEIVED.value)
"""A withdrawal of the device's line still open: its perks cannot be redeemed (P-3)."""


def grant_bundles(uow: UnitOfWork, order: Any, confirmed: Sequence[Any], *, actor: str, now: datetime) -> None:
    """P-1: one bundle per device of each confirmed line that qualifies (KZ-1, KZ-5.3), of the terms
    edition in force on the local date the order was placed, its deadlines computed now; each perk's
    creation on the order's timeline (machine `perk`, subject the perk)."""
    if order.market != Market.KZ:
        return
    purchased_on = local_date(order.placed_at, Market.KZ)
    bundles, perks, entries = [], [], []
    for line in confirmed:
        granted = grant(line.model, order.market, purchased_on)
        if granted is None:
            continue
        for unit in range(1, line.quantity + 1):
            bundle_id = str(uuid.uuid4())
            bundles.append({"id": bundle_id, "order_id": order.id, "line_id": line.id, "unit": unit,
                            "model": line.model, "terms_version": granted.terms.version,
                            "purchased_on": purchased_on, "imei": None, "created_at": now})
            for perk in granted.perks:
                perk_id = str(uuid.uuid4())
                perks.append({"id": perk_id, "bundle_id": bundle_id, "order_id": order.id, "code": perk.code,
                              "state": perk.transition.to_state.value, "clause": perk.clause,
                              "reason": perk.reason, "activate_by": perk.activate_by, "use_by": perk.use_by,
                              "opens_at": None, "lapses_at": perk.lapses_at, "created_at": now,
                              "updated_at": now})
                entries.append(entry(order.id, perk.transition, actor=actor, now=now, subject_id=perk_id,
                                     reason=perk.reason))
    uow.perks.add_bundles(bundles, perks)
    uow.timeline.record_entries(entries)


def tie_devices(uow: UnitOfWork, order: Any, imeis_by_line: Mapping[int, Sequence[str]], *, now: datetime) -> None:
    """P-1: a bundle is tied to its device's IMEI when the device ships (RS-IV.5). A device whose
    activation was reported before it shipped (KZ-1) has it applied now to this order's perks; one
    recorded as earlier than the order was placed is not this sale's activation (a device sent out
    again): its perks keep waiting, for staff."""
    uow.perks.tie_imeis(imeis_by_line)
    activations = uow.devices.activations([imei for imeis in imeis_by_line.values() for imei in imeis])
    for imei, activation in sorted(activations.items()):
        if as_utc(activation.activated_at) < as_utc(order.placed_at):
            continue
        perks = [perk for perk in uow.perks.of_imei(imei) if perk.order_id == order.id]
        activate_on(uow, perks, activation, actor=activation.source, now=now,
                    note="reported before the device shipped")


def activate_on(uow: UnitOfWork, perks: Sequence[Any], activation: Any, *, actor: str, now: datetime,
                note: str | None = None) -> list[Any]:
    """KZ-1, KZ-4.1 ii, KZ-4.2: the device's activation applied to its perks (locked by the caller),
    the clock's due steps taken first. In Kazakhstan, each perk waiting for it is `activated`, to open
    at 00:00 Almaty time after its wait's last day (T-1 Decision), the wait read from the bundle's own
    terms edition; the clock then takes what is already due (a late report: open, or lapsed). Abroad,
    each is `not_available` (KZ-1). The perks moved, as they now are."""
    abroad = activation.country != Market.KZ.value
    terms_of: dict[str, Any] = {}
    moved = []
    for perk in perks:
        perk = catch_up(uow, perk, now=now)
        if perk.state != PerkState.WAITING_FOR_ACTIVATION:
            continue
        at = as_utc(activation.activated_at).isoformat()
        if abroad:
            transition = PERK.fire(perk.state, "activated_abroad")
            reason = f"device activated in {activation.country} at {at}"
            perk = uow.perks.move(perk, transition, now=now, reason="activated_outside_kz", clause="KZ-1")
        else:
            if perk.bundle_id not in terms_of:
                terms_of[perk.bundle_id] = perk_terms(uow.perks.bundle(perk.bundle_id).terms_version)
            wait = terms_of[perk.bundle_id].perk(perk.code).opens_after
            opens_at = waiting_period_opens(activation.activated_at, wait.days if wait else 0, Market.KZ)
            transition = PERK.fire(perk.state, "activate")
            reason = f"device activated in KZ at {at}; opens at {opens_at.isoformat()}"
            perk = uow.perks.move(perk, transition, now=now, opens_at=opens_at)
        uow.timeline.record(perk.order_id, transition, actor=actor, now=now, subject_id=perk.id,
                            reason=f"{reason} ({note})" if note else reason)
        moved.append(catch_up(uow, perk, now=now))
    return moved


def revoke_unused(uow: UnitOfWork, perks: Sequence[Any], *, reason: str, actor: str, now: datetime,
                  note: str | None = None) -> list[Any]:
    """P-3: every unused perk of these (locked by the caller, the clock's due steps taken first) is
    `revoked` with `reason`; a perk redeemed, expired or never available stays as it is. The perks
    revoked, as they now are."""
    revoked = []
    for perk in perks:
        perk = catch_up(uow, perk, now=now)
        if perk.state not in UNUSED:
            continue
        transition = PERK.fire(perk.state, "revoke")
        perk = uow.perks.move(perk, transition, now=now, reason=reason)
        uow.timeline.record(perk.order_id, transition, actor=actor, now=now, subject_id=perk.id,
                            reason=f"{reason}: {note}" if note else reason)
        revoked.append(perk)
    return revoked


def redeemed_on_lines(uow: UnitOfWork, line_ids: Sequence[int]) -> list[Any]:
    """P-3, RS-VII.9, RS-VII.10: the perks already redeemed of the devices of these lines, for the
    refund decision (diminished value): they stay redeemed when the rest is revoked."""
    return uow.perks.on_lines(line_ids, [PerkState.REDEEMED.value])


def refuse_if_being_returned(uow: UnitOfWork, perk: Any) -> None:
    """P-3: while a withdrawal of the device's line is open (requested, awaiting its return,
    received), its perks cannot be used: 409 `device_being_returned`. Called by redemption and by
    opening a service case, on the locked perk, after `catch_up`."""
    bundle = uow.perks.bundle(perk.bundle_id)
    withdrawal = uow.withdrawals.covering(bundle.line_id, BEING_RETURNED)
    if withdrawal is not None:
        raise Conflict("device_being_returned",
                       f"the device is being returned (withdrawal {withdrawal.id}, {withdrawal.state}): "
                       "its perks cannot be redeemed", clause="P-3")


@dataclass(frozen=True)
class PerkNow:
    """A perk as of an instant: its row and the state the clock has brought it to (a perk whose
    window passed shows `expired` before `make expire-perks` records it), and the service cases
    opened under it (KZ-4.5 … 4.7)."""

    row: Any
    state: PerkState
    cases: Sequence[Any] = ()


@dataclass(frozen=True)
class BundleNow:
    row: Any
    perks: tuple[PerkNow, ...]


def state_now(perk: Any, now: datetime) -> PerkState:
    """The state a perk row is in at `now`, the clock's due steps taken (`state_at`), nothing written."""
    return state_at(perk.state, opens_at=perk.opens_at, lapses_at=perk.lapses_at, now=now)


def as_of(views: Sequence[BundleView], now: datetime, cases: Mapping[str, Sequence[Any]] | None = None
          ) -> list[BundleNow]:
    """The bundles with each perk's state at `now` and its service cases (`cases`, by perk id)."""
    cases = cases or {}
    return [BundleNow(view.row, tuple(
        PerkNow(perk, state_now(perk, now),
                cases.get(perk.id, ()))
        for perk in view.perks)) for view in views]


def lock_perk(uow: UnitOfWork, perk_id: str) -> tuple[Any, Any]:
    """The perk's order and the perk, locked in the one order every use case takes them: the order,
    then its perks (then a service case). A perk's timeline entry needs its order (on PostgreSQL a
    key-share lock, as its foreign key), so a perk locked before its order could deadlock with a use
    case that holds the order and waits for the perk (activation, cancellation, a withdrawal's
    refund). 404 when there is no such perk."""
    order = uow.orders.get(uow.perks.get(perk_id).order_id, lock=True)
    return order, uow.perks.get(perk_id, lock=True)


def catch_up(uow: UnitOfWork, perk: Any, *, now: datetime) -> Any:
    """The clock's due steps taken on a perk (locked by the caller) before anything else is done with
    it (open at `opens_at`, expire after `lapses_at`), each written and on the order's timeline by
    actor `clock`, the instant it became due in its reason; the row as it now is."""
    while (event := due_event(perk.state, opens_at=perk.opens_at, lapses_at=perk.lapses_at, now=now)) is not None:
        transition = PERK.fire(perk.state, event)
        reason = (f"opened at {perk.opens_at.isoformat()}" if event == "open"
                  else f"not used by its last moment, {perk.lapses_at.isoformat()}")
        perk = uow.perks.move(perk, transition, now=now, **({"reason": "lapsed"} if event == "expire" else {}))
        uow.timeline.record(perk.order_id, transition, actor="clock", now=now, subject_id=perk.id, reason=reason)
    return perk
