"""Redeeming a perk of the KZ bundle (KZ-4.1 … KZ-4.4, KZ-5.1, P-3, P-4): the redemption form and
its checks, the one-time service code, and what a perk that cannot be redeemed answers.

The service code (KZ-4.1 iii, KZ-4.2) is never stored (tables.BundlePerk): a random salt is, and the
code is derived from it and the shop's secret key (HMAC-SHA256), so a repeated request derives the
same code again (P-4) and a copy of the database alone gives no code. Only its SHA-256 (to check a
re-derived code) and its last characters (for support) are kept.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from shop.domain.accounts import age_on, normalised_email
from shop.domain.errors import Conflict, InvalidInput
from shop.domain.perk_lifecycle import PerkState
from shop.domain.perks import Condition, Perk, Redemption

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""Base 32 without 0/O and 1/I: a code read aloud to support or typed at a lounge cannot be misread."""
CODE_LENGTH = 12  # 60 bits of the HMAC: never guessed at a lounge desk
CODE_GROUP = 4  # shown in groups of four: 7K3M-Q9PX-2HRT
HINT_LENGTH = 4  # the code's last characters, kept for support
ADULT_AGE = 18  # KZ-4.2, KZ-4.3: «только для лиц старше 18 лет»
_DERIVATION_LABEL = b"shop perk service code v1\x00"
"""Keeps this use of the secret key apart from its others (login tokens)."""

REDEMPTION_FIELDS = ("name", "email", "phone", "device_type", "imei")
"""KZ-5.1: the contact data the service needs (name, phone, e-mail; the shop asks no ID number) and
the device's data: all that is kept of a redemption form, and shared with the service's provider.
Nothing else of the request is stored (the purchase channel and confirmation code are checked only)."""


class PurchaseChannel(StrEnum):
    """KZ-4.2 «Канал покупки устройства», KZ-1 official channels: Xiaomi online (this shop) or offline."""

    MI_COM = "mi_com"  # this shop, mi.com: every bundle the shop makes was bought here
    MI_STORE = "mi_store"  # an official Xiaomi store (offline)


@dataclass(frozen=True)
class RedemptionForm:
    """The IMEI redemption form (KZ-4.1: name, e-mail, device data; KZ-4.2: device type, purchase
    channel, IMEI, e-mail, confirmation code), with the partner's conditions the customer declares
    as explicit answers (KZ-4.2: a new Spotify Premium user, on the individual plan).

    `confirmation_code` — decision (KZ-4.2 «Код подтверждения, который вы получили»): the seed names
    a code the customer has received without saying from whom. The shop reads it as the number of the
    order the device was bought with, which the customer received in the seller's confirmation of the
    order (RS-IV.6: «Заказ … подтверждён»): it ties the form to a purchase through this official
    channel (KZ-1) and catches a form filled for another purchase. A one-time e-mail verification
    code was the other reading; the logged-in account (Mi ID, KZ-4.1 ii ②) and the e-mail the link is
    sent to (KZ-4.1 iii) make it unnecessary here."""

    imei: str
    email: str
    device_type: str
    name: str | None = None
    phone: str | None = None
    purchase_channel: PurchaseChannel | None = None
    confirmation_code: str | None = None
    new_partner_user: bool | None = None
    individual_plan: bool | None = None


FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "lounge": ("name",),  # KZ-4.1: name, e-mail, device data
    "spotify": ("purchase_channel", "confirmation_code"),  # KZ-4.2
}
"""What each service-code perk asks besides IMEI, e-mail and device type (every form has those)."""

DECLARED: dict[Condition, str] = {
    Condition.NEW_PARTNER_USER: "new_partner_user",  # KZ-4.2: «только для новых пользователей»
    Condition.INDIVIDUAL_PLAN: "individual_plan",  # KZ-4.2: «Применимо к индивидуальному тарифу»
}
"""The partner's conditions only the customer can know, declared in the form as `true`."""


def refuse_unless_open(perk: Perk, state: PerkState, *, opens_at: datetime | None, reason: str | None,
                       clause: str) -> None:
    """A perk is redeemed only while open (P-4 step `redeem`); each other state answers why, with
    its clause. `clause` is the perk row's (the clause that refused it, for not_available)."""
    if perk.redemption is Redemption.SERVICE_CASE:
        raise Conflict("redeemed_through_service_case",
                       f"{perk.code} is used through a service case at an authorised service centre, not redeemed "
                       f"here ({perk.clause})", clause=perk.clause)
    if state is PerkState.OPEN:
        return
    if state in (PerkState.WAITING_FOR_ACTIVATION, PerkState.ACTIVATED):
        when = (f"opens at {opens_at.isoformat().replace('+00:00', 'Z')}" if opens_at is not None
                else "opens after the device's activation in Kazakhstan is recorded")
        wait = perk.opens_after.clause if perk.opens_after else perk.clause
        raise Conflict("perk_not_open_yet", f"{perk.code} is not open yet: it {when} ({wait})", clause=wait)
    if state is PerkState.EXPIRED:
        deadline = perk.activate_by or perk.use_by
        last = deadline.clause if deadline else perk.clause
        raise Conflict("perk_expired", f"{perk.code} was not redeemed by its last moment ({last})", clause=last)
    if state is PerkState.REVOKED:
        raise Conflict("perk_revoked", f"{perk.code} was revoked ({reason}): a revoked code cannot be redeemed "
                       "(P-3)", clause="P-3")
    if state is PerkState.NOT_AVAILABLE:
        raise Conflict("perk_not_available", f"{perk.code} is not available ({reason})", clause=clause)
    raise Conflict("perk_redeemed", f"{perk.code} is {state.value}", clause="P-4")


