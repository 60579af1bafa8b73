"""What the routes answer about the KZ perk bundle (STOREFRONT-API.md, "Perks (KZ)"): a perk as
judged for a purchase, a device's bundle on its order with each perk and its service cases, and the
perks a withdrawal lists as used (P-3)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from shop.web.out import Instant, Out

PerkCode = Literal["lounge", "spotify", "google_ai_pro", "youtube", "extended_warranty", "screen_repair",
                   "free_labour_repair"]


class PerkEligibilityOut(Out):
    """One perk as judged for a purchase: GET /perks/eligibility and the quote's lines."""

    code: PerkCode
    qualifies: bool
    clause: Annotated[str, msgspec.Meta(
        description="the perk's section when it qualifies, else the clause that refuses it (e.g. KZ-1)")]
    reason: Annotated[str, msgspec.Meta(
        description="why not: market_not_kz, model_not_qualifying, before_perk_terms, "
                    "purchased_before_window, purchased_after_window, activation_deadline_passed, "
                    "opens_after_activation_deadline")] | None
    starts: Literal["purchase", "device_activation"]
    opens_after_activation: Annotated[str, msgspec.Meta(
        description="for perks that start from the device's activation: the wait, described")] | None
    activate_by: Instant | None
    use_by: Instant | None
    redemption: Literal["service_code", "partner_app", "service_case"]
    conditions: list[str]


class RedeemedPerkOut(Out):
    perk_id: str
    code: str
    line_id: int
    redeemed_at: Instant | None


PerkStateName = Literal["waiting_for_activation", "activated", "open", "redeemed", "expired", "revoked",
                        "not_available"]


class PerkCaseOut(Out):
    id: str
    kind: Literal["extended_warranty", "screen_repair", "free_labour_repair"]
    state: Literal["opened", "estimated", "accepted", "declined", "repaired", "refused", "referred"]
    opened_at: Instant
    closed_at: Instant | None
    exclusion: Annotated[str, msgspec.Meta(description="the exclusion that refused it")] | None


class PerkOut(Out):
    id: str
    code: PerkCode
    state: Annotated[PerkStateName, msgspec.Meta(
        description="as of now: a perk whose window passed shows expired (docs/lifecycle-perk.md)")]
    clause: Annotated[str, msgspec.Meta(description="the perk's section, or the clause that refused it (P-2)")]
    reason: Annotated[str, msgspec.Meta(description="why not available, revoked or expired")] | None
    starts: Literal["purchase", "device_activation"]
    redemption: Literal["service_code", "partner_app", "service_case"]
    how: str
    activate_by: Instant | None
    use_by: Instant | None
    opens_at: Annotated[datetime, msgspec.Meta(
        description="for perks that start from the device's activation: when it opens")] | None
    lapses_at: Annotated[datetime, msgspec.Meta(description="its last moment: unused after it, it expires")] | None
    redeemed_at: Instant | None
    code_hint: Annotated[str, msgspec.Meta(description="the service code's last characters, for support")] | None
    service_cases: Annotated[list[PerkCaseOut], msgspec.Meta(
        description="repairs under the perk (KZ-4.5 … 4.7), oldest first")]


class PerkBundleOut(Out):
    id: str
    line_id: int
    unit: Annotated[int, msgspec.Meta(description="which device of the line (1 … quantity): one bundle each")]
    model: str
    imei: Annotated[str, msgspec.Meta(description="tied when the device ships")] | None
    terms_version: Annotated[str, msgspec.Meta(description="the perk terms edition the bundle keeps")]
    purchased_on: Annotated[date, msgspec.Meta(description="P-1: the local (Almaty) date the order was placed")]
    perks: list[PerkOut]
