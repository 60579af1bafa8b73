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
from shop.domain.calendar import local_date
from shop.domain.markets import Market
from shop.domain.perk_bundles import grant
from shop.domain.perk_lifecycle import PERK, PerkState, due_event, state_at


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


def tie_devices(uow: UnitOfWork, imeis_by_line: Mapping[int, Sequence[str]]) -> None:
    """P-1: a bundle is tied to its device's IMEI when the device ships (RS-IV.5)."""
    uow.perks.tie_imeis(imeis_by_line)


@dataclass(frozen=True)
class PerkNow:
    """A perk as of an instant: its row and the state the clock has brought it to (a perk whose
    window passed shows `expired` before `make sweep` records it)."""

    row: Any
    state: PerkState


@dataclass(frozen=True)
class BundleNow:
    row: Any
    perks: tuple[PerkNow, ...]


def as_of(views: Sequence[BundleView], now: datetime) -> list[BundleNow]:
    return [BundleNow(view.row, tuple(
        PerkNow(perk, state_at(perk.state, opens_at=perk.opens_at, lapses_at=perk.lapses_at, now=now))
        for perk in view.perks)) for view in views]


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
