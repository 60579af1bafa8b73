"""Repairs and warranty under the KZ perks (KZ-4.5, KZ-4.6, KZ-4.7): the `SERVICE_CASE` lifecycle and
its rules as plain functions.

A service case is opened by staff for a device the shop sold (its bundle tied to the IMEI, P-1) under
one of its three repair perks, while that perk is open. Then:
- an exclusion of that perk's own list applies (shop.domain.perk_exclusions): `refused`, staff
  record which; the perk stays open;
- extended warranty (KZ-4.5): repaired free; several cases in the 24 months, the perk never redeemed;
- screen (KZ-4.6): the screen replaced free, the perk redeemed (once); a screen beyond repair, the
  device to be replaced, is `referred` to the standard warranty (Decision: a step, not an
  exclusion — it is none of the seed's list; the perk stays open);
- free labour (KZ-4.7): an estimate of parts and logistics (and the inspection's price) first; the
  customer accepts (the perk redeemed, the repair then done with labour free) or declines (the device
  returned, the customer pays the inspection and the logistics; the perk stays open).

KZ-5.4: these terms prevail over the general warranty's: the warranty period is the perk's 24 months
(its `use_by`, shop.domain.perks), not the general one, and a case is judged by the perk's rules here.

RS-IX: these are commercial warranties; they add to the legal guarantee of conformity, never replace
it. A case open, refused or done under a perk takes nothing from a claim under RS-VI
(shop.domain.conformity reads no perk and no case), and a claim takes nothing from the perk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shop.domain.calendar import in_time
from shop.domain.errors import Conflict, InvalidInput
from shop.domain.machine import Lifecycle, Step
from shop.domain.perk_exclusions import (
    EXTENDED_WARRANTY_EXCLUSIONS, FREE_LABOUR_EXCLUSIONS, SCREEN_REPAIR_EXCLUSIONS,
)
from shop.domain.perk_lifecycle import PerkState


class CaseKind(StrEnum):
    """The perk a case is under: its code in the catalogue (shop.domain.perks)."""

    EXTENDED_WARRANTY = "extended_warranty"  # KZ-4.5
    SCREEN_REPAIR = "screen_repair"  # KZ-4.6
    FREE_LABOUR_REPAIR = "free_labour_repair"  # KZ-4.7


class ServiceCaseState(StrEnum):
    OPENED = "opened"
    ESTIMATED = "estimated"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REPAIRED = "repaired"
    REFUSED = "refused"
    REFERRED = "referred"


C, K = ServiceCaseState, CaseKind
CLAUSE = {K.EXTENDED_WARRANTY: "KZ-4.5", K.SCREEN_REPAIR: "KZ-4.6", K.FREE_LABOUR_REPAIR: "KZ-4.7"}
EXCLUSIONS = {K.EXTENDED_WARRANTY: EXTENDED_WARRANTY_EXCLUSIONS, K.SCREEN_REPAIR: SCREEN_REPAIR_EXCLUSIONS,
              K.FREE_LABOUR_REPAIR: FREE_LABOUR_EXCLUSIONS}
ONCE = frozenset({K.SCREEN_REPAIR, K.FREE_LABOUR_REPAIR})
"""KZ-4.6, KZ-4.7 (Condition.ONCE_PER_DEVICE): the repair done under them redeems the perk."""
OPEN_STATES = (C.OPENED, C.ESTIMATED, C.ACCEPTED)
"""A case not yet closed: a perk has one such case at a time."""
MOST_MINOR = 100_000_000
"""The largest amount of an estimate, in minor units (1,000,000 KZT: three times the dearest 15T Pro);
more is a typing mistake, refused."""
SHARED_WITH_SERVICE_CENTRE = {  # KZ-5.1
    "customer": ("name", "phone", "email"),
    "device": ("model", "imei"),
}
"""KZ-5.1: only the contact data the service needs and the device's data go to the service centre;
never the address, the birth date or the payment. (The ID number the clause also names the shop does
not hold: the service centre asks for it.)"""


def _kind_is(*kinds: CaseKind) -> Any:
    def guard(*, kind: str | None = None, **_: Any) -> bool:
        if kind is not None and CaseKind(kind) not in kinds:
            raise Conflict("not_for_this_kind",
                           f"a {kind} case does not take this step (only {', '.join(kinds)})",
                           clause=CLAUSE[CaseKind(kind)])
        return True
    guard.__name__ = f"kind_is_{'_or_'.join(kinds)}"
    return guard


SERVICE_CASE_STEPS: tuple[Step[ServiceCaseState], ...] = (
    Step("claim_warranty", (), C.OPENED, "KZ-4.5",
         "a defect claimed under the warranty extended to 24 months from purchase (KZ-5.4: this period "
         "prevails over the general warranty's)"),
    Step("claim_screen", (), C.OPENED, "KZ-4.6",
         "a screen damaged unintentionally, claimed within 6 months of purchase, the perk not used yet"),
    Step("claim_free_labour", (), C.OPENED, "KZ-4.7",
         "an out-of-warranty repair claimed within 12 months of purchase, the perk not used yet"),
    Step("refuse", (C.OPENED,), C.REFUSED, "KZ-4.5",
         "an exclusion of the perk's own list applies (KZ-4.5, KZ-4.6, KZ-4.7), recorded by staff: "
         "repair only at the customer's cost; the perk is not used"),
    Step("repair_under_warranty", (C.OPENED,), C.REPAIRED, "KZ-4.5",
         "the defect repaired, or the device replaced, free under the extended warranty; the perk "
         "stays open for its 24 months", (_kind_is(K.EXTENDED_WARRANTY),)),
    Step("replace_screen", (C.OPENED,), C.REPAIRED, "KZ-4.6",
         "the screen replaced free: the perk is redeemed (once)", (_kind_is(K.SCREEN_REPAIR),)),
    Step("refer", (C.OPENED,), C.REFERRED, "KZ-4.6",
         "the device cannot be repaired and must be replaced: the standard warranty governs it; the "
         "perk is not used", (_kind_is(K.SCREEN_REPAIR),)),
    Step("estimate", (C.OPENED,), C.ESTIMATED, "KZ-4.7",
         "inspected: the estimate of parts and logistics (labour free) and the inspection's price",
         (_kind_is(K.FREE_LABOUR_REPAIR),)),
    Step("accept", (C.ESTIMATED,), C.ACCEPTED, "KZ-4.7",
         "the customer accepts the estimate: the perk is redeemed (the one free-labour repair); parts "
         "and logistics are the customer's"),
    Step("decline", (C.ESTIMATED,), C.DECLINED, "KZ-4.7",
         "the customer declines: the device is returned, the customer pays the inspection and the "
         "logistics; the perk is not used"),
    Step("repair", (C.ACCEPTED,), C.REPAIRED, "KZ-4.7",
         "repaired as estimated, labour free"),
)

SERVICE_CASE: Lifecycle[ServiceCaseState] = Lifecycle(
    "service case", ServiceCaseState, SERVICE_CASE_STEPS, initial=(C.OPENED,),
    final=(C.REPAIRED, C.REFUSED, C.REFERRED, C.DECLINED),
)

CLAIM = {K.EXTENDED_WARRANTY: "claim_warranty", K.SCREEN_REPAIR: "claim_screen",
         K.FREE_LABOUR_REPAIR: "claim_free_labour"}
COMPLETE = {K.EXTENDED_WARRANTY: "repair_under_warranty", K.SCREEN_REPAIR: "replace_screen",
            K.FREE_LABOUR_REPAIR: "repair"}
"""The step `complete` takes for each kind of case."""
REDEEMS = {"replace_screen", "accept"}
"""KZ-4.6, KZ-4.7: the steps that use the once-only perk up."""


# --- the rules -------------------------------------------------------------------------------------

def check_perk_open(kind: CaseKind, perk_state: PerkState | str, *, lapses_at: datetime | None,
                    now: datetime) -> None:
    """KZ-4.5 … KZ-4.7: a case is opened only under a perk open now (the clock's steps taken first):
    past its period (`use_by`), used once already, revoked (P-3) or never available (P-2) is a 409
    with the clause that says so."""
    state, clause = PerkState(perk_state), CLAUSE[kind]
    if state is PerkState.OPEN and (lapses_at is None or in_time(now, lapses_at)):
        return
    if state is PerkState.EXPIRED or state is PerkState.OPEN:
        until = f" ({lapses_at.isoformat()})" if lapses_at else ""
        raise Conflict("perk_period_over", f"the {kind} perk's period is over{until}", clause=clause)
    if state is PerkState.REDEEMED:
        raise Conflict("perk_already_used", f"the {kind} perk gives one repair and it was used", clause=clause)
    if state is PerkState.REVOKED:
        raise Conflict("perk_revoked", f"the {kind} perk was revoked (the device withdrawn or returned)",
                       clause="P-3")
    if state is PerkState.NOT_AVAILABLE:
        raise Conflict("perk_not_available", f"the {kind} perk was not available for this purchase",
                       clause="P-2")
    raise Conflict("perk_not_open", f"the {kind} perk is {state.value}, not open", clause=clause)


def check_no_open_case(open_cases: int, kind: CaseKind) -> None:
    """One open case per perk at a time: a second claim waits for the first to close."""
    if open_cases:
        raise Conflict("case_already_open", f"this device already has an open {kind} case",
                       clause=CLAUSE[kind])


def check_fault(fault: str) -> str:
    fault = fault.strip()
    if not fault:
        raise InvalidInput("fault_blank", "say what is wrong with the device", field="fault")
    return fault


def check_exclusion(kind: CaseKind, exclusion: str) -> str:
    """KZ-4.5, KZ-4.6, KZ-4.7: a refusal names an exclusion of that perk's own list."""
    if exclusion not in EXCLUSIONS[kind]:
        raise InvalidInput("exclusion_not_of_this_perk",
                           f"'{exclusion}' is not an exclusion of the {kind} perk "
                           f"(one of: {', '.join(EXCLUSIONS[kind])})", clause=CLAUSE[kind], field="exclusion")
    return exclusion


@dataclass(frozen=True)
class Estimate:
    """KZ-4.7: parts and logistics (labour free), and the inspection's price, in the order's currency."""

    parts_minor: int
    logistics_minor: int
    inspection_minor: int

    def __post_init__(self) -> None:
        for name in ("parts_minor", "logistics_minor", "inspection_minor"):
            value = getattr(self, name)
            if not 0 <= value <= MOST_MINOR:
                raise InvalidInput("amount_out_of_range", f"{name} must be between 0 and {MOST_MINOR}",
                                   field=name)


def customer_pays(state: ServiceCaseState | str, *, parts_minor: int | None, logistics_minor: int | None,
                  inspection_minor: int | None) -> int | None:
    """KZ-4.7: what the customer owes the service centre: accepted, parts and logistics (labour is
    free); declined, the inspection and the logistics; else nothing decided (None)."""
    state = ServiceCaseState(state)
    if parts_minor is None or logistics_minor is None or inspection_minor is None:
        return None
    if state in (C.ACCEPTED, C.REPAIRED):
        return parts_minor + logistics_minor
    if state is C.DECLINED:
        return inspection_minor + logistics_minor
    return None


def service_centre_data(*, name: str, phone: str | None, email: str, model: str, imei: str
                        ) -> dict[str, dict[str, str | None]]:
    """KZ-5.1: what goes to the service centre, built field by field from SHARED_WITH_SERVICE_CENTRE
    and nothing else."""
    given = {"customer": {"name": name, "phone": phone, "email": email}, "device": {"model": model, "imei": imei}}
    return {part: {field: given[part][field] for field in fields}
            for part, fields in SHARED_WITH_SERVICE_CENTRE.items()}
