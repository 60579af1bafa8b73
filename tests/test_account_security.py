"""A token is only as good as the account behind it; login throttling; passwords hashed off the
event loop and outside any transaction (issue 16, Security and Tests)."""

from __future__ import annotations

import asyncio
import threading

import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from sqlalchemy import delete

from shop.adapters.password_work import PasswordWork, PasswordWorkBusy
from shop.adapters.tables import User, table_of
from shop.services import accounts
from shop.services.login_throttle import FAILURES_PER_ADDRESS, FAILURES_PER_EMAIL, WINDOW
from tests.support import order_body, run_task
from tests.test_accounts import LOGIN, PASSWORD, assert_problem, person, stored_user

REGISTER = "/api/v1/auth/register"
STOCK = "/api/v1/ops/products/rs-15t-12-256/stock"


@pytest_asyncio.fixture
async def throttle(shop):
    """The app's login throttle, empty before and after the test (the app lives for the session)."""
    limiter = shop.http.app.state["login_throttle"]
    limiter.clear()
    yield limiter
    limiter.clear()


def bearer(shop, user_id: int | str, ops: object = False, *, with_ops: bool = True) -> dict[str, str]:
    """A token signed with the shop's own key, claiming what the test says."""
    extras = {"ops": ops} if with_ops else {}
    token = shop.http.app.state["jwt"].create_token(identifier=str(user_id), token_extras=extras)
    return {"Authorization": f"Bearer {token}"}


async def customer_calls(shop, headers: dict[str, str]) -> list:
    return [await shop.http.get("/api/v1/orders", headers=headers),
            await shop.http.post("/api/v1/orders", json=order_body(), headers=headers),
            await shop.http.get("/api/v1/account", headers=headers)]


# --- the account behind a token ------------------------------------------------------------------


async def test_token_of_deleted_user_is_401(shop):
    customer = await shop.customer()
    assert (await shop.http.get("/api/v1/orders", headers=customer)).status_code == 200  # checked, and kept
    users = table_of(User)
    await shop.ctx.db.transaction(lambda uow: uow.connection.execute(delete(users).where(users.c.email == shop.last_email)))

    for response in await customer_calls(shop, customer):
        assert_problem(response, 401, code="account_not_found", field="Authorization")


async def test_token_of_unknown_user_is_401_account_not_found_on_every_kind_of_route(shop):
    """One answer for a token whose account is gone, whichever step reads the account: the token's
    own read (orders, the account, an ops route), the order's use case (which reads it itself), or a
    public route that takes a token when one is sent (a notice of illegal content, RS-XIII)."""
    token = bearer(shop, 987654)
    calls = await customer_calls(shop, token) + [
        await shop.http.post("/api/v1/reviews/1/notices", headers=token, json={
            "explanation": "It names a person.", "name": "Marko Marković", "email": "m@mail.example.rs",
            "good_faith": True}),
        await shop.http.get("/api/v1/ops/payments/flagged", headers=bearer(shop, 987654, True))]

    for response in calls:
        assert_problem(response, 401, code="account_not_found", field="Authorization")


async def test_token_that_names_no_account_is_401_not_authenticated(shop):
    for response in await customer_calls(shop, bearer(shop, "abc")):
        assert_problem(response, 401, code="not_authenticated")


@pytest.mark.parametrize("sub", ["abc", "0", "-1", " 7", "+7", "7.0", "1e3", "\u0667", "99999999999999999999",
                                 str(2**31), "0x1f"])
async def test_sub_that_is_not_a_valid_id_is_401(shop, sub):
    for response in await customer_calls(shop, bearer(shop, sub)):
        assert_problem(response, 401)


@pytest.mark.parametrize("ops", ["yes", 1, "true", None, [True]])
async def test_ops_claim_that_is_not_a_strict_boolean_is_401(shop, ops):
    await shop.ops()
    staff = await stored_user(shop, "ops@shop.example.rs")

    response = await shop.http.put(STOCK, json={"in_stock": 3}, headers=bearer(shop, staff.id, ops))

    assert_problem(response, 401)


