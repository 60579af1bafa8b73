"""Every refusal is an RFC 9457 problem (`application/problem+json` with status, title, detail, code);
validation errors are 400 or 422 and name the field; nothing a client sends produces a 500
(STOREFRONT-API.md, Conventions)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from shop.adapters.tables import User, table_of
from tests.support import order_body

ORDERS, QUOTE, REGISTER = "/api/v1/orders", "/api/v1/checkout/quote", "/api/v1/auth/register"
NO_SUCH_ORDER = "00000000-0000-0000-0000-000000000000"


def assert_problem(response, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == response.status_code
    for member in ("title", "detail", "code"):
        assert isinstance(body[member], str) and body[member], (member, body)
    return body


def person(**extra: Any) -> dict[str, Any]:
    return {"email": "mina@mail.example.rs", "password": "correct horse battery", "full_name": "Mina Marić",
            "birth_date": "1990-01-31", **extra}


# --- every kind of refusal has the same shape ------------------------------------------------------


async def _malformed_json(shop):
    return await shop.http.post(ORDERS, content=b'{"market": "RS",', headers={
        **await shop.customer(), "Content-Type": "application/json"})


async def _wrong_type(shop):
    return await shop.http.post(QUOTE, json={**order_body(), "market": 7})


async def _no_token(shop):
    return await shop.http.get(ORDERS)


async def _customer_on_ops(shop):
    return await shop.http.put("/api/v1/ops/products/rs-charger-67w/stock", json={"in_stock": 1},
                               headers=await shop.customer())


async def _unknown_route(shop):
    return await shop.http.get("/api/v1/nowhere")


async def _unknown_order(shop):
    return await shop.http.get(f"{ORDERS}/{NO_SUCH_ORDER}", headers=await shop.customer())


async def _wrong_method(shop):
    return await shop.http.delete(ORDERS, headers=await shop.customer())


async def _conflict(shop):
    await shop.http.post(REGISTER, json=person())
    return await shop.http.post(REGISTER, json=person())


async def _rule_refusal(shop):
    body = order_body()
    body["delivery"]["address"] = {**body["delivery"]["address"], "country": "HU"}
    return await shop.http.post(QUOTE, json=body)


async def _bad_webhook_signature(shop):
    return await shop.http.post("/api/v1/webhooks/stripe", content=b'{"id": "evt_1"}',
                                headers={"Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"})


@pytest.mark.parametrize(("call", "status"), [
    (_malformed_json, 400), (_wrong_type, 400), (_no_token, 401), (_customer_on_ops, 403), (_unknown_route, 404),
    (_unknown_order, 404), (_wrong_method, 405), (_conflict, 409), (_rule_refusal, 422),
    (_bad_webhook_signature, 400),
], ids=lambda value: getattr(value, "__name__", str(value)).strip("_"))
async def test_every_error_is_a_problem_with_status_title_detail_and_code(shop, call, status):
    assert_problem(await call(shop), status)


async def test_a_refusal_by_a_contract_rule_names_its_clause_RS_V_5_1(shop):
    assert assert_problem(await _rule_refusal(shop), 422)["clause"] == "RS-V.5.1"


# --- malformed bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [ORDERS, QUOTE, REGISTER, "/api/v1/auth/login"])
@pytest.mark.parametrize("payload", [b"{not json", b'{"market": "RS",', b"", b"\xff\xfe\x00", b"[1, 2",
                                     b"null", b"[]", b'"an order"', b"42", b'{"market": "RS"}' * 2])
async def test_malformed_json_is_a_400_problem_not_a_500(shop, path, payload):
    headers = {"Content-Type": "application/json", **(await shop.ops() if path == ORDERS else {})}

    response = await shop.http.post(path, content=payload, headers=headers)

    assert_problem(response, (400, 422))


def _set(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(("path", "value", "field"), [
    (("lines", 0, "quantity"), "two", "lines[0].quantity"),
    (("lines", 0, "quantity"), 1.5, "lines[0].quantity"),
    (("lines", 0, "sku"), 15, "lines[0].sku"),
    (("market",), 1, "market"),
    (("market",), "DE", "market"),
    (("lines",), {"sku": "rs-15t-12-256"}, "lines"),
    (("delivery", "method"), "drone", "delivery.method"),
    (("delivery", "address", "country"), ["RS"], "delivery.address.country"),
    (("payment_method",), "cash", "payment_method"),
    (("terms_version",), 20251218, "terms_version"),
])
async def test_a_wrong_type_is_a_400_naming_the_field(shop, path, value, field):
    customer = await shop.customer()
    for endpoint in (QUOTE, ORDERS):
        response = await shop.http.post(endpoint, json=_set(order_body(), path, value), headers=customer)
        assert assert_problem(response, 400)["field"] == field


@pytest.mark.parametrize(("body", "field"), [
    (person(birth_date="last year"), "birth_date"),
    (person(birth_date=19900131), "birth_date"),
    (person(guardian_consent={"guardian_name": "Jelena", "given_at": "soon"}), "guardian_consent.given_at"),
    ({k: v for k, v in person().items() if k != "full_name"}, "full_name"),
])
async def test_a_wrong_or_missing_registration_field_is_named(shop, body, field):
    assert assert_problem(await shop.http.post(REGISTER, json=body), 400)["field"] == field


def _drop(body: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


@pytest.mark.parametrize(("path", "field"), [
    (("discount",), "discount"),
    (("lines", 0, "unit_price"), "lines[0].unit_price"),
    (("delivery", "address", "floor"), "delivery.address.floor"),
    (("delivery", "signature_required"), "delivery.signature_required"),
])
async def test_unknown_fields_in_an_order_are_refused_and_named(shop, path, field):
    customer = await shop.customer()
    for endpoint in (QUOTE, ORDERS):
        response = await shop.http.post(endpoint, json=_set(order_body(), path, 1), headers=customer)
        assert assert_problem(response, (400, 422))["field"] == field


@pytest.mark.parametrize(("path", "field"), [
    (("market",), "market"),
    (("lines", 0, "sku"), "lines[0].sku"),
    (("delivery", "phone"), "delivery.phone"),
    (("delivery", "address", "postal_code"), "delivery.address.postal_code"),
])
async def test_a_missing_field_in_an_order_is_named(shop, path, field):
    customer = await shop.customer()
    for endpoint in (QUOTE, ORDERS):
        response = await shop.http.post(endpoint, json=_drop(order_body(), path), headers=customer)
        assert assert_problem(response, (400, 422))["field"] == field


async def test_terms_version_is_required_to_order_RS_XV(shop):
    response = await shop.http.post(ORDERS, json=_drop(order_body(), ("terms_version",)),
                                    headers=await shop.customer())

    assert assert_problem(response, (400, 422))["field"] == "terms_version"


@pytest.mark.parametrize(("path", "field"), [
    (("delivery", "recipient"), "delivery.recipient"),
    (("delivery", "address", "street"), "delivery.address.street"),
    (("lines", 0, "sku"), "lines[0].sku"),
])
async def test_text_with_a_nul_character_is_refused_naming_the_field_on_every_database(shop, path, field):
    customer = await shop.customer()
    for endpoint in (QUOTE, ORDERS):
        response = await shop.http.post(endpoint, json=_set(order_body(), path, "Ana\x00"), headers=customer)
        assert assert_problem(response, (400, 422))["field"] == field


async def test_a_nul_character_in_an_account_or_a_key_is_refused_not_a_500(shop):
    registered = await shop.http.post(REGISTER, json=person(full_name="Mina\x00"))
    logged_in = await shop.http.post("/api/v1/auth/login", json={"email": "m\x00@x.rs", "password": "x"})
    keyed = await shop.http.post(ORDERS, json=order_body(), headers={**await shop.customer(),
                                                                     "Idempotency-Key": "k\x00"})

    assert assert_problem(registered, (400, 422))["field"] == "full_name"
    assert assert_problem(logged_in, (400, 422))["field"] == "email"
    assert assert_problem(keyed, (400, 422))["field"] == "Idempotency-Key"


async def test_a_customer_cannot_register_as_staff_through_an_unknown_field(shop):
    response = await shop.http.post(REGISTER, json=person(is_ops=True))

    assert assert_problem(response, (400, 422))["field"] == "is_ops"
    users = table_of(User)
    assert await shop.ctx.db.read(lambda uow: uow.connection.execute(
        select(users).where(users.c.is_ops)).all()) == []


# --- a bad order id --------------------------------------------------------------------------------


@pytest.mark.parametrize("order_id", [NO_SUCH_ORDER, "nope", "1", "' OR '1'='1", "x" * 300, "заказ-1", "%00"])
async def test_a_bad_order_id_is_a_404_problem(shop, order_id):
    customer, ops = await shop.customer(), await shop.ops()
    calls = [("GET", f"{ORDERS}/{order_id}", customer), ("POST", f"{ORDERS}/{order_id}/cancel", customer),
             ("GET", f"/api/v1/ops/orders/{order_id}", ops),
             ("POST", f"/api/v1/ops/orders/{order_id}/out-of-stock", ops)]

    for method, path, headers in calls:
        assert_problem(await shop.http.request(method, path, headers=headers), 404)


# --- a bounded fuzz: no order body produces a 500 --------------------------------------------------


def _pickup(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "delivery": {**body["delivery"], "method": "store_pickup", "store_id": "rs-bg-knez"}}


BASE_BODIES = [order_body(), order_body("KZ"), _pickup(order_body()),
               order_body(lines=[("rs-charger-67w", 2), ("rs-band-9-set", 1)], payment_method="installments")]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


PATHS = sorted({path for body in BASE_BODIES for path in _paths(body)}, key=lambda p: (len(p), repr(p)))
TRICKY_TEXT = st.sampled_from(["", " ", "RS", "KZ", "rs", "courier", "store_pickup", "card", "installments",
                               "2025-12-18", "2025-09-24", "rs-15t-12-256", "kz-15t-12-256", "rs-bg-knez",
                               "+381641234567", "\x00", "1" * 500, "💥", "null", "-1", "1e308"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30) | TRICKY_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
MUTATIONS = st.tuples(st.sampled_from(PATHS), st.sampled_from(["set", "drop", "add"]), JSON_VALUES)


def mutated(body: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    """`body` with the value at `path` replaced, dropped, or given an extra member; a path that no
    longer exists (an earlier mutation changed the shape) leaves the body as it is."""
    if not path:
        return value if action == "set" else body
    body = copy.deepcopy(body)
    try:
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        if action == "set":
            parent[path[-1]] = value
        elif action == "drop":
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]]["unexpected"] = value
        elif isinstance(parent[path[-1]], list):
            parent[path[-1]].append(value)
    except (KeyError, IndexError, TypeError):
        pass
    return body


async def fuzz_customer(shop) -> dict[str, str]:
    """One customer for every example of a run (the `shop` fixture is set up once per run)."""
    if not hasattr(shop, "fuzz_headers"):
        shop.fuzz_headers = await shop.customer()
    return shop.fuzz_headers


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from(BASE_BODIES), mutations=st.lists(MUTATIONS, min_size=1, max_size=4))
async def test_no_mutated_order_body_produces_a_500(shop, base, mutations):
    body = base
    for path, action, value in mutations:
        body = mutated(body, path, action, value)
    headers = await fuzz_customer(shop)

    for endpoint in (QUOTE, ORDERS):
        response = await shop.http.post(endpoint, json=body, headers=headers)

        assert response.status_code < 500, (endpoint, body, response.text)
        if response.status_code >= 400:
            assert_problem(response, response.status_code)
