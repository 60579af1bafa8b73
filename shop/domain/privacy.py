"""RS-XII: personal data are processed per the privacy policy, keeping only what the contract needs.
The customer erases their account (DELETE /account, the password confirming it); what the contract
still needs of the customer decides whether that can happen now, and what is kept after it.

Decisions (the contract says no more than the clause):
- **Refused while the contract still needs the customer** (409, RS-XII, the detail naming each open
  matter): an order not finished (awaiting payment or instalment approval, paid, confirmed, shipped);
  a delivered order still within its withdrawal period (RS-VII.1: the customer's right is open and the
  shop's answers go to the account's e-mail; 14 days, so the wait is short); a refund not settled
  (pending or failed, RS-III.4); a withdrawal, conformity claim, complaint, take-back or service case
  still open (not in a final state of its machine); a KZ perk not yet used (as of now, the clock's
  steps taken) that is redeemed through the account, a one-time code e-mailed to the buyer (KZ-4.1,
  KZ-4.2). Perks used in the partner's app (KZ-4.3, 4.4) or at a service centre by the device's IMEI
  (KZ-4.5 … 4.7) go with the device, not the account, and do not hold it. The legal guarantee (two
  years, RS-VI.1) does not hold it either: the customer chooses; the invoice kept as issued proves the
  purchase for a later claim made outside the account.
- **Otherwise, in one transaction**, the account's own personal data are erased: the name (NOT NULL:
  an empty string), the phone, the birth date (NOT NULL: the neutral `ERASED_BIRTH_DATE`), the
  guardian's name and consent date (RS-I.2), and the password hash (replaced by a value that is no
  hash, so no password matches); the e-mail becomes `erased-<id>@invalid` (RFC 2606/6761: `.invalid`
  never receives mail, and no one can register it: registration refuses special-use domains), so the
  address is free to register again; `erased_at` keeps when. The row stays: orders, invoices, claims
  and the timeline refer to it.
- **The account is gone at once**: every request's one read of the account (shop.web.auth, and
  placing an order's own read) finds no account not erased, so its tokens answer 401
  `account_not_found`; a login with the old e-mail is an unknown e-mail (401, the dummy hash verified,
  the same time taken). The erasure locks the account row first, as placing an order does, so an order
  is either placed before (and refuses the erasure) or finds the account gone.
- **What stays, because the contract and the law need it**: the orders with their lines and delivery
  details (recipient, address, phone: what was delivered where), the invoices and credit notes as
  issued (a VAT invoice names its buyer and is kept as issued, RS-IV.8–10), refunds, the payment
  ledger, the timeline, take-backs (their address copied from the delivery), complaints as answered
  (the seller's record of complaints, RS-X), and what a redeemed perk's form gave the partner
  (KZ-5.1: the proof of its one use, P-4). E-mails already sent stay as the record of what was sent
  (a confirmation's or an invoice's receipt, RS-IV.6, RS-IV.8–9).
- **E-mails queued to the account and not yet sent are not sent**: they are deleted with the erasure
  (they would carry the customer's data to an address the customer asked the shop to forget), but for
  an invoice's or a credit note's, which the buyer is owed (RS-IV.8–10): it goes out as queued.
- **Confirming**: the account's password, in the JSON body of DELETE /account (a password does not
  belong in a header, which proxies log). A wrong one is 403 (the token is good, the confirmation is
  not); 5 within 15 minutes are 429 with Retry-After, counted per account apart from logins. The answer
  (200) is what is left of the account, as stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shop.domain.calendar import in_time
from shop.domain.complaints import COMPLAINT
from shop.domain.conformity import CONFORMITY_CLAIM
from shop.domain.deadlines import withdrawal_deadline
from shop.domain.errors import Conflict
from shop.domain.lifecycle import ORDER, OrderState
from shop.domain.markets import Market
from shop.domain.perk_lifecycle import UNUSED, state_at
from shop.domain.perks import Redemption, perk_terms
from shop.domain.refunds import RefundState
from shop.domain.service_cases import SERVICE_CASE
from shop.domain.take_back import TAKE_BACK
from shop.domain.withdrawal import WITHDRAWAL

CLAUSE = "RS-XII"
ERASED_NAME = ""  # users.full_name is NOT NULL
ERASED_BIRTH_DATE = date(1900, 1, 1)  # users.birth_date is NOT NULL; the earliest date the shop accepts
ERASED_PASSWORD_HASH = "erased"  # no argon2 hash: no password verifies against it
SETTLED_REFUNDS = (RefundState.SUCCEEDED,)


def erased_email(account_id: int) -> str:
    """An address unique to the account that can never receive mail (RFC 6761 `.invalid`)."""
    return f"erased-{account_id}@invalid"


def erased_values(account_id: int, now: datetime) -> dict[str, object]:
    """The account's columns as erased (RS-XII)."""
    return {"email": erased_email(account_id), "password_hash": ERASED_PASSWORD_HASH, "full_name": ERASED_NAME,
            "birth_date": ERASED_BIRTH_DATE, "phone": None, "guardian_name": None,
            "guardian_consent_given_at": None, "erased_at": now}


