"""P-1, P-2: what a qualifying device gets when its order line is paid and confirmed: one bundle of
the terms edition in force on the local date the order was placed, each perk created in the state
its eligibility says, with its deadlines computed then and its last moment (`lapses_at`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shop.domain.machine import Transition
from shop.domain.perk_eligibility import PerkEligibility, eligibility
from shop.domain.perk_lifecycle import PERK, PerkState
from shop.domain.perks import PerkTerms, Start


@dataclass(frozen=True)
class GrantedPerk:
    code: str
    transition: Transition[PerkState]
    clause: str
    reason: str | None
    activate_by: datetime | None
    use_by: datetime | None
    lapses_at: datetime | None


@dataclass(frozen=True)
class Grant:
    """A device's bundle: the edition it keeps and its perks."""

    terms: PerkTerms
    perks: tuple[GrantedPerk, ...]


def lapses_at(item: PerkEligibility) -> datetime | None:
    """A perk's last moment unused: the deadline to activate it where it has one (KZ-4.1 … 4.4;
    the lounge's `use_by` is the code's own validity, KZ-4.1 v), else its period of use (KZ-4.5 …
    4.7)."""
    return item.activate_by or item.use_by


def _granted(item: PerkEligibility) -> GrantedPerk:
    if not item.qualifies:
        state = PerkState.NOT_AVAILABLE
    elif item.perk.start is Start.DEVICE_ACTIVATION:
        state = PerkState.WAITING_FOR_ACTIVATION
    else:
        state = PerkState.OPEN
    return GrantedPerk(item.perk.code, PERK.start("grant", state), item.clause, item.reason,
                       item.activate_by, item.use_by, lapses_at(item))


def grant(model: str, market: str, purchased_on: date) -> Grant | None:
    """The bundle of one device of `model` ordered in `market` on the local date `purchased_on`, or
    None when the order does not qualify at all (not KZ, not a qualifying model, before the terms:
    KZ-1, KZ-5.3)."""
    judged = eligibility(model, market, purchased_on)
    if judged.terms is None:
        return None
    return Grant(judged.terms, tuple(_granted(item) for item in judged.perks))
