"""Settings from the environment, and the one clock (STOREFRONT-API.md: Settings, Test clock)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shop.settings import DEFAULT_SECRET_KEY, PasswordHashProfile, SettingsError, Settings, async_database_url

ROOT = Path(__file__).resolve().parents[1]


PRODUCTION = {"SHOP_ENV": "production", "SHOP_SECRET_KEY": "k3Y-of-production-7f1c9a0e5d2b8c4e6a1f",
              "STRIPE_SECRET_KEY": "sk_live_51AbCdEf", "STRIPE_WEBHOOK_SECRET": "whsec_LiveSecret123"}


def test_production_starts_on_its_own_secrets():
    settings = Settings.from_env(PRODUCTION)

    assert (settings.secret_key, settings.stripe_webhook_secret) == (PRODUCTION["SHOP_SECRET_KEY"], "whsec_LiveSecret123")
    assert settings.password_hash_profile is PasswordHashProfile.PRODUCTION


@pytest.mark.parametrize("secret_key", [
    None, DEFAULT_SECRET_KEY, "short", " " * 40, "\t \n" * 12, "a" * 40, "ab" * 20, "0123456789" * 2 + " " * 20,
    "abcabcabcabcabcabcabcabcabcabcabcabcabc",
])
def test_default_blank_short_or_low_variety_secret_key_is_refused_in_production(secret_key):
    env = {**PRODUCTION, "SHOP_SECRET_KEY": secret_key}
    if secret_key is None:
        del env["SHOP_SECRET_KEY"]

    with pytest.raises(SettingsError, match="SHOP_SECRET_KEY"):
        Settings.from_env(env)


@pytest.mark.parametrize(("name", "value"), [
    (name, value) for name, default in (("STRIPE_SECRET_KEY", "sk_test_development"),
                                        ("STRIPE_WEBHOOK_SECRET", "whsec_development"))
    for value in (None, "", "   ", default, f" {default}\n")])
def test_stripe_secret_missing_blank_or_default_is_refused_in_production_naming_it(name, value):
    env = {**PRODUCTION, name: value}
    if value is None:
        del env[name]

    with pytest.raises(SettingsError, match=name) as refused:
        Settings.from_env(env)

    other = ({"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SHOP_SECRET_KEY"} - {name})
    assert not any(f"{variable} must" in str(refused.value) for variable in other)


def test_every_development_secret_is_named_at_once_in_production():
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SHOP_ENV": "production"})

    assert all(f"{name} must" in str(refused.value)
               for name in ("SHOP_SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"))


def test_development_secrets_are_fine_outside_production():
    assert Settings.from_env({}).stripe_webhook_secret == "whsec_development"
    assert Settings.from_env({"SHOP_ENV": "test"}).secret_key == DEFAULT_SECRET_KEY


def test_password_hash_profile_is_cheapest_in_tests_only():
    assert Settings.from_env({"SHOP_ENV": "test"}).password_hash_profile is PasswordHashProfile.CHEAPEST
    assert Settings.from_env({}).password_hash_profile is PasswordHashProfile.PRODUCTION
    assert Settings.from_env({"PASSWORD_HASH_PROFILE": "cheapest"}).password_hash_profile is PasswordHashProfile.CHEAPEST
    with pytest.raises(SettingsError, match="PASSWORD_HASH_PROFILE"):
        Settings.from_env({**PRODUCTION, "PASSWORD_HASH_PROFILE": "cheapest"})
    with pytest.raises(SettingsError, match="PASSWORD_HASH_PROFILE"):
        Settings.from_env({"PASSWORD_HASH_PROFILE": "fast"})


_DEVELOPMENT_SECRETS = {"SHOP_ENV": "production", "SHOP_SECRET_KEY": PRODUCTION["SHOP_SECRET_KEY"],
                        "STRIPE_SECRET_KEY": "sk_live_51AbCdEf", "STRIPE_WEBHOOK_SECRET": "whsec_development"}


@pytest.mark.parametrize("task", [["migrate"], ["seed"], ["ops-user", "a@b.rs", "password 1234"],
                                  ["ops-demote", "a@b.rs"], ["expire-payments"], ["serve"]])
def test_a_task_in_production_on_a_development_secret_stops_with_the_variable_named(task, tmp_path):
    env = {**_clean_environment(), **_DEVELOPMENT_SECRETS, "DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"}

    ran = subprocess.run([sys.executable, "-m", "shop.jobs", *task], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)

    assert ran.returncode == 2, ran
    assert "STRIPE_WEBHOOK_SECRET" in ran.stderr and "Traceback" not in ran.stderr, ran.stderr
    assert not (tmp_path / "never.db").exists()


def test_the_server_factory_in_production_on_a_development_secret_exits_with_the_variable_named(tmp_path):
    env = {**_clean_environment(), **_DEVELOPMENT_SECRETS, "STRIPE_WEBHOOK_SECRET": " ",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"}

    ran = subprocess.run([sys.executable, "-m", "uvicorn", "--factory", "shop.web.app:app_from_env", "--port", "0"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert ran.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET" in ran.stderr and "Traceback" not in ran.stderr, ran.stderr


def _clean_environment() -> dict[str, str]:
    import os

    return {name: value for name, value in os.environ.items()
            if not name.startswith(("SHOP_", "STRIPE_", "DATABASE_", "PASSWORD_"))}


def test_unknown_environment_and_bad_port_are_named():
    with pytest.raises(SettingsError, match="SHOP_ENV"):
        Settings.from_env({"SHOP_ENV": "staging"})
    with pytest.raises(SettingsError, match="PORT"):
        Settings.from_env({"PORT": "eighty"})


def test_the_postgresql_pool_size_is_a_setting_and_a_bad_one_is_named():
    from shop.adapters.database import Database

    assert Settings.from_env({}).database_pool_size == 20
    assert Settings.from_env({"DATABASE_POOL_SIZE": "32"}).database_pool_size == 32
    for bad in ("0", "many"):
        with pytest.raises(SettingsError, match="DATABASE_POOL_SIZE"):
            Settings.from_env({"DATABASE_POOL_SIZE": bad})
    db = Database("postgresql://shop@127.0.0.1:1/shop", pool_size=32)  # connects on first use only
    assert db.sync_engine.pool.size() == 32


def test_stripe_timeout_is_a_setting_and_a_bad_one_is_named():
    assert Settings.from_env({}).stripe_timeout_seconds == 10
    assert Settings.from_env({"STRIPE_TIMEOUT_SECONDS": "4"}).stripe_timeout_seconds == 4
    for bad in ("0", "soon"):
        with pytest.raises(SettingsError, match="STRIPE_TIMEOUT_SECONDS"):
            Settings.from_env({"STRIPE_TIMEOUT_SECONDS": bad})


def test_access_log_is_on_unless_switched_off_and_a_bad_value_is_named():
    assert Settings.from_env({}).access_log is True
    assert Settings.from_env({"ACCESS_LOG": "0"}).access_log is False
    assert Settings.from_env({"ACCESS_LOG": "yes"}).access_log is True
    with pytest.raises(SettingsError, match="ACCESS_LOG"):
        Settings.from_env({"ACCESS_LOG": "sometimes"})


@pytest.mark.parametrize(("plain", "driver_url"), [
    ("sqlite:///shop.db", "sqlite+aiosqlite:///shop.db"),
    ("sqlite:////var/lib/shop.db", "sqlite+aiosqlite:////var/lib/shop.db"),
    ("postgresql://shop:pw@db:5432/shop", "postgresql+asyncpg://shop:pw@db:5432/shop"),
])
def test_plain_database_url_picks_the_driver(plain, driver_url):
    assert async_database_url(plain) == driver_url


def test_mysql_url_is_refused_with_the_variable_named():
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        async_database_url("mysql://shop@db/shop")


async def test_test_clock_decides_placed_at_and_payment_window_T_4(shop):
    await shop.http.put("/api/v1/test/clock", json={"now": "2026-03-31T18:59:00Z"})
    order = await shop.place(await shop.customer())
    assert order["placed_at"] == "2026-03-31T18:59:00Z"
    assert order["payment_due_at"] == "2026-03-31T20:59:00Z"  # RS-V.1: two hours to the second

    response = await shop.http.delete("/api/v1/test/clock")
    assert response.json()["frozen"] is False
    later = await shop.place(await shop.customer())
    assert later["placed_at"] > "2026-11-01"


async def test_test_clock_refuses_an_instant_without_offset(shop):
    response = await shop.http.put("/api/v1/test/clock", json={"now": "2026-03-31T18:59:00"})
    assert response.status_code == 400
    assert response.json()["field"] == "now"


async def test_test_clock_is_not_found_outside_the_test_environment(settings):
    import dataclasses

    import httpx

    from shop.settings import Environment
    from shop.web.app import create_app

    app = create_app(dataclasses.replace(settings, env=Environment.DEVELOPMENT))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop.test") as client:
        put = await client.put("/api/v1/test/clock", json={"now": "2026-01-01T00:00:00Z"})
        delete = await client.delete("/api/v1/test/clock")
    await app.state["ctx"].aclose()
    assert (put.status_code, delete.status_code) == (404, 404)


def test_public_url_is_an_http_address_without_its_trailing_slash():
    assert Settings.from_env({"PUBLIC_URL": "https://shop.example/"}).public_url == "https://shop.example"
    with pytest.raises(SettingsError, match="PUBLIC_URL"):
        Settings.from_env({"PUBLIC_URL": "shop.example"})
