"""The catalogue (RS-III.1, RS-V.2, RS-VII.13, RS-VII.14), the terms in force (RS-XV) and stock set by
staff (RS-V.5.6, RS-V.5.8), through the API (STOREFRONT-API.md: Catalogue, Terms, Stock)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support import order_body

CURRENCY = {"RS": "RSD", "KZ": "KZT"}
PRODUCT_FIELDS = {"sku", "name", "model", "market", "price", "vat_rate", "in_stock", "max_per_customer",
                  "returnable", "delivery_methods", "set_items"}


async def products(shop, market: str) -> list[dict]:
    response = await shop.http.get("/api/v1/products", params={"market": market})
    assert response.status_code == 200, response.text
    return response.json()


async def in_stock(shop, sku: str) -> int:
    market = sku[:2].upper()
    return next(p["in_stock"] for p in await products(shop, market) if p["sku"] == sku)


def stock_path(sku: str) -> str:
    return f"/api/v1/ops/products/{sku}/stock"


def assert_problem(response, status: int, **members) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {name: body.get(name) for name in members} == members, body
    return body


# --- the demo catalogue ----------------------------------------------------------------------------


@pytest.mark.parametrize("market", ["RS", "KZ"])
async def test_demo_catalogue_has_what_the_storefront_relies_on_RS_VII_13_RS_VII_14(shop, market):
    listed = await products(shop, market)

    assert all(PRODUCT_FIELDS <= product.keys() and product["market"] == market for product in listed)
    models = [product["model"] for product in listed]
    assert models.count("Xiaomi 15T") == 1 and models.count("Xiaomi 15T Pro") == 1
    assert any(p["category"] == "phone" and p["model"] not in ("Xiaomi 15T", "Xiaomi 15T Pro") for p in listed)
    assert any(p["category"] == "accessory" for p in listed)
    assert any(p["returnable"] is False for p in listed)  # RS-VII.14
    sets = [p for p in listed if p["set_items"]]  # RS-VII.13
    assert sets and all(len(p["set_items"]) >= 2 for p in sets)


@pytest.mark.parametrize("market", ["RS", "KZ"])
async def test_prices_are_integer_minor_units_in_the_market_currency_RS_III_1(shop, market):
    for product in await products(shop, market):
        price = product["price"]
        assert price.keys() == {"amount_minor", "currency"}
        assert type(price["amount_minor"]) is int and price["amount_minor"] > 0
        assert price["currency"] == CURRENCY[market]
        assert Decimal("0") < Decimal(product["vat_rate"]) < Decimal("1")


async def test_serbian_prices_include_twenty_percent_vat_RS_III_1(shop):
    assert {p["vat_rate"] for p in await products(shop, "RS")} == {"0.20"}


async def test_delivery_methods_are_listed_per_product_RS_V_2(shop):
    methods = {p["sku"]: p["delivery_methods"] for p in await products(shop, "RS")}

    assert methods["rs-tv-a-55"] == ["courier"]
    assert set(methods["rs-15t-12-256"]) == {"courier", "store_pickup"}


@pytest.mark.parametrize("market", ["DE", "rs", "", "RSX"])
async def test_unknown_market_is_a_400_naming_market(shop, market):
    response = await shop.http.get("/api/v1/products", params={"market": market})

    assert_problem(response, 400, field="market")


async def test_market_is_required_for_the_catalogue(shop):
    response = await shop.http.get("/api/v1/products")

    assert_problem(response, 400, field="market")


# --- the terms in force (RS-XV) --------------------------------------------------------------------


@pytest.mark.parametrize(("market", "version"), [("RS", "2025-12-18"), ("KZ", "2025-09-24")])
async def test_terms_in_force_per_market_RS_XV(shop, market, version):
    response = await shop.http.get("/api/v1/terms", params={"market": market})

    assert response.status_code == 200, response.text
    terms = response.json()
    assert (terms["market"], terms["version"], terms["in_force_from"]) == (market, version, version)


async def test_terms_of_an_unknown_market_are_a_400_naming_market_RS_XV(shop):
    assert_problem(await shop.http.get("/api/v1/terms", params={"market": "HR"}), 400, field="market")


# --- stock set by staff ----------------------------------------------------------------------------


async def test_staff_set_the_units_on_hand(shop):
    response = await shop.http.put(stock_path("rs-charger-67w"), json={"in_stock": 7}, headers=await shop.ops())

    assert response.status_code == 200, response.text
    assert response.json()["in_stock"] == 7
    assert await in_stock(shop, "rs-charger-67w") == 7
    assert await in_stock(shop, "kz-charger-67w") == 50  # the other market's product is another product


async def test_stock_below_the_reserved_units_is_refused_RS_V_5_6(shop):
    await shop.place(await shop.customer(), order_body(lines=[("rs-charger-67w", 3)]))

    below = await shop.http.put(stock_path("rs-charger-67w"), json={"in_stock": 2}, headers=await shop.ops())
    exactly = await shop.http.put(stock_path("rs-charger-67w"), json={"in_stock": 3}, headers=await shop.ops())

    assert_problem(below, 409, code="stock_below_reserved")
    assert exactly.status_code == 200, exactly.text
    assert exactly.json()["reserved"] == 3 and exactly.json()["in_stock"] == 0
    assert await in_stock(shop, "rs-charger-67w") == 0


async def test_units_counted_by_staff_decide_what_can_be_ordered_RS_V_5_6(shop):
    await shop.http.put(stock_path("rs-charger-67w"), json={"in_stock": 1}, headers=await shop.ops())

    refused = await shop.http.post("/api/v1/orders", json=order_body(lines=[("rs-charger-67w", 2)]),
                                   headers=await shop.customer())

    assert_problem(refused, 409, code="out_of_stock", clause="RS-V.5.6")


@pytest.mark.parametrize("units", [-1, -50])
async def test_negative_stock_is_refused(shop, units):
    response = await shop.http.put(stock_path("rs-charger-67w"), json={"in_stock": units},
                                   headers=await shop.ops())

    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code, field="in_stock")
    assert await in_stock(shop, "rs-charger-67w") == 50


async def test_stock_of_an_unknown_sku_is_404(shop):
    response = await shop.http.put(stock_path("rs-nothing"), json={"in_stock": 1}, headers=await shop.ops())

    assert_problem(response, 404)


async def test_stock_needs_an_ops_account(shop):
    as_customer = await shop.http.put(stock_path("rs-charger-67w"), json={"in_stock": 1},
                                      headers=await shop.customer())
    anonymous = await shop.http.put(stock_path("rs-charger-67w"), json={"in_stock": 1})

    assert_problem(as_customer, 403)
    assert_problem(anonymous, 401)
    assert await in_stock(shop, "rs-charger-67w") == 50
