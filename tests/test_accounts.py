"""Who may buy: an account, logged in (RS-I.1); a minor only with a guardian's consent (RS-I.2);
a customer sees only their own orders and no ops endpoint (STOREFRONT-API.md, Conventions)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import time_machine
from litestar.exceptions import NotAuthorizedException
from sqlalchemy import select

from shop.adapters.tables import User, table_of
from shop.settings import Settings
from shop.web.app import create_app
from shop.web.auth import TOKEN_LIFETIME, CheckedOnceToken, issue_token, jwt_auth
from tests.support import order_body

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
CLOCK = "/api/v1/test/clock"
PASSWORD = "correct horse battery"


def person(email: str = "mina@mail.example.rs", **extra) -> dict:
    return {"email": email, "password": PASSWORD, "full_name": "Mina Marić", "birth_date": "1990-01-31", **extra}


def assert_problem(response, status: int, **members) -> dict:
    """`response` is an RFC 9457 problem with `status` and the given members (code, clause, field)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert {name: body.get(name) for name in members} == members, body
    return body


async def stored_user(shop, email: str):
    """The account as stored (the columns of `users` by name)."""
    users = table_of(User)
    return await shop.ctx.db.read(lambda uow: uow.connection.execute(select(users).where(users.c.email == email)).one())


# --- registering -----------------------------------------------------------------------------------


async def test_customer_registers_with_201_RS_I_1(shop):
    response = await shop.http.post(REGISTER, json=person())

    assert response.status_code == 201, response.text
    assert response.json()["email"] == "mina@mail.example.rs"
    assert "password" not in response.text and "hash" not in response.text


async def test_an_email_registers_once_whatever_its_case_RS_I_1(shop):
    await shop.http.post(REGISTER, json=person())

    again = await shop.http.post(REGISTER, json=person(email="MINA@Mail.Example.RS"))

    assert_problem(again, 409, code="email_taken")


@pytest.mark.parametrize("email", ["not-an-address", "mina@", "@mail.example.rs", ""])
async def test_invalid_email_is_refused_naming_the_field_RS_IV_2(shop, email):
    response = await shop.http.post(REGISTER, json=person(email=email))

    assert_problem(response, 422, field="email")


async def test_short_password_is_refused_naming_the_field(shop):
    response = await shop.http.post(REGISTER, json=person(password="short"))

    assert_problem(response, 422, code="password_too_short", field="password")


# --- minors (RS-I.2) -------------------------------------------------------------------------------


async def test_minor_needs_guardian_consent_RS_I_2(shop):
    await shop.http.put(CLOCK, json={"now": "2026-11-22T10:00:00Z"})

    response = await shop.http.post(REGISTER, json=person(birth_date="2010-06-01"))

    assert_problem(response, 422, code="guardian_consent_required", clause="RS-I.2", field="guardian_consent")
    assert await shop.ctx.db.read(lambda uow: uow.connection.execute(select(table_of(User))).all()) == []


async def test_minor_with_consent_registers_and_the_consent_is_recorded_RS_I_2(shop):
    await shop.http.put(CLOCK, json={"now": "2026-11-22T10:00:00Z"})
    consent = {"guardian_name": "Jelena Marić", "given_at": "2026-11-20"}

    response = await shop.http.post(REGISTER, json=person(birth_date="2010-06-01", guardian_consent=consent))

    assert response.status_code == 201, response.text
    user = await stored_user(shop, "mina@mail.example.rs")  # producible on request
    assert (user.guardian_name, user.guardian_consent_given_at.isoformat()) == ("Jelena Marić", "2026-11-20")


async def test_consent_given_in_the_future_is_refused_RS_I_2(shop):
    await shop.http.put(CLOCK, json={"now": "2026-11-22T10:00:00Z"})
    consent = {"guardian_name": "Jelena Marić", "given_at": "2026-12-01"}

    response = await shop.http.post(REGISTER, json=person(birth_date="2010-06-01", guardian_consent=consent))

    assert_problem(response, 422, clause="RS-I.2", field="guardian_consent.given_at")


@pytest.mark.parametrize(("birth_date", "status"), [
    ("2008-11-22", 201),  # 18 today: of age, no consent needed
    ("2008-11-23", 422),  # 18 tomorrow: still a minor
])
async def test_the_eighteenth_birthday_is_the_boundary_RS_I_2(shop, birth_date, status):
    await shop.http.put(CLOCK, json={"now": "2026-11-22T12:00:00Z"})

    response = await shop.http.post(REGISTER, json=person(birth_date=birth_date))

    assert response.status_code == status, response.text


async def test_an_adult_record_carries_no_consent_RS_I_2(shop):
    await shop.http.post(REGISTER, json=person())

    user = await stored_user(shop, "mina@mail.example.rs")

    assert (user.guardian_name, user.guardian_consent_given_at) == (None, None)


# --- logging in ------------------------------------------------------------------------------------