async def test_token_without_an_ops_claim_is_401(shop):
    await shop.customer()
    user = await stored_user(shop, shop.last_email)

    assert_problem(await shop.http.get("/api/v1/orders", headers=bearer(shop, user.id, with_ops=False)), 401)


async def test_customer_token_claiming_ops_gets_no_ops_rights(shop):
    """A token says `ops: true` only when its account was staff; the account decides, not the claim
    alone (a key leak aside, such a token cannot exist; the read makes sure)."""
    await shop.customer()
    user = await stored_user(shop, shop.last_email)

    assert_problem(await shop.http.put(STOCK, json={"in_stock": 3}, headers=bearer(shop, user.id, True)), 403)


async def test_demoted_ops_account_loses_ops_rights_at_once(shop):
    staff = await shop.ops()
    assert (await shop.http.put(STOCK, json={"in_stock": 3}, headers=staff)).status_code == 200

    await accounts.demote_ops_user(shop.ctx, email="ops@shop.example.rs")

    assert_problem(await shop.http.put(STOCK, json={"in_stock": 4}, headers=staff), 403)
    assert (await shop.http.get("/api/v1/orders", headers=staff)).status_code == 200  # still a customer


async def test_ops_demote_endpoint_demotes_another_account_at_once(shop):
    staff = await shop.ops()
    await accounts.make_ops_user(shop.ctx, "second@shop.example.rs", "ops password 456")
    second = await shop.login("second@shop.example.rs", "ops password 456")
    second_id = (await stored_user(shop, "second@shop.example.rs")).id

    demoted = await shop.http.post(f"/api/v1/ops/accounts/{second_id}/demote", headers=staff)

    assert (demoted.status_code, demoted.json()["is_ops"]) == (200, False)
    assert_problem(await shop.http.put(STOCK, json={"in_stock": 4}, headers=second), 403)
    assert_problem(await shop.http.post("/api/v1/ops/accounts/999999/demote", headers=staff), 404,
                   code="account_not_found")
    assert_problem(await shop.http.post(f"/api/v1/ops/accounts/{2**40}/demote", headers=staff), 400)


async def test_staff_find_an_account_by_its_email_in_any_case(shop):
    staff = await shop.ops()
    await shop.customer()
    email = shop.last_email
    user = await stored_user(shop, email)

    found = await shop.http.get("/api/v1/ops/accounts", params={"email": email.upper()}, headers=staff)
    by_id = await shop.http.get(f"/api/v1/ops/accounts/{user.id}", headers=staff)
    nobody = await shop.http.get("/api/v1/ops/accounts", params={"email": "nobody@mail.example.rs"}, headers=staff)

    assert (found.status_code, found.json()) == (200, [by_id.json()])
    assert (nobody.status_code, nobody.json()) == (200, [])
    assert_problem(await shop.http.get("/api/v1/ops/accounts", params={"email": "not an address"}, headers=staff),
                   422, code="invalid_email", field="email")
    assert_problem(await shop.http.get("/api/v1/ops/accounts", headers=staff), 400, field="email")
    assert_problem(await shop.http.get("/api/v1/ops/accounts", params={"email": email},
                                       headers=await shop.customer()), 403)


async def test_make_ops_demote_task_demotes_at_once(shop, settings):
    staff = await shop.ops()
    done = run_task(settings, "ops-demote", "OPS@shop.example.rs")
    unknown = run_task(settings, "ops-demote", "nobody@shop.example.rs")

    assert done.returncode == 0, done.stderr
    assert "ops@shop.example.rs" in done.stdout and "demoted" in done.stdout
    assert_problem(await shop.http.put(STOCK, json={"in_stock": 4}, headers=staff), 403)
    assert unknown.returncode != 0 and "no such account" in unknown.stderr and "Traceback" not in unknown.stderr


# --- login throttling ----------------------------------------------------------------------------


async def failed_login(shop, email: str = "mina@mail.example.rs"):
    return await shop.http.post(LOGIN, json={"email": email, "password": "wrong password"})


