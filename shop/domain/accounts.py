"""Who may buy (RS-I.1, RS-I.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from email_validator import EmailNotValidError, validate_email

from shop.domain.calendar import local_date
from shop.domain.errors import InvalidInput, Unauthorized
from shop.domain.markets import Market

AGE_OF_LEGAL_CAPACITY = 18  # RS-I.2
MIN_PASSWORD_LENGTH = 10
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
"""A birth date before it is a typing error (0001-01-01), not a customer."""


def account_gone() -> Unauthorized:
    """A token whose account was deleted or erased (RS-XII): 401 `account_not_found` on every route,
    whichever step notices it (the token's own read, or a use case reading the account itself)."""
    return Unauthorized("account_not_found", "the account behind this token no longer exists", field="Authorization")


@dataclass(frozen=True)
class RegistrationDay:
    """RS-I.2 on the markets' local dates, not UTC's. An account is not tied to a market (one
    account buys in RS and KZ), so: a customer is of age once 18 on the EARLIEST of the markets'
    local dates (18 wherever the shop sells), and a date given (birth, consent) lies in the future
    only when past the LATEST of them (already today somewhere the shop sells is not the future)."""

    earliest: date
    latest: date

    @classmethod
    def at(cls, now: datetime) -> RegistrationDay:
        days = [local_date(now, market) for market in Market]
        return cls(min(days), max(days))


@dataclass(frozen=True)
class GuardianConsent:
    guardian_name: str
    given_at: date


def age_on(birth_date: date, day: date) -> int:
    years = day.year - birth_date.year
    return years - ((day.month, day.day) < (birth_date.month, birth_date.day))


def normalised_email(raw: str) -> str:
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise InvalidInput("invalid_email", str(error), field="email") from None


def check_registration(
    *, birth_date: date, password: str, full_name: str, consent: GuardianConsent | None, today: RegistrationDay
) -> None:
    """RS-I.1 a natural person with an account; RS-I.2 a minor only with a guardian's consent, both
    judged on the markets' local dates (RegistrationDay)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password_too_short",
                           f"password needs at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if not full_name.strip():
        raise InvalidInput("full_name_missing", "full_name is required", clause="RS-I.1", field="full_name")
    if birth_date >= today.latest:
        raise InvalidInput("invalid_birth_date", "birth_date must lie in the past", field="birth_date")
    if birth_date < EARLIEST_BIRTH_DATE:
        raise InvalidInput("invalid_birth_date", f"birth_date may not lie before {EARLIEST_BIRTH_DATE.isoformat()}",
                           field="birth_date")
    if age_on(birth_date, today.earliest) >= AGE_OF_LEGAL_CAPACITY:  # RS-I.2
        return
    if consent is None:
        raise InvalidInput(
            "guardian_consent_required",
            f"a customer under {AGE_OF_LEGAL_CAPACITY} needs a legal representative's consent",
            clause="RS-I.2", field="guardian_consent",
        )
    if not consent.guardian_name.strip():
        raise InvalidInput("guardian_name_missing", "guardian_consent.guardian_name is required",
                           clause="RS-I.2", field="guardian_consent.guardian_name")
    if consent.given_at > today.latest:
        raise InvalidInput("guardian_consent_in_future", "guardian_consent.given_at lies in the future",
                           clause="RS-I.2", field="guardian_consent.given_at")
    if consent.given_at < birth_date:
        raise InvalidInput("guardian_consent_before_birth", "guardian_consent.given_at lies before birth_date",
                           clause="RS-I.2", field="guardian_consent.given_at")