async def test_login_returns_a_bearer_token_that_opens_the_account_RS_I_1(shop):
    await shop.http.post(REGISTER, json=person())

    response = await shop.http.post(LOGIN, json={"email": "mina@mail.example.rs", "password": PASSWORD})

    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "bearer" and isinstance(token["access_token"], str) and token["access_token"]
    mine = await shop.http.get("/api/v1/orders", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert (mine.status_code, mine.json()) == (200, [])


@pytest.mark.parametrize("credentials", [
    {"email": "mina@mail.example.rs", "password": "wrong password"},
    {"email": "nobody@mail.example.rs", "password": PASSWORD},
])
async def test_wrong_credentials_are_a_401_problem_RS_I_1(shop, credentials):
    await shop.http.post(REGISTER, json=person())

    response = await shop.http.post(LOGIN, json=credentials)

    assert_problem(response, 401, code="invalid_credentials")
    assert "access_token" not in response.json()


# --- who sees what ---------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic bWluYTpwYXNz",
                                           "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.forged"])
async def test_customer_endpoints_need_a_valid_token_RS_I_1(shop, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    calls = [("GET", "/api/v1/orders", None), ("POST", "/api/v1/orders", order_body()),
             ("GET", "/api/v1/orders/00000000-0000-0000-0000-000000000000", None),
             ("POST", "/api/v1/orders/00000000-0000-0000-0000-000000000000/cancel", None)]

    for method, path, body in calls:
        response = await shop.http.request(method, path, json=body, headers=headers)
        assert_problem(response, 401)


async def test_a_token_signed_with_another_key_is_refused_whatever_it_claims(shop):
    await shop.ops()  # the staff account exists
    forged = issue_token(jwt_auth("not the shop's key, but long enough 0123456789"), user_id=1, is_ops=True)

    response = await shop.http.put("/api/v1/ops/products/rs-15t-12-256/stock", json={"in_stock": 0},
                                   headers={"Authorization": f"Bearer {forged}"})

    assert_problem(response, 401)


async def test_a_token_accepted_before_is_refused_once_its_12_hours_are_over_RS_I_1(shop):
    customer = await shop.customer()
    assert (await shop.http.get("/api/v1/orders", headers=customer)).status_code == 200  # checked, and kept

    with time_machine.travel(TOKEN_LIFETIME + timedelta(seconds=1)):
        response = await shop.http.get("/api/v1/orders", headers=customer)

    assert_problem(response, 401)


def test_a_token_checked_once_is_checked_again_for_another_key_and_after_its_lifetime():
    key, other_key = "the shop's key, long enough 0123456789abcdef", "another key, long enough 0123456789abcdef"
    token = issue_token(jwt_auth(key), user_id=7, is_ops=False)

    first, again = CheckedOnceToken.decode(token, key, "HS256"), CheckedOnceToken.decode(token, key, "HS256")

    assert first is again and (again.sub, again.extras) == ("7", {"ops": False})
    with pytest.raises(NotAuthorizedException):
        CheckedOnceToken.decode(token, other_key, "HS256")
    with time_machine.travel(first.exp), pytest.raises(NotAuthorizedException):
        CheckedOnceToken.decode(token, key, "HS256")
    with time_machine.travel(first.iat - timedelta(seconds=1)), pytest.raises(NotAuthorizedException):
        CheckedOnceToken.decode(token, key, "HS256")  # a clock set back: issued in its future


async def test_a_customer_cannot_use_ops_endpoints(shop):
    customer = await shop.customer()
    order = await shop.place(customer)
    calls = [("POST", f"/api/v1/ops/orders/{order['id']}/confirm", {"lines": []}),
             ("POST", f"/api/v1/ops/orders/{order['id']}/delivery-failed", {"reason": "absent"}),
             ("POST", f"/api/v1/ops/orders/{order['id']}/out-of-stock", {}),
             ("GET", f"/api/v1/ops/orders/{order['id']}", None),
             ("PUT", "/api/v1/ops/products/rs-15t-12-256/stock", {"in_stock": 0})]

    for method, path, body in calls:
        response = await shop.http.request(method, path, json=body, headers=customer)
        assert_problem(response, 403)
    assert (await shop.order(customer, order["id"]))["state"] == "awaiting_payment"


async def test_another_customers_order_answers_404_RS_I_1(shop):
    owner, stranger = await shop.customer(), await shop.customer()
    order = await shop.place(owner)

    seen = await shop.http.get(f"/api/v1/orders/{order['id']}", headers=stranger)
    cancelled = await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=stranger)
    listed = await shop.http.get("/api/v1/orders", headers=stranger)

    assert_problem(seen, 404, code="order_not_found")
    assert_problem(cancelled, 404, code="order_not_found")
    assert listed.json() == []
    assert (await shop.order(owner, order["id"]))["state"] == "awaiting_payment"


# --- the test clock exists only in the test environment --------------------------------------------


