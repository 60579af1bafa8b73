"""Every setting the shop reads, in one typed object built from the environment.

`make run`, `make test`, the server and every ops task read the same variables (STOREFRONT-API.md,
"Settings every process reads").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Mapping

DEFAULT_SECRET_KEY = "dev-secret-change-me-0123456789abcdef"
DEFAULT_STRIPE_SECRET_KEY = "sk_test_development"
DEFAULT_STRIPE_WEBHOOK_SECRET = "whsec_development"
SECRET_KEY_LEAST_LENGTH = 32
SECRET_KEY_LEAST_DISTINCT = 10
"""A production SHOP_SECRET_KEY has 32+ characters, at least 10 of them different ("aaaa…", "abab…" refused;
a random hex key of 32 has about 14)."""
STRIPE_DEFAULT_API_BASE = "https://api.stripe.com"
DEFAULT_POOL_SIZE = 20
"""PostgreSQL connections kept per process: the bench's 16 requests at once and some room (shop.adapters.db)."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class PasswordHashProfile(StrEnum):
    """argon2-cffi's parameter profiles (argon2.profiles): what a new password hash costs. A stored
    hash carries its own parameters, so hashes of either profile verify under both."""

    PRODUCTION = "rfc9106-low-memory"
    """argon2-cffi's default (RFC 9106's second recommendation): 0.1-0.4 s a hash here."""
    CHEAPEST = "cheapest"
    """The least argon2 allows (argon2.profiles.CHEAPEST): for tests only, refused in production."""


