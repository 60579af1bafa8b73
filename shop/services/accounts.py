"""Register and log in (RS-I.1, RS-I.2); ops accounts for staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from shop.adapters.tables import User
from shop.domain.accounts import GuardianConsent, check_registration, normalised_email
from shop.domain.errors import Conflict, Unauthorized
from shop.services.context import ShopContext

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


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
    async with ctx.sessions() as session, session.begin():
        now = await ctx.now(session)
        check_registration(birth_date=form.birth_date, password=form.password, full_name=form.full_name,
                           consent=form.guardian_consent, today=now.date())
        if (await session.exec(select(User.id).where(User.email == email))).first() is not None:
            raise Conflict("email_taken", "an account with this e-mail exists", )
        consent = form.guardian_consent
        user = User(
            email=email, password_hash=_hasher.hash(form.password), full_name=form.full_name.strip(),
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
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except VerificationError:
        user = None
    if user is None:
        raise Unauthorized("invalid_credentials", "wrong e-mail or password")
    return user


async def make_ops_user(ctx: ShopContext, email: str, password: str) -> tuple[User, bool]:
    """Create a staff account, or promote and re-key an existing one. Returns (user, created)."""
    normalised = normalised_email(email)
    async with ctx.sessions() as session, session.begin():
        user = (await session.exec(select(User).where(User.email == normalised))).one_or_none()
        if user is not None:
            user.is_ops, user.password_hash = True, _hasher.hash(password)
            session.add(user)
            return user, False
    return await register(ctx, Registration(normalised, password, "Operations", date(1970, 1, 1)),
                          is_ops=True), True