def check_form(perk: Perk, form: RedemptionForm | None, *, device_imei: str | None, model: str,
               order_number: str, birth_date: date, today: date) -> RedemptionForm:
    """KZ-4.1, KZ-4.2: eligibility checked before a code is issued, each refusal naming its field or
    clause. `today` is the local (Almaty) date: an age is judged on the market's calendar (T-5)."""
    if device_imei is None:  # P-1: a bundle is tied to its device when the device ships
        raise Conflict("device_not_shipped", "the device has not shipped yet: its perks are redeemed with its "
                       "IMEI once it is tied to the bundle (P-1)", clause="P-1")
    if form is None:
        raise InvalidInput("redemption_form_missing", f"{perk.code} is redeemed with the IMEI form ({perk.clause})",
                           clause=perk.clause, field="imei")
    for name in FORM_FIELDS.get(perk.code, ()):
        if getattr(form, name) in (None, ""):
            raise InvalidInput("redemption_field_missing", f"{name} is a field of the {perk.code} form "
                               f"({perk.clause})", clause=perk.clause, field=name)
    if form.imei != device_imei:
        raise InvalidInput("imei_not_this_device", "imei is not the IMEI of the device this perk belongs to "
                           f"({perk.clause})", clause=perk.clause, field="imei")
    if form.device_type != model:
        raise InvalidInput("device_type_not_this_device", f"device_type is not {model}, the device this perk "
                           "belongs to (KZ-1)", clause="KZ-1", field="device_type")
    if form.purchase_channel is not None and form.purchase_channel is not PurchaseChannel.MI_COM:
        raise InvalidInput("purchase_channel_not_this_shop", "this device was bought at mi_com, this shop (KZ-1)",
                           clause="KZ-1", field="purchase_channel")
    if form.confirmation_code is not None and form.confirmation_code.strip() != order_number:
        raise InvalidInput("confirmation_code_wrong", "confirmation_code is the number of the order the device "
                           f"was bought with, as in its confirmation ({perk.clause})",
                           clause=perk.clause, field="confirmation_code")
    if Condition.ADULT in perk.conditions and age_on(birth_date, today) < ADULT_AGE:
        raise InvalidInput("perk_for_adults_only", f"{perk.code} is only for customers aged 18 or over "
                           f"({perk.clause})", clause=perk.clause)
    for condition, name in DECLARED.items():
        if condition in perk.conditions and getattr(form, name) is not True:
            raise InvalidInput("condition_not_declared", f"{name} must be declared true: {perk.code} is only for "
                               f"{condition.value.replace('_', ' ')} ({perk.clause})", clause=perk.clause, field=name)
    # KZ-4.1 iii: the link goes to the address given; the seller is not answerable for a mistyped one
    return replace(form, email=normalised_email(form.email))


def kept_of(form: RedemptionForm) -> dict[str, str]:
    """KZ-5.1: what is stored of the form: REDEMPTION_FIELDS given, nothing else."""
    return {name: value for name in REDEMPTION_FIELDS if (value := getattr(form, name)) not in (None, "")}


# --- the one-time service code (KZ-4.1 iii, KZ-4.2, P-4) ------------------------------------------

def derive_code(secret_key: str, perk_id: str, salt: str) -> str:
    """The perk's service code: HMAC-SHA256(secret key, perk id + salt), its first 60 bits in
    CODE_ALPHABET, in groups of four (7K3M-Q9PX-2HRT). The same salt and key always give the same code (P-4)."""
    digest = hmac.new(secret_key.encode(), _DERIVATION_LABEL + f"{perk_id}:{salt}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big") >> (64 - 5 * CODE_LENGTH)
    symbols = "".join(CODE_ALPHABET[(number >> (5 * (CODE_LENGTH - 1 - i))) & 31] for i in range(CODE_LENGTH))
    return "-".join(symbols[i:i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP))


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def code_hint(code: str) -> str:
    return code[-HINT_LENGTH:]


def rederive(secret_key: str, perk_id: str, salt: str | None, stored_hash: str | None, hint: str | None) -> str:
    """P-4: the code issued before, derived again and checked against its hash. A secret key changed
    since gives another code: never a second one, a 409 with the hint for support instead."""
    code = derive_code(secret_key, perk_id, salt or "")
    if salt is None or stored_hash is None or not hmac.compare_digest(code_hash(code), stored_hash):
        raise Conflict("service_code_unrecoverable",
                       f"the service code issued (ending {hint}) can no longer be derived here; support can "
                       f"reissue it with its hint {hint} (P-4)", clause="P-4")
    return code