@dataclass(frozen=True)
class Held:
    """Something of the customer's that the contract still needs, as the 409 names it."""

    what: str
    number: str
    state: str

    def __str__(self) -> str:
        return f"{self.what} {self.number} ({self.state})"


@dataclass(frozen=True)
class CustomerMatters:
    """What the stores hold of one customer that may still be open: rows with the order's `number`
    and the subject's `state` (orders add `market`, `delivered_at`; perks `code`, `terms_version`,
    `opens_at`, `lapses_at`)."""

    orders: Sequence[Any] = ()
    refunds: Sequence[Any] = ()
    withdrawals: Sequence[Any] = ()
    conformity_claims: Sequence[Any] = ()
    complaints: Sequence[Any] = ()  # number: the order's, or the complaint's id without one
    take_backs: Sequence[Any] = ()
    service_cases: Sequence[Any] = ()
    perks: Sequence[Any] = ()


OPEN_WHILE_NOT_FINAL = (("withdrawal of order", "withdrawals", WITHDRAWAL),
                        ("conformity claim on order", "conformity_claims", CONFORMITY_CLAIM),
                        ("complaint", "complaints", COMPLAINT),
                        ("take-back of order", "take_backs", TAKE_BACK),
                        ("service case on order", "service_cases", SERVICE_CASE))


def still_needed(matters: CustomerMatters, now: datetime) -> list[Held]:
    """RS-XII: what the contract still needs the customer for at `now` (empty: the account may go)."""
    held = [Held("order", order.number, state) for order in matters.orders
            if (state := _order_held(order, now)) is not None]
    held += [Held("refund of order", refund.number, refund.state) for refund in matters.refunds
             if refund.state not in SETTLED_REFUNDS]
    for what, kind, machine in OPEN_WHILE_NOT_FINAL:
        final = {state.value for state in machine.final}
        held += [Held(what, row.number, row.state) for row in getattr(matters, kind) if row.state not in final]
    for perk in matters.perks:
        if perk_terms(perk.terms_version).perk(perk.code).redemption is not Redemption.SERVICE_CODE:
            continue  # used in the partner's app or at a service centre: it goes with the device
        state = state_at(perk.state, opens_at=perk.opens_at, lapses_at=perk.lapses_at, now=now)
        if state in UNUSED:
            held.append(Held(f"perk {perk.code} of order", perk.number, state.value))
    return held


def _order_held(order: Any, now: datetime) -> str | None:
    """Why the order still needs its customer: not finished, or delivered and still within its
    withdrawal period (RS-VII.1); None when it does not."""
    state = OrderState(order.state)
    if state not in ORDER.final:
        return state.value
    if state is OrderState.DELIVERED and order.delivered_at is not None and in_time(
            now, withdrawal_deadline(order.delivered_at, Market(order.market))):
        return "delivered, within its withdrawal period, RS-VII.1"
    return None


def check_erasable(held: Sequence[Held]) -> None:
    """RS-XII: the account is erased only once the contract no longer needs the customer."""
    if held:
        raise Conflict("account_still_needed",
                       "the account cannot be erased while the contract still needs the customer: "
                       + "; ".join(str(item) for item in held), clause=CLAUSE)
