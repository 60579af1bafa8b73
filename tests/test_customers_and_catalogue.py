"""Who may buy (RS-I.1, RS-I.2), the terms in force (RS-XV) and the catalogue (RS-III.1, RS-VII.13,
RS-VII.14), through the API."""

from __future__ import annotations

from sqlmodel import select

from shop.adapters.tables import User
from tests.support import order_body

REGISTER = "/api/v1/auth/register"


def person(**extra):
    return {"email": "mina@mail.example.rs", "password": "correct horse battery", "full_name": "Mina Marić",
            "birth_date": "2000-01-31", **extra}


async def test_customer_registers_and_logs_in_with_a_bearer_token_RS_I_1(shop):
    assert (await shop.http.post(REGISTER, json=person())).status_code == 201
    response = await shop.http.post("/api/v1/auth/login", json={"email": "MINA@mail.example.rs",
                                                                "password": "correct horse battery"})
    assert response.json()["token_type"] == "bearer" and response.json()["access_token"]


async def test_wrong_password_and_missing_token_are_401_problems_RS_I_1(shop):
    await shop.http.post(REGISTER, json=person())
    wrong = await shop.http.post("/api/v1/auth/login", json={"email": "mina@mail.example.rs", "password": "nope"})
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    anonymous = await shop.http.post("/api/v1/orders", json=order_body())
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")


async def test_same_email_cannot_register_twice(shop):
    await shop.http.post(REGISTER, json=person())
    again = await shop.http.post(REGISTER, json=person(email="Mina@Mail.Example.rs"))
    assert (again.status_code, again.json()["code"]) == (409, "email_taken")


async def test_invalid_email_is_named(shop):
    response = await shop.http.post(REGISTER, json=person(email="not-an-address"))
    assert (response.status_code, response.json()["field"]) == (422, "email")


async def test_minor_needs_guardian_consent_RS_I_2(shop):
    await shop.http.put("/api/v1/test/clock", json={"now": "2026-11-22T10:00:00Z"})
    refused = await shop.http.post(REGISTER, json=person(birth_date="2008-11-23"))  # 18 tomorrow
    assert refused.status_code == 422
    assert {k: refused.json()[k] for k in ("code", "clause", "field")} == {
        "code": "guardian_consent_required", "clause": "RS-I.2", "field": "guardian_consent"}

    consent = {"guardian_name": "Jelena Marić", "given_at": "2026-11-20"}
    accepted = await shop.http.post(REGISTER, json=person(birth_date="2008-11-23", guardian_consent=consent))
    assert accepted.status_code == 201
    async with shop.ctx.sessions() as session:  # recorded, producible on request
        user = (await session.exec(select(User).where(User.email == "mina@mail.example.rs"))).one()
    assert (user.guardian_name, user.guardian_consent_given_at.isoformat()) == ("Jelena Marić", "2026-11-20")


async def test_adult_on_the_18th_birthday_needs_no_consent_RS_I_2(shop):
    await shop.http.put("/api/v1/test/clock", json={"now": "2026-11-22T10:00:00Z"})
    assert (await shop.http.post(REGISTER, json=person(birth_date="2008-11-22"))).status_code == 201


async def test_another_customers_order_is_not_found_RS_I_1(shop):
    owner, stranger = await shop.customer(), await shop.customer()
    order = await shop.place(owner)
    for call in (shop.http.get(f"/api/v1/orders/{order['id']}", headers=stranger),
                 shop.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=stranger)):
        response = await call
        assert (response.status_code, response.json()["code"]) == (404, "order_not_found")
    assert (await shop.http.get("/api/v1/orders", headers=stranger)).json() == []


async def test_terms_in_force_per_market_RS_XV(shop):
    rs = (await shop.http.get("/api/v1/terms", params={"market": "RS"})).json()
    kz = (await shop.http.get("/api/v1/terms", params={"market": "KZ"})).json()
    assert (rs["version"], rs["in_force_from"]) == ("2025-12-18", "2025-12-18")
    assert kz["version"] == "2025-09-24"


async def test_demo_catalogue_has_what_the_storefront_relies_on_RS_VII_13_RS_VII_14(shop):
    for market, currency in (("RS", "RSD"), ("KZ", "KZT")):
        products = (await shop.http.get("/api/v1/products", params={"market": market})).json()
        models = {p["model"] for p in products}
        assert {"Xiaomi 15T", "Xiaomi 15T Pro", "Redmi Note 14 Pro"} <= models
        assert any(p["category"] == "accessory" for p in products)
        assert any(not p["returnable"] for p in products)  # RS-VII.14
        assert any(p["set_items"] for p in products)  # RS-VII.13
        for product in products:  # RS-III.1: gross prices in the market's currency, minor units
            assert product["price"]["currency"] == currency and isinstance(product["price"]["amount_minor"], int)
            assert product["vat_rate"] and product["in_stock"] == 50


async def test_unknown_market_is_a_400_naming_the_parameter(shop):
    response = await shop.http.get("/api/v1/products", params={"market": "DE"})
    assert (response.status_code, response.json()["field"]) == (400, "market")


async def test_staff_set_stock_but_never_below_reserved_units_RS_V_5_6(shop):
    await shop.place(await shop.customer(), order_body(lines=[("rs-charger-67w", 3)]))
    ops = await shop.ops()
    path = "/api/v1/ops/products/rs-charger-67w/stock"

    below = await shop.http.put(path, json={"in_stock": 2}, headers=ops)
    assert (below.status_code, below.json()["code"]) == (409, "stock_below_reserved")
    counted = await shop.http.put(path, json={"in_stock": 7}, headers=ops)
    assert counted.json() == {"sku": "rs-charger-67w", "on_hand": 7, "reserved": 3, "in_stock": 4}
    assert (await shop.http.put(path, json={"in_stock": -1}, headers=ops)).status_code == 422
    assert (await shop.http.put("/api/v1/ops/products/nope/stock", json={"in_stock": 1}, headers=ops)).status_code == 404
    assert (await shop.http.put(path, json={"in_stock": 9}, headers=await shop.customer())).status_code == 403
