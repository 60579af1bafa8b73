"""The Xiaomi 15T / 15T Pro VIP perk bundle of Kazakhstan as data (seed 000, KZ-1 … KZ-5.4).

Each `Perk` is meant to be checked line by line against the Russian text: every figure carries the
clause and the seed's own words (`source`). The catalogue is versioned (`PerkTerms`): a bundle keeps
the version id it was made with, so a later edition never changes it. Eligibility is in
`shop.domain.perk_eligibility`; the seed's conflicts and the decisions taken are in `CONFLICTS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum

from shop.domain.perk_conflicts import CONFLICTS, SeedConflict
from shop.domain.perk_exclusions import (
    EXTENDED_WARRANTY_EXCLUSIONS, FREE_LABOUR_EXCLUSIONS, SCREEN_REPAIR_EXCLUSIONS,
)

QUALIFYING_MODELS = frozenset({"Xiaomi 15T", "Xiaomi 15T Pro"})  # KZ-1, KZ-5.3
SEED = "seeds/000_8f9c8761baedfcd5.txt"
BY_2359 = time(23, 59)


class Start(StrEnum):
    """What a perk's availability counts from (P-1 Decision)."""

    PURCHASE = "purchase"
    DEVICE_ACTIVATION = "device_activation"  # activation of the device in Kazakhstan (KZ-1)


class Redemption(StrEnum):
    SERVICE_CODE = "service_code"  # IMEI redemption form → one-time code by e-mail (KZ-4.1, KZ-4.2)
    PARTNER_APP = "partner_app"  # the partner's own app; the shop shows how and until when (KZ-4.3, 4.4)
    SERVICE_CASE = "service_case"  # an authorised service centre opens a case (KZ-4.5 … 4.7)


class Condition(StrEnum):
    ADULT = "18+"  # "только для лиц старше 18 лет" (KZ-4.2, KZ-4.3)
    NEW_PARTNER_USER = "new_partner_user"  # new user of the partner's premium service (KZ-4.2, KZ-4.4)
    INDIVIDUAL_PLAN = "individual_plan"  # "индивидуальный тариф" (KZ-4.2)
    ONE_PERSON = "one_person"  # the buyer alone enters the lounge (KZ-4.1)
    ONCE_PER_DEVICE = "once_per_device"  # one per IMEI (KZ-1, KZ-4.6, KZ-4.7)


@dataclass(frozen=True)
class PurchaseWindow:
    """Local dates in Almaty, both included ("с … по …")."""

    first_day: date
    last_day: date
    clause: str
    source: str

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


@dataclass(frozen=True)
class FixedDeadline:
    """A date and minute in Almaty time, exact and never rolled (T-2): `fixed_local_deadline`."""

    day: date
    wall_time: time
    clause: str
    source: str


@dataclass(frozen=True)
class MonthsFromPurchase:
    """A period in months from the purchase date (T-2): ends at the end of the day with the same
    number, clamped to the month's end, rolled to the next working day (T-1)."""

    months: int
    clause: str
    source: str


@dataclass(frozen=True)
class DaysAfterActivation:
    """A waiting period from the device's activation: opens at 00:00 local of the day after its last
    day, never lengthened (T-1 Decision). Described here; computed once activation is recorded."""

    days: int
    clause: str
    source: str

    def describe(self) -> str:
        return f"opens {self.days} days after the device's activation in Kazakhstan (00:00 Almaty time)"


@dataclass(frozen=True)
class Trial:
    """How long the partner's free subscription runs once activated, in months (KZ-2 ii … iv). The
    partner runs it and bills after it unless cancelled (4.2 … 4.4); the shop shows it and computes
    nothing from it."""

    months: int
    clause: str
    source: str