class SettingsError(ValueError):
    """A setting is missing or unusable; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    host: str
    """HOST: the address the API listens on (default 127.0.0.1)."""
    port: int
    """PORT: the TCP port (default 8000)."""
    database_url: str
    """DATABASE_URL in its plain form: `sqlite:///relative.db`, `sqlite:////absolute/shop.db` or
    `postgresql://user:password@host:port/db`; the shop picks its own driver (sqlite3, asyncpg)."""
    database_pool_size: int
    """DATABASE_POOL_SIZE: PostgreSQL connections each process keeps open (default 20), at least as
    many as one worker has requests in the database at once; ignored on SQLite (one connection)."""
    env: Environment
    """SHOP_ENV: development (default), test (enables the test clock) or production."""
    secret_key: str
    """SHOP_SECRET_KEY: signs login tokens; in production refused at its default, blank, shorter than
    32 characters or of fewer than 10 different characters."""
    stripe_secret_key: str
    """STRIPE_SECRET_KEY: the Stripe API key (`sk_…`); in production refused missing, blank or at its
    development default."""
    stripe_webhook_secret: str
    """STRIPE_WEBHOOK_SECRET: verifies `Stripe-Signature` on webhooks (`whsec_…`); in production refused
    missing, blank or at its development default (anyone could sign a payment with the README's)."""
    stripe_api_base: str
    """STRIPE_API_BASE: Stripe's own API by default; tests point it at localstripe."""
    stripe_timeout_seconds: int
    """STRIPE_TIMEOUT_SECONDS: how long one request to Stripe may take (default 10; the SDK's own 80
    would hold a customer's checkout for minutes, with its two retries, when Stripe hangs)."""
    smtp_host: str
    """SMTP_HOST: where order e-mails go (empty: e-mails are logged, not sent)."""
    smtp_port: int
    """SMTP_PORT: the SMTP server's port (default 25)."""
    mail_from: str
    """MAIL_FROM: the sender of the shop's e-mails."""
    public_url: str = "http://127.0.0.1:8000"
    """PUBLIC_URL: the shop's address as customers reach it (default http://127.0.0.1:8000); e-mails
    link to it (the link to a perk's service code, KZ-4.1 iii)."""
    access_log: bool = True
    """ACCESS_LOG: uvicorn's line per request (default 1); 0 where a proxy in front logs requests."""
    password_hash_profile: PasswordHashProfile = PasswordHashProfile.PRODUCTION
    """PASSWORD_HASH_PROFILE: the argon2 cost of new password hashes: `rfc9106-low-memory` (the default)
    or `cheapest` (the default with SHOP_ENV=test, so the suite does not spend minutes hashing; refused
    in production)."""

    @property
    def is_test(self) -> bool:
        return self.env is Environment.TEST

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        try:
            shop_env = Environment(env.get("SHOP_ENV", "development"))
        except ValueError:
            raise SettingsError(
                f"SHOP_ENV must be one of {', '.join(e.value for e in Environment)}"
            ) from None
        secret_key = env.get("SHOP_SECRET_KEY", DEFAULT_SECRET_KEY)
        profile = _choice(env, "PASSWORD_HASH_PROFILE", PasswordHashProfile,
                          PasswordHashProfile.CHEAPEST if shop_env is Environment.TEST else PasswordHashProfile.PRODUCTION)
        if shop_env is Environment.PRODUCTION:
            _refuse_development_secrets(env, secret_key, profile)
        return cls(
            host=env.get("HOST", "127.0.0.1"),
            port=_int(env, "PORT", 8000),
            database_url=env.get("DATABASE_URL", "sqlite:///shop.db"),
            database_pool_size=_int(env, "DATABASE_POOL_SIZE", DEFAULT_POOL_SIZE, least=1),
            env=shop_env,
            secret_key=secret_key,
            stripe_secret_key=env.get("STRIPE_SECRET_KEY", DEFAULT_STRIPE_SECRET_KEY),
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", DEFAULT_STRIPE_WEBHOOK_SECRET),
            stripe_api_base=env.get("STRIPE_API_BASE", STRIPE_DEFAULT_API_BASE).rstrip("/"),
            stripe_timeout_seconds=_int(env, "STRIPE_TIMEOUT_SECONDS", 10, least=1),
            smtp_host=env.get("SMTP_HOST", ""),
            smtp_port=_int(env, "SMTP_PORT", 25),
            mail_from=env.get("MAIL_FROM", "shop@mi.example"),
            public_url=_public_url(env),
            access_log=_flag(env, "ACCESS_LOG", True),
            password_hash_profile=profile,
        )


def _public_url(env: Mapping[str, str]) -> str:
    value = env.get("PUBLIC_URL", "http://127.0.0.1:8000").strip().rstrip("/")
    if not value.startswith(("http://", "https://")) or len(value) < len("http://x"):
        raise SettingsError("PUBLIC_URL must be an http:// or https:// address, e.g. https://shop.example")
    return value


def _refuse_development_secrets(env: Mapping[str, str], secret_key: str, profile: PasswordHashProfile) -> None:
    """Production never starts on a secret anyone can read in the README (a webhook signed with the
    default secret would mark an order paid) or on a guessable one; every offender is named."""
    wrong = []
    key = secret_key.strip()
    if secret_key == DEFAULT_SECRET_KEY or len(key) < SECRET_KEY_LEAST_LENGTH or len(set(key)) < SECRET_KEY_LEAST_DISTINCT:
        wrong.append(f"SHOP_SECRET_KEY must be a secret of {SECRET_KEY_LEAST_LENGTH}+ characters, at least "
                     f"{SECRET_KEY_LEAST_DISTINCT} of them different, not the development default")
    for name, default in (("STRIPE_SECRET_KEY", DEFAULT_STRIPE_SECRET_KEY),
                          ("STRIPE_WEBHOOK_SECRET", DEFAULT_STRIPE_WEBHOOK_SECRET)):
        value = env.get(name, "").strip()
        if not value or value == default:
            wrong.append(f"{name} must be set to the account's own value, not blank or {default!r}")
    if profile is PasswordHashProfile.CHEAPEST:
        wrong.append("PASSWORD_HASH_PROFILE=cheapest is for tests, not production")
    if wrong:
        raise SettingsError("SHOP_ENV=production refuses development secrets: " + "; ".join(wrong))


def _int(env: Mapping[str, str], name: str, default: int, *, least: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if least is not None and value < least:
        raise SettingsError(f"{name} must be at least {least}, not {value}")
    return value


def _choice(env: Mapping[str, str], name: str, kind: type[PasswordHashProfile],
            default: PasswordHashProfile) -> PasswordHashProfile:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be one of {', '.join(k.value for k in kind)}, not {raw!r}") from None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0, not {raw!r}")


def async_database_url(plain: str) -> str:
    """Turn the plain DATABASE_URL into the SQLAlchemy URL of the async driver the shop uses."""
    if plain.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + plain.removeprefix("sqlite:///")
    for prefix in ("postgresql://", "postgres://"):
        if plain.startswith(prefix):
            return "postgresql+asyncpg://" + plain.removeprefix(prefix)
    if "+" in plain.split("://", 1)[0]:
        return plain  # already names a driver
    raise SettingsError("DATABASE_URL must start with sqlite:/// or postgresql://")


def sqlite_path(plain: str) -> Path | None:
    """The file of a SQLite DATABASE_URL (None for other databases)."""
    if plain.startswith("sqlite:///"):
        return Path(plain.removeprefix("sqlite:///"))
    return None
