"""Every refusal is an RFC 9457 problem with a code (and the clause where a rule decided); nothing a
client sends produces a 500 (STOREFRONT-API.md, Conventions)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from tests.support import order_body

PROBLEM_MEMBERS = {"status", "title", "detail", "code"}


def is_problem(response) -> bool:
    return (response.headers["content-type"].startswith("application/problem+json")
            and PROBLEM_MEMBERS <= response.json().keys())


async def test_malformed_json_is_a_400_problem(shop):
    response = await shop.http.post("/api/v1/orders", content=b"{not json", headers={
        **await shop.customer(), "Content-Type": "application/json"})
    assert response.status_code == 400 and is_problem(response)


async def test_wrong_type_and_unknown_fields_are_named(shop):
    customer = await shop.customer()
    body = order_body()
    body["lines"][0]["quantity"] = "two"
    wrong = await shop.http.post("/api/v1/orders", json=body, headers=customer)
    assert wrong.status_code == 400 and is_problem(wrong)
    assert wrong.json()["field"] == "lines[0].quantity"
    extra = await shop.http.post("/api/v1/orders", json={**order_body(), "discount": 100}, headers=customer)
    assert extra.status_code == 400 and "discount" in extra.json()["detail"]


async def test_unknown_order_and_route_are_404_problems(shop):
    customer = await shop.customer()
    for path in ("/api/v1/orders/00000000-0000-0000-0000-000000000000", "/api/v1/nowhere"):
        response = await shop.http.get(path, headers=customer)
        assert response.status_code == 404 and is_problem(response)


def mutate(body: dict, path: list, value) -> dict:
    """`body` with the value at `path` replaced (the path may run past the real structure)."""
    body = json.loads(json.dumps(body))
    target = body
    for key in path[:-1]:
        if isinstance(target, dict) and key in target:
            target = target[key]
        elif isinstance(target, list) and isinstance(key, int) and key < len(target):
            target = target[key]
        else:
            return body
    if isinstance(target, dict) or (isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target)):
        target[path[-1]] = value
    return body


PATHS = st.sampled_from([
    ["market"], ["lines"], ["lines", 0, "sku"], ["lines", 0, "quantity"], ["delivery"], ["delivery", "method"],
    ["delivery", "phone"], ["delivery", "address"], ["delivery", "address", "country"], ["payment_method"],
    ["terms_version"], ["coupon_code"], ["f_code"], ["delivery", "store_id"],
])
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                   st.text(max_size=300), st.lists(st.integers(), max_size=3),
                   st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(st.tuples(PATHS, VALUES), min_size=1, max_size=3))
async def test_no_order_body_produces_a_500(shop, mutations):
    body = order_body()
    for path, value in mutations:
        body = mutate(body, path, value)
    headers = await shop.ops()  # any account may order; the ops one is already logged in
    for path in ("/api/v1/checkout/quote", "/api/v1/orders"):
        response = await shop.http.post(path, json=body, headers=headers)
        assert response.status_code < 500, (body, response.text)
        if response.status_code >= 400:
            assert is_problem(response), response.text