@dataclass(frozen=True)
class Perk:
    code: str
    clause: str
    benefit: str
    models: frozenset[str]
    start: Start
    redemption: Redemption
    how: str
    purchase_window: PurchaseWindow | None = None
    opens_after: DaysAfterActivation | None = None
    activate_by: FixedDeadline | None = None
    use_by: FixedDeadline | MonthsFromPurchase | None = None
    trial: Trial | None = None
    conditions: tuple[Condition, ...] = ()
    exclusions: tuple[str, ...] = ()


@dataclass(frozen=True)
class PerkTerms:
    """One edition of the VIP terms. A bundle stores `version`; `perk_terms(version)` gives it back."""

    version: str
    effective_from: date
    effective_until: date | None
    """Last local purchase date it applies to; None while it is the edition in force."""
    source: str
    perks: tuple[Perk, ...]
    conflicts: tuple[SeedConflict, ...]

    def applies_to(self, purchased_on: date) -> bool:
        return self.effective_from <= purchased_on and (
            self.effective_until is None or purchased_on <= self.effective_until)

    def perk(self, code: str) -> Perk:
        return next(perk for perk in self.perks if perk.code == code)


PERKS_2025_09_24 = (
    Perk(
        "lounge", "KZ-4.1", "one DragonPass airport-lounge visit (KZ-2 i)", QUALIFYING_MODELS,
        Start.DEVICE_ACTIVATION, Redemption.SERVICE_CODE,
        "IMEI redemption form while logged in with Mi ID → a link to a one-time service code by e-mail",
        purchase_window=PurchaseWindow(date(2025, 9, 24), date(2025, 10, 31), "KZ-4.1",
                                       "4.1: «приобретший устройство в период с 24.09.2025 по 31.10.2025»"),
        opens_after=DaysAfterActivation(14, "KZ-4.1", "4.1 ii: «через 14 дней после активации устройства»"),
        activate_by=FixedDeadline(date(2025, 10, 31), BY_2359, "KZ-4.1",
                                  "3, 4.1: «необходимо активировать её до 31.10.2025» (see lounge_dates)"),
        use_by=FixedDeadline(date(2026, 3, 25), BY_2359, "KZ-4.1",
                             "4.1 v: «Сервисный код действует до 25.03.2026»"),
        conditions=(Condition.ONE_PERSON, Condition.ONCE_PER_DEVICE),
    ),
    Perk(
        "spotify", "KZ-4.2", "Spotify Premium, 4 months free, individual plan (KZ-2 ii)", QUALIFYING_MODELS,
        Start.DEVICE_ACTIVATION, Redemption.SERVICE_CODE,
        "IMEI redemption form (device type, purchase channel, IMEI, e-mail, confirmation code) → a link "
        "to a service code by e-mail; then «Мой аккаунт» → «Получить Spotify Premium» in the Spotify app",
        opens_after=DaysAfterActivation(1, "KZ-4.2", "4.2: «через 1 день с даты активации устройства»"),
        activate_by=FixedDeadline(date(2026, 8, 8), BY_2359, "KZ-3",
                                  "4.2: «до 8 августа 2026 года, 23:59» (3 says 11:59: spotify_deadline)"),
        trial=Trial(4, "KZ-4.2", "2 ii, 3, 4.2: «Четыре месяца подписки Spotify Premium бесплатно»"),
        conditions=(Condition.ADULT, Condition.NEW_PARTNER_USER, Condition.INDIVIDUAL_PLAN,
                    Condition.ONCE_PER_DEVICE),
    ),
    Perk(
        "google_ai_pro", "KZ-4.3", "Google AI Pro, 3-month free trial (KZ-2 iii)", QUALIFYING_MODELS,
        Start.PURCHASE, Redemption.PARTNER_APP,
        "in the Gemini or Google One app: «Попробовать сейчас» (or profile → «Попробовать Google AI Pro») "
        "→ «Начать пробный период»; no code from the shop",
        activate_by=FixedDeadline(date(2026, 3, 31), BY_2359, "KZ-4.3",
                                  "3, 4.3: «до 31 марта 2026 года, 23:59 по местному времени»"),
        trial=Trial(3, "KZ-4.3", "2 iii: «3-месячный бесплатный пробный период»; 3, 4.3: «Трёхмесячный»"),
        conditions=(Condition.ADULT, Condition.ONCE_PER_DEVICE),
    ),
    Perk(
        "youtube", "KZ-4.4", "YouTube Premium, 3 months (KZ-2 iv)", QUALIFYING_MODELS,
        Start.PURCHASE, Redemption.PARTNER_APP,
        "in the YouTube app: «Мой аккаунт» → «Получить YouTube Premium», then the offer's instructions",
        activate_by=FixedDeadline(date(2026, 8, 31), BY_2359, "KZ-3",
                                  "4.4: «до 31 августа 2026 года, 23:59» (3 says 08.08.2026 11:59: "
                                  "youtube_deadline)"),
        trial=Trial(3, "KZ-4.4", "2 iv, 3: «Доступ к YouTube Premium на 3 месяца»; 4.4: «3 месяца доступа»"),
        conditions=(Condition.NEW_PARTNER_USER, Condition.ONCE_PER_DEVICE),
    ),
    Perk(
        "extended_warranty", "KZ-4.5", "warranty extended to 24 months (KZ-2 v)", QUALIFYING_MODELS,
        Start.PURCHASE, Redemption.SERVICE_CASE,
        "a warranty claim at an authorised Xiaomi service centre (back up the data first)",
        # KZ-5.4: this period prevails over the general warranty's (shop.domain.service_cases)
        use_by=MonthsFromPurchase(24, "KZ-4.5", "3: «в течение 24 месяцев с даты первой покупки»"),
        exclusions=EXTENDED_WARRANTY_EXCLUSIONS,
    ),
    Perk(
        "screen_repair", "KZ-4.6", "one free screen replacement within 6 months (KZ-2 vi)",
        QUALIFYING_MODELS, Start.PURCHASE, Redemption.SERVICE_CASE,
        "an authorised service centre replaces a screen damaged unintentionally; receipt may be asked",
        purchase_window=PurchaseWindow(date(2025, 9, 24), date(2026, 9, 25), "KZ-4.6",
                                       "4.6: «купившие устройство в период с 24.09.2025 по 25.09.2026»"),
        use_by=MonthsFromPurchase(6, "KZ-4.6", "4.6: «в течение первых 6 месяцев с даты покупки»"),
        conditions=(Condition.ONCE_PER_DEVICE,),
        exclusions=SCREEN_REPAIR_EXCLUSIONS,
    ),
    Perk(
        "free_labour_repair", "KZ-4.7", "one out-of-warranty repair with free labour within 12 months "
        "(KZ-2 vii)", QUALIFYING_MODELS, Start.PURCHASE, Redemption.SERVICE_CASE,
        "a service case: estimate (parts + logistics) first; accepted → repaired with labour free; "
        "declined → device returned, inspection (and logistics) paid by the customer",
        use_by=MonthsFromPurchase(12, "KZ-4.7", "4.7: «в течение двенадцати (12) месяцев с даты покупки»"),
        conditions=(Condition.ONCE_PER_DEVICE,),
        exclusions=FREE_LABOUR_EXCLUSIONS,
    ),
)

PERK_TERMS = (
    PerkTerms("kz-vip-2025-09-24", date(2025, 9, 24), None, SEED, PERKS_2025_09_24, CONFLICTS),
)
"""Every edition, oldest first; a new edition closes the previous one's `effective_until`."""

PERK_CODES = tuple(perk.code for perk in PERKS_2025_09_24)


def perk_terms(version: str) -> PerkTerms:
    """The edition a bundle was made with; `KeyError` for an unknown version."""
    for terms in PERK_TERMS:
        if terms.version == version:
            return terms
    raise KeyError(version)


def perk_terms_for(purchased_on: date) -> PerkTerms | None:
    """The edition that applies to a purchase on a local date (Almaty), or None before the first."""
    return next((terms for terms in PERK_TERMS if terms.applies_to(purchased_on)), None)
