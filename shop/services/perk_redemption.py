"""Redeeming a perk (KZ-4.1 … KZ-4.4, KZ-5.1, P-3, P-4), by the customer who bought the device.

A service-code perk (lounge KZ-4.1, Spotify KZ-4.2) is redeemed once: its form checked, a one-time
code derived (shop.domain.perk_redemption), the perk `redeemed` with the KZ-5.1 data of the form, and
an e-mail with a link to the code queued in the same transaction, sent after the commit. Asking
again, one after the other or at the same moment, answers the same code and sends no second e-mail
(P-4): the perk's row is locked (FOR UPDATE on PostgreSQL, SQLite's BEGIN IMMEDIATE), so the second
request finds it redeemed. A partner-app perk (KZ-4.3, KZ-4.4) is used in the partner's app: the
answer is how and until when, the perk unchanged. A service-case perk (KZ-4.5 … 4.7) is not redeemed
here."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.calendar import local_date
from shop.domain.errors import Conflict, NotFound
from shop.domain.markets import Market
from shop.domain.notices import perk_code
from shop.domain.perk_lifecycle import PERK, PerkState
from shop.domain.perk_redemption import (
    RedemptionForm, check_form, code_hash, code_hint, derive_code, kept_of, refuse_unless_open, rederive,
)
from shop.domain.perks import Perk, Redemption, perk_terms
from shop.services.context import ShopContext
from shop.services.mail import QueuedEmail, notice_row, send_after_answer
from shop.services.perks import catch_up, lock_perk, refuse_if_being_returned

CODE_LINK = "/api/v1/perks/{perk_id}/code"
"""KZ-4.1 iii: the e-mail carries a link to the code (GET, logged in), never the code itself."""


@dataclass(frozen=True)
class Redeemed:
    """A perk as redemption left it: its row, its terms, and the service code where it has one."""

    row: Any
    terms: Perk
    state: PerkState
    service_code: str | None


async def redeem(ctx: ShopContext, perk_id: str, *, customer_id: int, form: RedemptionForm | None) -> Redeemed:
    secret_key, link = ctx.settings.secret_key, ctx.settings.public_url + CODE_LINK
    redeemed, emails = await ctx.db.transaction(
        lambda uow: _redeem(uow, perk_id, customer_id, form, secret_key, link))
    send_after_answer(ctx, emails)
    return redeemed


async def service_code(ctx: ShopContext, perk_id: str, *, customer_id: int) -> Redeemed:
    """P-4: the code a redeemed perk was given, derived again (the e-mail's link, KZ-4.1 iii)."""
    secret_key = ctx.settings.secret_key
    return await ctx.db.read(lambda uow: _service_code(uow, perk_id, customer_id, secret_key))


def _redeem(uow: UnitOfWork, perk_id: str, customer_id: int, form: RedemptionForm | None,
            secret_key: str, link: str) -> tuple[Redeemed, Sequence[QueuedEmail]]:
    order, perk = lock_perk(uow, perk_id)
    bundle, terms = _owned(uow, perk, order, customer_id)
    now = uow.now()
    perk = catch_up(uow, perk, now=now)
    state = PerkState(perk.state)
    if state is PerkState.OPEN:
        refuse_if_being_returned(uow, perk)  # P-3: not while a withdrawal of the device is open
    if state is PerkState.REDEEMED and terms.redemption is Redemption.SERVICE_CODE:  # P-4: the same code
        code = rederive(secret_key, perk.id, perk.code_salt, perk.code_hash, perk.code_hint)
        return Redeemed(perk, terms, state, code), []
    refuse_unless_open(terms, state, opens_at=perk.opens_at, reason=perk.reason, clause=perk.clause)
    if terms.redemption is Redemption.PARTNER_APP:  # KZ-4.3, KZ-4.4: how and until when, no code
        return Redeemed(perk, terms, state, None), []
    account = uow.accounts.get(customer_id)
    form = check_form(terms, form, device_imei=bundle.imei, model=bundle.model, order_number=order.number,
                      birth_date=account.birth_date, today=local_date(now, Market.KZ))
    salt = secrets.token_hex(16)
    code = derive_code(secret_key, perk.id, salt)
    transition = PERK.fire(perk.state, "redeem")
    perk = uow.perks.move(perk, transition, now=now, redeemed_at=now, code_salt=salt, code_hash=code_hash(code),
                          code_hint=code_hint(code), redemption=kept_of(form))
    uow.timeline.record(order.id, transition, actor=f"customer:{customer_id}", now=now, subject_id=perk.id)
    notice = perk_code(Market.KZ, order.number, perk.code, terms.clause, link.format(perk_id=perk.id),
                       perk.code_hint, perk.use_by)
    # KZ-4.1 iii: to the address given in the form
    emails = uow.outbox.queue_emails([notice_row(order.id, notice, now, address=form.email)])
    return Redeemed(perk, terms, PerkState.REDEEMED, code), emails


def _service_code(uow: UnitOfWork, perk_id: str, customer_id: int, secret_key: str) -> Redeemed:
    perk = uow.perks.get(perk_id)
    _, terms = _owned(uow, perk, uow.orders.get(perk.order_id), customer_id)
    if terms.redemption is not Redemption.SERVICE_CODE:
        raise Conflict("no_service_code", f"{perk.code} has no service code from the shop ({terms.clause})",
                       clause=terms.clause)
    if perk.state != PerkState.REDEEMED:
        raise Conflict("perk_not_redeemed", f"{perk.code} has not been redeemed: no code was issued (P-4)",
                       clause="P-4")
    code = rederive(secret_key, perk.id, perk.code_salt, perk.code_hash, perk.code_hint)
    return Redeemed(perk, terms, PerkState.REDEEMED, code)


def _owned(uow: UnitOfWork, perk: Any, order: Any, customer_id: int) -> tuple[Any, Perk]:
    """The perk's bundle and terms, its order the customer's; another customer's perk is a 404, as
    an unknown one."""
    if order.customer_id != customer_id:
        raise NotFound("perk_not_found", f"no perk {perk.id}")
    bundle = uow.perks.bundle(perk.bundle_id)
    return bundle, perk_terms(bundle.terms_version).perk(perk.code)
