"""Which perks of the KZ bundle a purchase gets, with their deadlines (KZ-1, KZ-5.3, P-1, P-2).

Pure: a model, a market and the local purchase date (Almaty, P-1 Decision) in; no clock. A perk that
does not qualify is listed with its `reason` and `clause`, never dropped (P-2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shop.domain.calendar import (deadline_after_months, fixed_local_deadline, in_time, start_of_local_day,
                                  waiting_period_opens)
from shop.domain.markets import Market
from shop.domain.perks import (
    PERK_TERMS, DaysAfterActivation, FixedDeadline, MonthsFromPurchase, Perk, PerkTerms, perk_terms_for,
)

KZ = Market.KZ


@dataclass(frozen=True)
class PerkEligibility:
    perk: Perk
    qualifies: bool
    clause: str
    """The perk's own section when it qualifies; the clause that refuses it otherwise."""
    reason: str | None = None
    activate_by: datetime | None = None
    use_by: datetime | None = None
    opens_after: DaysAfterActivation | None = None
    """For perks that start from the device's activation: described, not computed (P-1)."""


@dataclass(frozen=True)
class Eligibility:
    terms: PerkTerms | None
    perks: tuple[PerkEligibility, ...]


def qualifying_model(model: str) -> str | None:
    """The catalogue's spelling of a qualifying model (case and spaces ignored), or None (KZ-5.3)."""
    wanted = " ".join(model.split()).casefold()
    return next((name for name in sorted(PERK_TERMS[-1].perks[0].models) if name.casefold() == wanted), None)


def deadline_instant(rule: FixedDeadline | MonthsFromPurchase, purchased_on: date) -> datetime:
    """A fixed deadline is exact (T-2); a period in months counts from the purchase date (T-2, T-1)."""
    if isinstance(rule, FixedDeadline):
        return fixed_local_deadline(rule.day, rule.wall_time, KZ)
    return deadline_after_months(start_of_local_day(purchased_on, KZ), rule.months, KZ)


def _judge(perk: Perk, purchased_on: date) -> PerkEligibility:
    activate_by = deadline_instant(perk.activate_by, purchased_on) if perk.activate_by else None
    use_by = deadline_instant(perk.use_by, purchased_on) if perk.use_by else None
    common = {"activate_by": activate_by, "use_by": use_by, "opens_after": perk.opens_after}
    window = perk.purchase_window
    if window is not None and not window.contains(purchased_on):
        side = "before" if purchased_on < window.first_day else "after"
        return PerkEligibility(perk, False, window.clause, f"purchased_{side}_window", **common)
    if perk.activate_by is not None and purchased_on > perk.activate_by.day:
        # P-2: the activation deadline had passed on the day of purchase.
        return PerkEligibility(perk, False, perk.activate_by.clause, "activation_deadline_passed", **common)
    if perk.opens_after is not None and activate_by is not None and not in_time(
            earliest_opening(perk.opens_after, purchased_on), activate_by):
        # KZ-3 (lounge_wait): even a device activated on the day of purchase would open the perk
        # only after its activation deadline; it can never be used, so it is not given (P-2).
        return PerkEligibility(perk, False, "KZ-3", "opens_after_activation_deadline", **common)
    return PerkEligibility(perk, True, perk.clause, **common)


def earliest_opening(wait: DaysAfterActivation, purchased_on: date) -> datetime:
    """When a perk that waits after the device's activation opens at the earliest: the device
    activated on the day of purchase (T-1 Decision: at 00:00 Almaty time after the wait's last day)."""
    return waiting_period_opens(start_of_local_day(purchased_on, KZ), wait.days, KZ)


def _refuse_all(perks: tuple[Perk, ...], reason: str, clause: str) -> tuple[PerkEligibility, ...]:
    return tuple(PerkEligibility(perk, False, clause, reason) for perk in perks)


def eligibility(model: str, market: Market | str, purchased_on: date,
                terms: PerkTerms | None = None) -> Eligibility:
    """Every perk for a device of `model` bought in `market` on the local date `purchased_on`.

    `terms` is the edition to judge by (a bundle's own); by default the one in force on that date.
    Refusals in order: market (KZ-1), model (KZ-5.3), no edition yet (RS-XV Decision: the VIP terms
    start 24.09.2025), then per perk its purchase window (KZ-4.1, KZ-4.6) and a fixed activation
    deadline already past on the day of purchase (P-2), and a perk that would open only after its
    activation deadline (KZ-3, `lounge_wait`).
    """
    shown = terms or perk_terms_for(purchased_on) or PERK_TERMS[0]
    if Market(market) is not KZ:
        return Eligibility(None, _refuse_all(shown.perks, "market_not_kz", "KZ-1"))
    if qualifying_model(model) is None:
        return Eligibility(None, _refuse_all(shown.perks, "model_not_qualifying", "KZ-5.3"))
    applied = terms or perk_terms_for(purchased_on)
    if applied is None:
        return Eligibility(None, _refuse_all(shown.perks, "before_perk_terms", "RS-XV"))
    return Eligibility(applied, tuple(_judge(perk, purchased_on) for perk in applied.perks))
