"""Who may buy (RS-I.1, RS-I.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from email_validator import EmailNotValidError, validate_email

from shop.domain.errors import InvalidInput

AGE_OF_LEGAL_CAPACITY = 18  # RS-I.2
MIN_PASSWORD_LENGTH = 10


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
    *, birth_date: date, password: str, full_name: str, consent: GuardianConsent | None, today: date
) -> None:
    """RS-I.1 a natural person with an account; RS-I.2 a minor only with a guardian's consent."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password_too_short",
                           f"password needs at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if not full_name.strip():
        raise InvalidInput("full_name_missing", "full_name is required", clause="RS-I.1", field="full_name")
    if birth_date >= today:
        raise InvalidInput("invalid_birth_date", "birth_date must lie in the past", field="birth_date")
    if age_on(birth_date, today) >= AGE_OF_LEGAL_CAPACITY:
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
    if consent.given_at > today:
        raise InvalidInput("guardian_consent_in_future", "guardian_consent.given_at lies in the future",
                           clause="RS-I.2", field="guardian_consent.given_at")
