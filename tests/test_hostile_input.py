"""What a hostile client sent and the shop answered with a 500 (issue 16): each is now a 400 problem
naming the field, and nothing is written (STOREFRONT-API.md, Conventions: nothing a client sends
produces a 500)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from shop.adapters.tables import Order, Product, User, table_of
from shop.services import test_clock
from shop.settings import Environment
from shop.web.app import create_app
from tests.support import api_document, order_body
from tests.test_errors import assert_problem

ORDERS, QUOTE = "/api/v1/orders", "/api/v1/checkout/quote"
LOGIN, REGISTER = "/api/v1/auth/login", "/api/v1/auth/register"
DEEP_ARRAY = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000
NOT_UTF8 = b"\xff\xfe"


async def counts(shop) -> tuple[int, int]:
    def count(uow, table) -> int:
        return uow.connection.execute(select(func.count()).select_from(table_of(table))).scalar_one()
    return await shop.ctx.db.read(lambda uow: (count(uow, User), count(uow, Order)))


def with_bytes(body: dict[str, Any], member: str, raw: bytes) -> bytes:
    """`body` as JSON with `raw` (not UTF-8) inside the string value of `member`."""
    return json.dumps({**body, member: "MARK"}).encode().replace(b'"MARK"', b'"' + raw + b'"')


def person() -> dict[str, Any]:
    return {"email": "hostile@mail.example.rs", "password": "correct horse battery", "full_name": "Ana",
            "birth_date": "1990-01-31"}


@pytest.mark.parametrize("payload", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize("path", [QUOTE, LOGIN, ORDERS, REGISTER])
async def test_json_nested_1000_deep_is_a_400_not_a_500(shop, path, payload):
    headers = {"Content-Type": "application/json", **await shop.customer()}
    before = await counts(shop)

    response = await shop.http.post(path, content=payload, headers=headers)

    body = assert_problem(response, 400)
    assert body["code"] == "validation_error" and body["field"] in ("body", "a")
    assert await counts(shop) == before


@pytest.mark.parametrize(("path", "body", "member"), [
    (LOGIN, {"email": "a@mail.example.rs", "password": "x"}, "password"),
    (REGISTER, person(), "full_name"),
    (QUOTE, order_body(), "terms_version"),
    (ORDERS, order_body(), "terms_version"),
])
async def test_invalid_utf8_in_a_json_body_is_a_400_not_a_500(shop, path, body, member):
    headers = {"Content-Type": "application/json", **await shop.customer()}
    before = await counts(shop)

    response = await shop.http.post(path, content=with_bytes(body, member, NOT_UTF8), headers=headers)

    assert assert_problem(response, 400)["field"] == "body"
    assert await counts(shop) == before


@pytest.mark.parametrize("in_stock", [2**63, -(2**63) - 1, 2**31])
async def test_stock_past_what_the_database_holds_is_a_400_naming_in_stock(shop, in_stock):
    response = await shop.http.put("/api/v1/ops/products/rs-charger-67w/stock",
                                   content=f'{{"in_stock": {in_stock}}}',
                                   headers={**await shop.ops(), "Content-Type": "application/json"})

    assert assert_problem(response, 400)["field"] == "in_stock"
    products = table_of(Product)
    on_hand = select(products.c.on_hand).where(products.c.sku == "rs-charger-67w")
    assert await shop.ctx.db.read(lambda uow: uow.connection.execute(on_hand).scalar_one()) > 0


@pytest.mark.parametrize("before", ["9223372036854775808", str(2**31), "99999999999999999999999"])
async def test_flagged_payments_before_past_what_the_database_holds_is_a_400_naming_before(shop, before):
    response = await shop.http.get("/api/v1/ops/payments/flagged", params={"before": before},
                                   headers=await shop.ops())

    assert assert_problem(response, 400)["field"] == "before"


@pytest.mark.parametrize("line_id", [2**63, 0])
async def test_a_line_id_past_what_the_database_holds_is_a_400_naming_it(shop, line_id):
    response = await shop.ops_post(f"/orders/{'0' * 8}-0000-0000-0000-{'0' * 12}/confirm",
                                   {"lines": [{"line_id": line_id, "available": True}]})

    assert assert_problem(response, 400)["field"] == "lines[0].line_id"


@pytest.mark.parametrize("quantity", ["1", 1.0, True], ids=["string", "float", "bool"])
async def test_quantity_must_be_a_json_integer_not_a_string_or_float(shop, quantity):
    customer = await shop.customer()
    body = order_body()
    body["lines"][0]["quantity"] = quantity

    for path in (QUOTE, ORDERS):
        response = await shop.http.post(path, json=body, headers=customer)
        assert assert_problem(response, 400)["field"] == "lines[0].quantity", path
    assert (await counts(shop))[1] == 0


@pytest.mark.parametrize("now", ["1970-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                                 "2012-09-30T23:59:59Z", "2100-01-01T00:00:00Z"])
async def test_the_test_clock_refuses_instants_outside_the_supported_range_naming_now(shop, now):
    response = await shop.http.put("/api/v1/test/clock", json={"now": now})

    assert assert_problem(response, 400)["field"] == "now"
    assert (await shop.http.post(QUOTE, json=order_body())).status_code == 200


async def test_delivered_at_outside_the_supported_range_is_a_400_naming_it(shop):
    response = await shop.ops_post(f"/orders/{'0' * 8}-0000-0000-0000-{'0' * 12}/deliver",
                                   {"delivered_at": "0001-01-01T00:00:00Z"})

    assert assert_problem(response, 400)["field"] == "delivered_at"


async def test_a_quote_or_order_on_a_day_without_a_known_vat_rate_is_a_4xx_not_a_500(shop):
    customer = await shop.customer()
    await test_clock.set_test_clock(shop.ctx, __import__("datetime").datetime.fromisoformat("1970-01-01T00:00:00+00:00"))
    try:
        for path in (QUOTE, ORDERS):
            response = await shop.http.post(path, json=order_body(), headers=customer)
            problem = assert_problem(response, 422)
            assert (problem["code"], problem["field"]) == ("date_outside_tables", "now"), path
    finally:
        await test_clock.clear_test_clock(shop.ctx)
    assert (await counts(shop))[1] == 0


@pytest_asyncio.fixture(scope="module")
async def outside_the_test_environment(settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as a development server makes it, on the test's database: one for the module (making
    one for each case took 0.6 s, 24 s for the cases below)."""
    app = create_app(dataclasses.replace(settings, env=Environment.DEVELOPMENT))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop.test") as client:
        yield client
    await app.state["ctx"].aclose()


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST", "PATCH"])
@pytest.mark.parametrize("body", [b'{"now": "2026-01-01T00:00:00Z"}', b'{"now": "bad"}', b"{not json", b""])
async def test_the_test_clock_does_not_exist_outside_the_test_environment(outside_the_test_environment, method, body):
    client = outside_the_test_environment
    for path in ("/api/v1/test/clock", "/api/v1/test/clock/"):
        response = await client.request(method, path, content=body, headers={"Content-Type": "application/json"})
        assert assert_problem(response, 404)["code"] == "not_found", (method, path)
    document = (await client.get("/schema/openapi.json")).json()
    assert not [path for path in document["paths"] if "/test/" in path]