async def test_repeated_failed_logins_for_one_email_answer_429_with_retry_after(shop, throttle):
    await shop.http.post(REGISTER, json=person())
    for _ in range(FAILURES_PER_EMAIL):
        assert_problem(await failed_login(shop), 401, code="invalid_credentials")

    refused = await failed_login(shop)
    right_password_too = await shop.http.post(LOGIN, json={"email": "MINA@mail.example.rs", "password": PASSWORD})

    assert_problem(refused, 429, code="too_many_attempts", field="email")
    assert 0 < int(refused.headers["Retry-After"]) <= WINDOW.total_seconds()
    assert_problem(right_password_too, 429, code="too_many_attempts")
    other = await shop.customer()  # another e-mail from the same address still logs in
    assert (await shop.http.get("/api/v1/orders", headers=other)).status_code == 200


async def test_failed_logins_of_an_unknown_email_are_throttled_alike(shop, throttle):
    for _ in range(FAILURES_PER_EMAIL):
        assert_problem(await failed_login(shop, "nobody@mail.example.rs"), 401)

    assert_problem(await failed_login(shop, "nobody@mail.example.rs"), 429, code="too_many_attempts")


async def test_throttled_email_logs_in_again_once_the_window_has_passed(shop, throttle):
    await shop.http.put("/api/v1/test/clock", json={"now": "2026-11-22T10:00:00Z"})
    await shop.http.post(REGISTER, json=person())
    for _ in range(FAILURES_PER_EMAIL):
        await failed_login(shop)
    refused = await shop.http.post(LOGIN, json={"email": "mina@mail.example.rs", "password": PASSWORD})
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) == WINDOW.total_seconds()

    await shop.http.put("/api/v1/test/clock", json={"now": "2026-11-22T10:15:00Z"})
    allowed = await shop.http.post(LOGIN, json={"email": "mina@mail.example.rs", "password": PASSWORD})

    assert allowed.status_code == 200, allowed.text


async def test_a_successful_login_clears_the_failures_of_its_email(shop, throttle):
    await shop.http.post(REGISTER, json=person())
    for _ in range(FAILURES_PER_EMAIL - 1):
        await failed_login(shop)
    assert (await shop.http.post(LOGIN, json={"email": "mina@mail.example.rs", "password": PASSWORD})).status_code == 200

    assert_problem(await failed_login(shop), 401)  # counted from zero again


async def test_repeated_failed_logins_from_one_address_answer_429(shop, throttle):
    await shop.http.post(REGISTER, json=person())
    for n in range(FAILURES_PER_ADDRESS):
        assert_problem(await failed_login(shop, f"guess{n}@mail.example.rs"), 401)

    refused = await shop.http.post(LOGIN, json={"email": "mina@mail.example.rs", "password": PASSWORD})

    assert_problem(refused, 429, code="too_many_attempts")
    assert int(refused.headers["Retry-After"]) > 0


async def test_known_and_unknown_emails_both_verify_a_password_once(shop, throttle, monkeypatch):
    """The time taken stays the same: an unknown e-mail is verified against a dummy hash."""
    await shop.http.post(REGISTER, json=person())
    calls: list[str] = []
    verify = PasswordHasher.verify

    def counting(self, hash, password):  # noqa: A002 - argon2's own parameter name
        calls.append(hash)
        return verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)

    await failed_login(shop, "mina@mail.example.rs")
    await failed_login(shop, "nobody@mail.example.rs")
    await shop.http.post(LOGIN, json={"email": "mina@mail.example.rs", "password": PASSWORD})

    assert len(calls) == 3 and calls[0] == calls[2] != calls[1]
    assert calls[1].split("$")[:4] == calls[0].split("$")[:4]  # the same argon2 variant and cost


# --- hashing off the event loop, outside any transaction -----------------------------------------


