"""RS-XII: the customer erases their account; only what the contract needs is kept (shop.domain.privacy).
Through the API on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from shop.adapters.tables import OutboxEmail, User, table_of
from shop.domain.errors import Conflict
from shop.domain.privacy import (ERASED_BIRTH_DATE, ERASED_PASSWORD_HASH, CustomerMatters, check_erasable,
                                 still_needed)
from tests.ops_support import set_clock
from tests.support import ShopClient, order_body
from tests.test_order_messages import free_port
from tests.test_accounts import LOGIN, PASSWORD, REGISTER, assert_problem, person

ACCOUNT = "/api/v1/account"
PLACED_AT = "2026-10-01T08:00:00Z"
DELIVERED_AT = "2026-10-01T12:00:00Z"  # the withdrawal period ends 15 Oct 23:59:59 in Belgrade
WITHIN_WITHDRAWAL = "2026-10-15T21:59:00Z"
LONG_AFTER = "2026-12-01T09:00:00Z"


async def erase(shop: ShopClient, headers: dict[str, str], password: str = PASSWORD) -> Any:
    return await shop.http.request("DELETE", ACCOUNT, json={"password": password}, headers=headers)


async def stored(shop: ShopClient, account_id: int) -> Any:
    users = table_of(User)
    return await shop.ctx.db.read(lambda uow: uow.connection.execute(
        select(users).where(users.c.id == account_id)).one())


async def register_and_log_in(shop: ShopClient, email: str, **extra: Any) -> tuple[int, dict[str, str]]:
    registered = await shop.http.post(REGISTER, json=person(email, phone="+381641234567", **extra))
    assert registered.status_code == 201, registered.text
    return registered.json()["id"], await shop.login(email, PASSWORD)


async def delivered_order(shop: ShopClient, customer: dict[str, str]) -> dict[str, Any]:
    await set_clock(shop, PLACED_AT)
    order = await shop.shipped_order(customer)
    await set_clock(shop, "2026-10-01T13:00:00Z")
    response = await shop.ops_post(f"/orders/{order['id']}/deliver", {"delivered_at": DELIVERED_AT})
    assert response.status_code == 200, response.text
    return response.json()


async def cancelled_order(shop: ShopClient, customer: dict[str, str]) -> dict[str, Any]:
    order = await shop.place(customer)
    response = await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=customer)
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_account_whose_orders_are_all_finished_is_erased_and_its_orders_kept_RS_XII(shop):
    email = "erasable@mail.example.rs"
    account_id, customer = await register_and_log_in(
        shop, email, birth_date="2009-03-01",
        guardian_consent={"guardian_name": "Vesna Marić", "given_at": "2025-01-10"})
    delivered = await delivered_order(shop, customer)
    cancelled = await cancelled_order(shop, customer)
    await set_clock(shop, LONG_AFTER)  # past the delivered order's withdrawal period

    response = await erase(shop, customer)

    assert response.status_code == 200, response.text
    assert {name: response.json()[name] for name in ("id", "email", "full_name", "phone", "guardian_consent",
                                                     "erased_at")} == {
        "id": account_id, "email": f"erased-{account_id}@invalid", "full_name": "", "phone": None,
        "guardian_consent": None, "erased_at": "2026-12-01T09:00:00Z"}
    user = await stored(shop, account_id)
    assert (user.email, user.full_name, user.phone, user.birth_date, user.guardian_name,
            user.guardian_consent_given_at, user.password_hash) == (
        f"erased-{account_id}@invalid", "", None, ERASED_BIRTH_DATE, None, None, ERASED_PASSWORD_HASH)
    assert user.erased_at is not None
    for gone in (await shop.http.get(ACCOUNT, headers=customer), await shop.http.get("/api/v1/orders", headers=customer),
                 await shop.http.post("/api/v1/orders", json=order_body(), headers=customer),
                 await erase(shop, customer)):
        assert_problem(gone, 401, code="account_not_found", field="Authorization")  # RS-XII, on every route
    assert_problem(await shop.http.post(LOGIN, json={"email": email, "password": PASSWORD}), 401,
                   code="invalid_credentials")
    staff = await shop.ops()
    shown = await shop.http.get(f"/api/v1/ops/accounts/{account_id}", headers=staff)
    assert (shown.status_code, shown.json()["email"], shown.json()["erased_at"]) == (
        200, f"erased-{account_id}@invalid", "2026-12-01T09:00:00Z")
    kept = await shop.http.get(f"/api/v1/ops/orders/{delivered['id']}", headers=staff)
    assert (kept.status_code, kept.json()["state"]) == (200, "delivered")
    [invoice] = kept.json()["invoices"]
    assert (invoice["buyer"]["name"], invoice["buyer"]["email"]) == ("Mina Marić", email)  # as issued (RS-IV.8)
    assert kept.json()["timeline"] == delivered["timeline"]
    assert (await shop.http.get(f"/api/v1/ops/orders/{cancelled['id']}", headers=staff)).json()["state"] == "cancelled"
    again_id, again = await register_and_log_in(shop, email)  # the address is free again
    assert again_id != account_id
    assert (await shop.http.get(ACCOUNT, headers=again)).json()["email"] == email


async def test_erasure_is_refused_while_an_order_awaits_payment_RS_XII(shop):
    customer = await shop.customer()
    order = await shop.place(customer)

    await assert_refused_and_unchanged(shop, customer, order["number"], "awaiting_payment")


async def test_erasure_is_refused_while_an_order_is_shipped_RS_XII(shop):
    customer = await shop.customer()
    order = await shop.shipped_order(customer)

    await assert_refused_and_unchanged(shop, customer, order["number"], "shipped")


async def test_erasure_is_refused_while_a_refund_is_pending_RS_XII(shop):
    customer = await shop.customer()
    order = await shop.place(customer, order_body(payment_method="installments"))
    await shop.ops_post(f"/orders/{order['id']}/installment-decision", {"approved": True})
    cancelled = await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=customer)
    assert [refund["state"] for refund in cancelled.json()["refunds"]] == ["pending"]  # the provider pays back

    await assert_refused_and_unchanged(shop, customer, f"refund of order {order['number']}", "pending")

    await shop.ops_post(f"/refunds/{cancelled.json()['refunds'][0]['id']}/provider-paid")
    assert (await erase(shop, customer)).status_code == 200  # settled: nothing holds it any more


async def test_erasure_is_refused_within_a_delivered_orders_withdrawal_period_RS_XII_RS_VII_1(shop):
    customer = await shop.customer()
    order = await delivered_order(shop, customer)
    await set_clock(shop, WITHIN_WITHDRAWAL)

    await assert_refused_and_unchanged(shop, customer, order["number"], "within its withdrawal period")


async def assert_refused_and_unchanged(shop: ShopClient, customer: dict[str, str], *named: str) -> None:
    before = (await shop.http.get(ACCOUNT, headers=customer)).json()

    body = assert_problem(await erase(shop, customer), 409, code="account_still_needed", clause="RS-XII")

    assert all(name in body["detail"] for name in named), body
    assert (await shop.http.get(ACCOUNT, headers=customer)).json() == before
    assert (await shop.http.get("/api/v1/orders", headers=customer)).status_code == 200


async def test_a_wrong_password_is_403_and_erases_nothing_RS_XII(shop):
    customer = await shop.customer()
    before = (await shop.http.get(ACCOUNT, headers=customer)).json()

    assert_problem(await erase(shop, customer, "not the password"), 403, code="wrong_password", field="password")

    assert (await shop.http.get(ACCOUNT, headers=customer)).json() == before
    assert before["erased_at"] is None


async def test_wrong_passwords_are_throttled_per_account_and_leave_its_login_alone_RS_XII(shop):
    throttle = shop.http.app.state["login_throttle"]
    throttle.clear()
    try:
        customer = await shop.customer()
        for _ in range(5):
            assert_problem(await erase(shop, customer, "not the password"), 403)

        limited = assert_problem(await erase(shop, customer), 429, code="too_many_attempts")

        assert int((await erase(shop, customer)).headers["Retry-After"]) > 0, limited
        assert (await shop.http.get(ACCOUNT, headers=customer)).json()["erased_at"] is None
        await shop.login(shop.last_email, PASSWORD)  # logging in is not throttled by it
    finally:
        throttle.clear()


async def test_erasure_needs_a_token_and_a_password_RS_XII(shop):
    assert_problem(await shop.http.request("DELETE", ACCOUNT, json={"password": PASSWORD}), 401)
    customer = await shop.customer()
    assert_problem(await shop.http.request("DELETE", ACCOUNT, json={}, headers=customer), 400)
    assert_problem(await shop.http.request("DELETE", ACCOUNT, headers=customer), 400)


async def test_e_mails_queued_to_an_erased_account_are_not_sent_RS_XII(shop, monkeypatch):
    customer = await shop.customer()
    address = shop.last_email
    monkeypatch.setattr(shop.ctx.mailer, "port", free_port())  # no server there: the e-mails stay queued
    await cancelled_order(shop, customer)
    await shop.ctx.background.drain()
    emails = table_of(OutboxEmail)

    def unsent(uow: Any) -> int:
        return uow.connection.execute(select(func.count()).where(emails.c.to == address, emails.c.sent_at.is_(None))
                                      ).scalar_one()

    assert await shop.ctx.db.read(unsent) > 0
    assert (await erase(shop, customer)).status_code == 200
    assert await shop.ctx.db.read(unsent) == 0


# --- the rule alone (shop.domain.privacy), without a database -------------------------------------

def perk(code: str, state: str, lapses_at: str | None) -> SimpleNamespace:
    return SimpleNamespace(number="KZ-1", code=code, state=state, terms_version="kz-vip-2025-09-24",
                           opens_at=None, lapses_at=None if lapses_at is None else datetime.fromisoformat(lapses_at))


def test_an_unused_perk_redeemed_through_the_account_holds_it_others_go_with_the_device_RS_XII_KZ_4_2():
    now = datetime(2026, 1, 10, 9, tzinfo=UTC)
    matters = CustomerMatters(perks=[
        perk("spotify", "waiting_for_activation", "2026-08-08T18:59:59+00:00"),  # its code e-mailed to the buyer
        perk("lounge", "waiting_for_activation", "2025-10-31T18:59:59+00:00"),  # lapsed by the clock
        perk("google_ai_pro", "open", "2026-03-31T18:59:59+00:00"),  # used in the partner's app
        perk("screen_repair", "open", None),  # at a service centre, by the IMEI
    ])

    assert [str(held) for held in still_needed(matters, now)] == ["perk spotify of order KZ-1 (waiting_for_activation)"]


def test_open_claims_complaints_take_backs_and_service_cases_hold_it_final_ones_do_not_RS_XII():
    def rows(*states: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(number="RS-1", state=state) for state in states]

    matters = CustomerMatters(withdrawals=rows("awaiting_return", "refunded"),
                              conformity_claims=rows("remedy_refused", "remedied"),
                              complaints=rows("received", "answered"), take_backs=rows("requested", "collected"),
                              service_cases=rows("estimated", "repaired"), refunds=rows("failed", "succeeded"))

    held = [held.state for held in still_needed(matters, datetime(2026, 1, 10, tzinfo=UTC))]

    assert held == ["failed", "awaiting_return", "remedy_refused", "received", "requested", "estimated"]
    with pytest.raises(Conflict) as refused:
        check_erasable(still_needed(matters, datetime(2026, 1, 10, tzinfo=UTC)))
    assert (refused.value.code, refused.value.clause) == ("account_still_needed", "RS-XII")
    check_erasable(still_needed(CustomerMatters(refunds=rows("succeeded")), datetime(2026, 1, 10, tzinfo=UTC)))
