"""Register and log in (RS-I.1, RS-I.2); ops accounts for staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from shop.adapters.stores.accounts import Account, EmailTaken
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.accounts import GuardianConsent, RegistrationDay, check_registration, normalised_email
from shop.domain.errors import Conflict, NotFound, Unauthorized
from shop.services.context import ShopContext
from shop.services.login_throttle import LoginThrottle
from shop.settings import PasswordHashProfile

_PARAMETERS = {PasswordHashProfile.PRODUCTION: profiles.RFC_9106_LOW_MEMORY,
               PasswordHashProfile.CHEAPEST: profiles.CHEAPEST}


@cache
def password_hasher(profile: PasswordHashProfile) -> PasswordHasher:
    return PasswordHasher.from_parameters(_PARAMETERS[profile])


@cache
def _dummy_hash(profile: PasswordHashProfile) -> str:
    """Verified against when the e-mail is unknown, so a login takes as long either way."""
    return password_hasher(profile).hash("not-a-real-password")


async def hash_password(ctx: ShopContext, password: str) -> str:
    """Off the event loop, a bounded number at once (0.1-0.4 s of CPU and 64 MiB at the production
    profile: shop.adapters.password_work); never inside a transaction."""
    return await ctx.password_work.run(password_hasher(ctx.settings.password_hash_profile).hash, password)


async def password_matches(ctx: ShopContext, password_hash: str | None, password: str) -> bool:
    """Verifies once, against the dummy hash when there is no account, off the event loop."""
    profile = ctx.settings.password_hash_profile
    dummy = await ctx.password_work.run(_dummy_hash, profile)  # on both paths: made once, by whichever comes first
    stored = password_hash if password_hash is not None else dummy
    try:
        await ctx.password_work.run(password_hasher(profile).verify, stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    full_name: str
    birth_date: date
    phone: str | None = None
    guardian_consent: GuardianConsent | None = None


async def register(ctx: ShopContext, form: Registration, *, is_ops: bool = False) -> Account:
    email = normalised_email(form.email)
    now = await ctx.now()
    check_registration(birth_date=form.birth_date, password=form.password, full_name=form.full_name,
                       consent=form.guardian_consent, today=RegistrationDay.at(now))  # RS-I.2
    password_hash = await hash_password(ctx, form.password)  # before the transaction: SQLite has one connection
    consent = form.guardian_consent
    values = {"email": email, "password_hash": password_hash, "full_name": form.full_name.strip(),
              "birth_date": form.birth_date, "phone": form.phone,
              "guardian_name": consent.guardian_name.strip() if consent else None,
              "guardian_consent_given_at": consent.given_at if consent else None,
              "is_ops": is_ops, "created_at": now}
    return await ctx.db.transaction(lambda uow: _add_account(uow, values))


def _add_account(uow: UnitOfWork, values: dict[str, object]) -> Account:
    """RS-I.1: one account an e-mail (checked first; the unique index decides between two at once)."""
    if uow.accounts.exists(str(values["email"])):
        raise _email_taken()
    try:
        return uow.accounts.add(values)
    except EmailTaken:
        raise _email_taken() from None


def _email_taken() -> Conflict:
    return Conflict("email_taken", "an account with this e-mail exists")


async def authenticate(ctx: ShopContext, email: str, password: str) -> Account:
    user = await ctx.db.read(lambda uow: uow.accounts.by_email(email.strip().lower()))
    if not await password_matches(ctx, user.password_hash if user else None, password) or user is None:
        raise Unauthorized("invalid_credentials", "wrong e-mail or password")
    return user


async def log_in(ctx: ShopContext, throttle: LoginThrottle, email: str, password: str, *, address: str) -> Account:
    """`authenticate`, refused with 429 while the e-mail or the address has too many recent failures."""
    key, now = email.strip().lower(), await ctx.now()
    throttle.check(key, address, now)
    try:
        user = await authenticate(ctx, email, password)
    except Unauthorized:
        throttle.failed(key, address, now)
        raise
    throttle.succeeded(key)
    return user


async def make_ops_user(ctx: ShopContext, email: str, password: str) -> tuple[Account, bool]:
    """Create a staff account, or promote and re-key an existing one. Returns (user, created)."""
    normalised = normalised_email(email)
    if not await ctx.db.read(lambda uow: uow.accounts.exists(normalised)):
        return await register(ctx, Registration(normalised, password, "Operations", date(1970, 1, 1)),
                              is_ops=True), True
    password_hash = await hash_password(ctx, password)  # before the transaction, as in register
    user = await ctx.db.transaction(lambda uow: uow.accounts.make_ops(normalised, password_hash))
    assert user is not None  # accounts are never deleted by the shop
    return user, False


async def demote_ops_user(ctx: ShopContext, *, email: str | None = None, user_id: int | None = None) -> Account:
    """Take staff rights from an account (by e-mail or id); its tokens lose them with the next
    request, as every request reads the account (shop.web.auth)."""
    normalised = normalised_email(email) if email is not None else None
    user = await ctx.db.transaction(lambda uow: uow.accounts.demote(email=normalised, account_id=user_id))
    if user is None:
        raise NotFound("account_not_found", "no such account")
    return user


async def staff_rights(ctx: ShopContext, user_id: int) -> bool | None:
    """Whether the account is staff; None when there is no such account. Every authenticated request
    asks (shop.web.auth): one primary-key read."""
    return await ctx.db.read(lambda uow: uow.accounts.staff_rights(user_id))


async def find_for_staff(ctx: ShopContext, email: str) -> list[tuple[Account, list[Any]]]:
    """The account registered with this e-mail (as a login reads it: normalised, not erased), with
    its block history: none or one, for staff who know a customer by address, not by id."""
    address = normalised_email(email)

    def read(uow: UnitOfWork) -> list[tuple[Account, list[Any]]]:
        user = uow.accounts.by_email(address)
        return [] if user is None else [(user, uow.accounts.blocks(user.id))]
    return await ctx.db.read(read)


async def account_for_staff(ctx: ShopContext, user_id: int) -> tuple[Account, list[Any]]:
    """The stored account and its block history (RS-XIII), read together."""
    def read(uow: UnitOfWork) -> tuple[Account | None, list[Any]]:
        return uow.accounts.get(user_id), uow.accounts.blocks(user_id)

    user, blocks = await ctx.db.read(read)
    if user is None:
        raise NotFound("account_not_found", "no such account")
    return user, blocks


async def account(ctx: ShopContext, user_id: int) -> Account:
    """The stored account, its guardian's consent included (RS-I.2: producible on request)."""
    user = await ctx.db.read(lambda uow: uow.accounts.get(user_id))
    if user is None:
        raise NotFound("account_not_found", "no such account")
    return user