async def test_register_hashes_off_the_event_loop_holding_no_connection(shop, monkeypatch):
    seen: list[tuple[bool, int]] = []
    hash_ = PasswordHasher.hash
    loop_thread = threading.current_thread()
    db = shop.ctx.db

    def watched(self, password, *, salt=None):
        seen.append((threading.current_thread() is not loop_thread, db.connections_in_use()))
        return hash_(self, password, salt=salt)

    monkeypatch.setattr(PasswordHasher, "hash", watched)

    assert (await shop.http.post(REGISTER, json=person())).status_code == 201
    await accounts.make_ops_user(shop.ctx, "ops@shop.example.rs", "ops password 123")

    assert seen == [(True, 0), (True, 0)]


async def test_login_verifies_off_the_event_loop(shop, throttle, monkeypatch):
    await shop.http.post(REGISTER, json=person())
    threads: list[bool] = []
    verify = PasswordHasher.verify
    loop_thread = threading.current_thread()

    def watched(self, hash, password):  # noqa: A002
        threads.append(threading.current_thread() is not loop_thread)
        return verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", watched)

    assert (await shop.http.post(LOGIN, json={"email": "mina@mail.example.rs", "password": PASSWORD})).status_code == 200
    assert threads == [True]


async def test_tests_hash_at_the_cheapest_profile_and_production_at_the_default(shop):
    from argon2 import profiles

    from shop.settings import PasswordHashProfile

    await shop.http.post(REGISTER, json=person())
    stored = (await stored_user(shop, "mina@mail.example.rs")).password_hash

    assert f"m={profiles.CHEAPEST.memory_cost},t={profiles.CHEAPEST.time_cost}" in stored
    production = accounts.password_hasher(PasswordHashProfile.PRODUCTION)
    assert (production.memory_cost, production.time_cost) == (profiles.RFC_9106_LOW_MEMORY.memory_cost,
                                                              profiles.RFC_9106_LOW_MEMORY.time_cost)
    assert production.verify(stored, PASSWORD)  # a hash carries its cost: verified under any profile


# --- a bounded number of hashes at once ----------------------------------------------------------


async def test_password_work_runs_at_most_its_bound_at_once_and_refuses_past_its_queue():
    """At the production profile a hash takes 64 MiB: however many arrive, at most `at_once` run
    (memory bounded), `waiting_most` wait their turn, and the next is refused at once (503)."""
    work = PasswordWork(at_once=2, waiting_most=3)
    release, lock = threading.Event(), threading.Lock()
    running, most_running = [0], [0]

    def hash_slowly(n: int) -> int:
        with lock:
            running[0] += 1
            most_running[0] = max(most_running[0], running[0])
        release.wait(5)
        with lock:
            running[0] -= 1
        return n

    started = [asyncio.create_task(work.run(hash_slowly, n)) for n in range(5)]
    await asyncio.sleep(0.05)  # all five handed over: two running, three waiting
    with pytest.raises(PasswordWorkBusy) as refused:
        await work.run(hash_slowly, 5)
    release.set()

    assert await asyncio.gather(*started) == [0, 1, 2, 3, 4]
    assert (most_running[0], work.in_hand, refused.value.retry_after, refused.value.status) == (2, 0, 1, 503)
    assert await work.run(hash_slowly, 6) == 6  # room again
    work.close()


@pytest.mark.parametrize("path", [REGISTER, LOGIN])
async def test_registering_and_logging_in_past_the_hashing_queue_is_503_with_retry_after(shop, throttle, path):
    """The app's own bound (AT_ONCE running, WAITING_MOST waiting) taken up: the next is refused at once, and nothing
    is written: the account is not registered, the failure not counted."""
    body = person() if path == REGISTER else {"email": "nobody@mail.example.rs", "password": "wrong password"}
    work, release = shop.ctx.password_work, threading.Event()
    busy = [asyncio.create_task(work.run(release.wait, 5)) for _ in range(work.at_once + work.waiting_most)]
    await asyncio.sleep(0.05)
    try:
        refused = await shop.http.post(path, json=body)
    finally:
        release.set()
        await asyncio.gather(*busy)

    assert_problem(refused, 503, code="password_work_busy")
    assert refused.headers["Retry-After"] == "1"
    assert len(throttle.per_address) == 0
    if path == REGISTER:
        assert (await shop.http.post(REGISTER, json=body)).status_code == 201  # never half-registered
