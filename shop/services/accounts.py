"""Register and log in (RS-I.1, RS-I.2); ops accounts for staff."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from shop.adapters.prepared import Prepared, driver_reads
from shop.adapters.tables import User, table_of
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
    """Off the event loop (0.1-0.4 s of CPU at the production profile); never inside a transaction."""
    return await asyncio.to_thread(password_hasher(ctx.settings.password_hash_profile).hash, password)


async def password_matches(ctx: ShopContext, password_hash: str | None, password: str) -> bool:
    """Verifies once, against the dummy hash when there is no account, off the event loop."""
    profile = ctx.settings.password_hash_profile
    dummy = await asyncio.to_thread(_dummy_hash, profile)  # on both paths: made once, by whichever comes first
    stored = password_hash if password_hash is not None else dummy
    try:
        await asyncio.to_thread(password_hasher(profile).verify, stored, password)
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


async def register(ctx: ShopContext, form: Registration, *, is_ops: bool = False) -> User:
    email = normalised_email(form.email)
    now = await ctx.now()
    check_registration(birth_date=form.birth_date, password=form.password, full_name=form.full_name,
                       consent=form.guardian_consent, today=RegistrationDay.at(now))  # RS-I.2
    password_hash = await hash_password(ctx, form.password)  # before the transaction: SQLite has one connection
    async with ctx.sessions() as session, session.begin():
        if (await session.exec(select(User.id).where(User.email == email))).first() is not None:
            raise Conflict("email_taken", "an account with this e-mail exists", )
        consent = form.guardian_consent
        user = User(
            email=email, password_hash=password_hash, full_name=form.full_name.strip(),
            birth_date=form.birth_date, phone=form.phone,
            guardian_name=consent.guardian_name.strip() if consent else None,
            guardian_consent_given_at=consent.given_at if consent else None,
            is_ops=is_ops, created_at=now,
        )
        session.add(user)
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict("email_taken", "an account with this e-mail exists") from None
    return user


async def authenticate(ctx: ShopContext, email: str, password: str) -> User:
    async with ctx.sessions() as session:
        user = (await session.exec(select(User).where(User.email == email.strip().lower()))).one_or_none()
    if not await password_matches(ctx, user.password_hash if user else None, password) or user is None:
        raise Unauthorized("invalid_credentials", "wrong e-mail or password")
    return user


async def log_in(ctx: ShopContext, throttle: LoginThrottle, email: str, password: str, *, address: str) -> User:
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


async def make_ops_user(ctx: ShopContext, email: str, password: str) -> tuple[User, bool]:
    """Create a staff account, or promote and re-key an existing one. Returns (user, created)."""
    normalised = normalised_email(email)
    async with ctx.sessions() as session:
        exists = (await session.exec(select(User.id).where(User.email == normalised))).first() is not None
    if not exists:
        return await register(ctx, Registration(normalised, password, "Operations", date(1970, 1, 1)),
                              is_ops=True), True
    password_hash = await hash_password(ctx, password)  # before the transaction, as in register
    async with ctx.sessions() as session, session.begin():
        user = (await session.exec(select(User).where(User.email == normalised))).one()
        user.is_ops, user.password_hash = True, password_hash
        session.add(user)
    return user, False


async def demote_ops_user(ctx: ShopContext, *, email: str | None = None, user_id: int | None = None) -> User:
    """Take staff rights from an account (by e-mail or id); its tokens lose them with the next
    request, as every request reads the account (shop.web.auth)."""
    async with ctx.sessions() as session, session.begin():
        query = select(User).where(User.email == normalised_email(email)) if email is not None else \
            select(User).where(User.id == user_id)
        user = (await session.exec(query)).one_or_none()
        if user is None:
            raise NotFound("account_not_found", "no such account")
        user.is_ops = False
        session.add(user)
    return user


_users = table_of(User)
_STAFF_RIGHTS = Prepared(select(_users.c.is_ops).where(_users.c.id == bindparam("id")))


async def staff_rights(ctx: ShopContext, user_id: int) -> bool | None:
    """Whether the account is staff; None when there is no such account. Every authenticated request
    asks (shop.web.auth): one primary-key read on the driver."""
    async with driver_reads(ctx.engine) as db:
        account = await db.first(_STAFF_RIGHTS, id=user_id)
    return None if account is None else bool(account.is_ops)


async def account(ctx: ShopContext, user_id: int) -> User:
    """The stored account, its guardian's consent included (RS-I.2: producible on request)."""
    async with ctx.sessions() as session:
        user = await session.get(User, user_id)
    if user is None:
        raise NotFound("account_not_found", "no such account")
    return user