async def test_test_clock_answers_404_outside_the_test_environment(shop, settings):
    development = create_app(Settings.from_env({
        "DATABASE_URL": settings.database_url, "SHOP_ENV": "development",
        "STRIPE_SECRET_KEY": settings.stripe_secret_key, "STRIPE_API_BASE": settings.stripe_api_base,
    }))
    await shop.http.put(CLOCK, json={"now": "2040-01-01T00:00:00Z"})  # set through the test app
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=development),
                                     base_url="http://shop.test") as client:
            put = await client.put(CLOCK, json={"now": "2040-01-01T00:00:00Z"})
            delete = await client.delete(CLOCK)
            # A clock row left in the database does not move "now" there: born 2012, a minor today.
            minor = await client.post(REGISTER, json=person(birth_date="2012-01-01"))
    finally:
        await development.state["ctx"].aclose()

    assert_problem(put, 404)
    assert_problem(delete, 404)
    assert_problem(minor, 422, code="guardian_consent_required", clause="RS-I.2")


# --- RS-I.2 on the markets' local dates; the consent produced on request ---------------------------


async def test_age_is_judged_on_the_markets_local_date_not_utc_RS_I_2(shop):
    # 23:30 UTC on the 21st is the 22nd in Belgrade (00:30) and Almaty (04:30): the 18th birthday.
    await shop.http.put(CLOCK, json={"now": "2026-11-21T23:30:00Z"})

    response = await shop.http.post(REGISTER, json=person(birth_date="2008-11-22"))

    assert response.status_code == 201, response.text


async def test_of_age_only_once_eighteen_in_every_market_RS_I_2(shop):
    """Decision: an account buys in RS and KZ, so it is of age once 18 on the earlier local date.
    20:00 UTC on the 21st is already the 22nd in Almaty (01:00) but still the 21st in Belgrade."""
    await shop.http.put(CLOCK, json={"now": "2026-11-21T20:00:00Z"})

    response = await shop.http.post(REGISTER, json=person(birth_date="2008-11-22"))

    assert_problem(response, 422, code="guardian_consent_required", clause="RS-I.2")


async def test_consent_dated_today_in_a_market_is_not_in_the_future_RS_I_2(shop):
    """Given today in Almaty (01:00 on the 22nd) while UTC and Belgrade still say the 21st."""
    await shop.http.put(CLOCK, json={"now": "2026-11-21T20:00:00Z"})
    consent = {"guardian_name": "Aigerim Bekova", "given_at": "2026-11-22"}

    response = await shop.http.post(REGISTER, json=person(birth_date="2012-03-01", guardian_consent=consent))

    assert response.status_code == 201, response.text


@pytest.mark.parametrize("birth_date", ["0001-01-01", "1899-12-31", "2999-01-01"])
async def test_implausible_birth_date_is_refused_naming_the_field_RS_I_2(shop, birth_date):
    response = await shop.http.post(REGISTER, json=person(birth_date=birth_date))

    assert_problem(response, 422, code="invalid_birth_date", field="birth_date")


async def test_birth_date_of_1900_is_accepted_RS_I_2(shop):
    assert (await shop.http.post(REGISTER, json=person(birth_date="1900-01-01"))).status_code == 201


@pytest.mark.parametrize("given_at", ["0001-01-01", "2010-05-31"])
async def test_consent_given_before_birth_is_refused_RS_I_2(shop, given_at):
    await shop.http.put(CLOCK, json={"now": "2026-11-22T10:00:00Z"})
    consent = {"guardian_name": "Jelena Marić", "given_at": given_at}

    response = await shop.http.post(REGISTER, json=person(birth_date="2010-06-01", guardian_consent=consent))

    assert_problem(response, 422, clause="RS-I.2", field="guardian_consent.given_at")


async def test_stored_consent_is_produced_to_the_customer_and_to_ops_RS_I_2(shop):
    await shop.http.put(CLOCK, json={"now": "2026-11-22T10:00:00Z"})
    consent = {"guardian_name": "Jelena Marić", "given_at": "2026-11-20"}
    await shop.http.post(REGISTER, json=person(birth_date="2010-06-01", guardian_consent=consent))
    minor = await shop.login("mina@mail.example.rs", PASSWORD)

    own = await shop.http.get("/api/v1/account", headers=minor)
    user_id = own.json()["id"]
    for_staff = await shop.http.get(f"/api/v1/ops/accounts/{user_id}", headers=await shop.ops())
    for_a_customer = await shop.http.get(f"/api/v1/ops/accounts/{user_id}", headers=minor)

    assert own.status_code == 200, own.text
    assert own.json()["guardian_consent"] == consent
    assert (own.json()["birth_date"], own.json()["registered_at"]) == ("2010-06-01", "2026-11-22T10:00:00Z")
    assert "password" not in own.text and "hash" not in own.text
    assert (for_staff.status_code, for_staff.json()) == (200, {**own.json(), "blocks": []})  # RS-XIII: staff's
    assert_problem(for_a_customer, 403)


async def test_an_adults_account_shows_no_consent_RS_I_2(shop):
    adult = await shop.customer()

    own = await shop.http.get("/api/v1/account", headers=adult)

    assert (own.status_code, own.json()["guardian_consent"], own.json()["is_ops"]) == (200, None, False)
    assert_problem(await shop.http.get("/api/v1/ops/accounts/999999", headers=await shop.ops()), 404,
                   code="account_not_found")