def _operations_with_a_body() -> list[tuple[str, str]]:
    """Every operation of the test environment's document that takes a JSON body, but the Stripe
    webhook (a signed body: tests/test_stripe_events.py) and the test clock (its own tests above),
    its path parameters filled with a value of the right shape that names nothing."""
    document = api_document()
    fill = {"{order_id}": "0f8c1e9a-1d1e-4f5b-9a57-6f0e1c2b3a4d", "{withdrawal_id}": "w-none",
            "{case_id}": "c-none", "{perk_id}": "p-none", "{sku}": "no-such-sku", "{imei}": "490154203237518",
            "{account_id}": "2147483647"}
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if operation.get("requestBody") and not path.endswith(("/webhooks/stripe", "/test/clock")):
                for name, value in fill.items():
                    path = path.replace(name, value)
                found.append((method.upper(), path))
    return found


WITH_A_BODY = _operations_with_a_body()


@pytest.mark.parametrize("payload", [DEEP_ARRAY, DEEP_OBJECT, b'{"a": "' + NOT_UTF8 + b'"}', b"{", b""],
                         ids=["deep-array", "deep-object", "not-utf8", "cut-short", "empty"])
@pytest.mark.parametrize(("method", "path"), WITH_A_BODY, ids=[f"{method} {path}" for method, path in WITH_A_BODY])
async def test_every_operation_with_a_body_refuses_a_hostile_one_with_a_4xx(shop, method, path, payload):
    """Issue 16 ("No 5xx from anything a client sends"), for every body-taking route, the KZ perk
    bundle's and the withdrawal's included: a body nested 1,000 deep, not UTF-8 or cut short is a
    400 problem naming the body, an empty one a 400 (or a 404 where the body is optional and the
    path names nothing), never a 500; nothing is written."""
    who = await shop.ops() if "/ops/" in path else await shop.customer()
    before = await counts(shop)

    response = await shop.http.request(method, path, content=payload,
                                       headers={"Content-Type": "application/json", **who})

    if payload:  # the body's fault, named
        assert assert_problem(response, 400)["field"] in ("body", "a"), response.text[:300]
    else:  # no body: refused as such, or, where the body is optional, the path names nothing
        assert_problem(response, (400, 404))
    assert await counts(shop) == before
