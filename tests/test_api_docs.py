"""The API's own page, /schema/swagger, for staff and storefront developers: it loads its Swagger UI
files from the shop itself, so it works where no CDN can be reached."""

from __future__ import annotations

import re

import pytest


async def test_the_swagger_page_uses_the_shops_own_copy_of_swagger_ui(shop):
    page = await shop.http.get("/schema/swagger")

    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text)
    assert sorted(assets) == ["/schema/assets/swagger-ui-bundle.js", "/schema/assets/swagger-ui-standalone-preset.js",
                              "/schema/assets/swagger-ui.css"]
    for asset in assets:
        answer = await shop.http.get(asset)
        assert answer.status_code == 200 and len(answer.content) > 10_000, asset
    spec = await shop.http.get("/schema/openapi.json")
    assert "/api/v1/orders" in spec.json()["paths"]


# --- the document tells the truth (issue 16) ----------------------------------------------------------

from datetime import UTC, datetime  # noqa: E402

import msgspec  # noqa: E402

from shop.web import responses  # noqa: E402
from tests.support import order_body  # noqa: E402

API = "/api/v1"
PUBLIC = {("post", "/auth/login"), ("post", "/auth/register"), ("get", "/products"), ("get", "/terms"),
          ("post", "/checkout/quote"), ("get", "/health"), ("get", "/perks/eligibility"), ("get", "/interruptions"), ("put", "/test/clock"), ("delete", "/test/clock"),
          ("get", "/products/{sku}/reviews"), ("post", "/reviews/{review_id}/notices")}
METHODS = ("get", "put", "post", "delete", "patch")


async def operations(shop) -> dict[tuple[str, str], dict]:
    document = (await shop.http.get("/schema/openapi.json")).json()
    assert document["security"] == [{"BearerToken": []}]
    return {(method, path.removeprefix(API)): operation for path, item in document["paths"].items()
            for method, operation in item.items() if method in METHODS}


async def test_public_routes_need_no_token_in_the_document_and_the_others_do(shop):
    for (method, path), operation in (await operations(shop)).items():
        if (method, path) in PUBLIC:
            assert operation["security"] == [], (method, path)
            answer = await shop.http.request(method.upper(), API + path, params={"market": "RS"})
            assert answer.status_code != 401, (method, path)
        else:
            assert "security" not in operation, (method, path)  # the document's: a bearer token
            assert "401" in operation["responses"], (method, path)


@pytest.mark.parametrize(("method", "path", "statuses"), [
    ("post", "/auth/login", {"200", "400", "401", "413", "429"}),
    ("post", "/auth/register", {"201", "400", "409", "413", "422"}),
    ("post", "/orders", {"201", "400", "401", "403", "409", "413", "422", "503"}),
    ("get", "/orders/{order_id}", {"200", "401", "404"}),
    ("post", "/ops/orders/{order_id}/ship", {"200", "400", "401", "403", "404", "409", "413", "422"}),
    ("get", "/ops/payments/flagged", {"200", "400", "401", "403"}),
    ("get", "/ops/withdrawals", {"200", "400", "401", "403", "422"}),
    ("get", "/ops/service-cases", {"200", "400", "401", "403", "422"}),
])
async def test_every_status_a_route_answers_is_documented_with_the_problem_body(shop, method, path, statuses):
    operation = (await operations(shop))[(method, path)]

    assert statuses <= set(operation["responses"])


async def test_every_error_is_documented_as_problem_json_and_every_2xx_body_is_typed(shop):
    for (method, path), operation in (await operations(shop)).items():
        for status, answer in operation["responses"].items():
            if status.startswith("2"):
                schema = answer["content"]["application/json"]["schema"]
                assert "$ref" in schema or "$ref" in schema.get("items", {}), (method, path, schema)
            else:
                assert answer["content"] == {"application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"}}}, (method, path, status)


async def test_every_request_body_is_closed_in_the_document_as_the_routes_refuse_unknown_fields(shop):
    """A body's field the route does not name is a 400 naming it (web.schemas.Body): the document says
    so (`additionalProperties: false`), or a client reading it, and a fuzzer, send them in good faith."""
    document = (await shop.http.get("/schema/openapi.json")).json()
    schemas = document["components"]["schemas"]

    def objects(schema: dict) -> list[tuple[str, dict]]:
        named = [ref["$ref"].split("/")[-1] for ref in [schema, *schema.get("oneOf", [])] if "$ref" in ref]
        found = [(name, schemas[name]) for name in named if schemas[name].get("type") == "object"]
        for _, body in list(found):
            for field in body.get("properties", {}).values():
                found += objects(field) + objects(field.get("items", {}))
        return found

    bodies = [(method, path, name, body) for path, item in document["paths"].items()
              for method, operation in item.items() if "requestBody" in operation
              for name, body in objects(operation["requestBody"]["content"]["application/json"]["schema"])]
    assert len({name for _, _, name, _ in bodies}) > 40
    assert [(method, path, name) for method, path, name, body in bodies
            if body.get("additionalProperties") is not False] == []
    refused = await shop.http.put(f"{API}/test/clock", json={"now": "2026-11-22T10:15:00Z", "later": True})
    assert (refused.status_code, refused.json()["field"]) == (400, "later")


def body_as(response, struct: type):
    """The bytes the route sent, decoded strictly into the type its document declares."""
    assert response.status_code < 300, response.text
    return msgspec.json.decode(response.content, type=struct, strict=True)


async def test_every_body_the_routes_send_is_what_the_document_declares(shop):
    customer = await shop.customer()
    ops = await shop.ops()
    body_as(await shop.http.post(f"{API}/auth/register", json={
        "email": "docs@mail.example.rs", "password": "correct horse battery", "full_name": "D",
        "birth_date": "1990-01-01", "phone": "+381641234567"}), responses.AccountOut)
    body_as(await shop.http.post(f"{API}/auth/login", json={
        "email": "docs@mail.example.rs", "password": "correct horse battery"}), responses.TokenOut)
    body_as(await shop.http.get(f"{API}/terms", params={"market": "KZ"}), responses.TermsOut)
    for market in ("RS", "KZ"):
        body_as(await shop.http.get(f"{API}/products", params={"market": market}), list[responses.ProductOut])
    body_as(await shop.http.post(f"{API}/checkout/quote", json=order_body()), responses.QuoteOut)
    body_as(await shop.http.get(f"{API}/health"), responses.HealthOut)
    body_as(await shop.http.put(f"{API}/test/clock", json={"now": datetime.now(UTC).isoformat()}), responses.ClockOut)
    body_as(await shop.http.delete(f"{API}/test/clock"), responses.ClockOut)

    instalments = await shop.http.post(f"{API}/orders", json=order_body(payment_method="installments"),
                                       headers=customer)
    body_as(instalments, responses.OrderOut)
    assert "payment" not in instalments.json()
    shipped = await shop.shipped_order(customer)
    delivered = await shop.ops_post(f"/orders/{shipped['id']}/deliver",
                                    {"delivered_at": datetime.now(UTC).isoformat()})
    body_as(delivered, responses.OrderOut)
    payer = await shop.customer()  # a second one: two open orders of one phone are a customer's most
    paid = await shop.paid_order(payer)
    cancelled = await shop.http.post(f"{API}/orders/{paid['id']}/cancel", headers=payer)
    body_as(cancelled, responses.OrderOut)
    assert cancelled.json()["refunds"] and cancelled.json()["payment"]
    body_as(await shop.http.get(f"{API}/orders", headers=customer), list[responses.OrderOut])
    body_as(await shop.http.get(f"{API}/ops/orders/{paid['id']}", headers=ops), responses.OpsOrderOut)
    await shop.send_event("payment_intent.succeeded", {
        "id": "pi_docs_unknown", "object": "payment_intent", "amount": 100, "currency": "rsd",
        "status": "succeeded", "metadata": {}})
    body_as(await shop.http.get(f"{API}/ops/payments/flagged", headers=ops), responses.FlaggedPaymentsOut)
    body_as(await shop.http.put(f"{API}/ops/products/rs-charger-67w/stock", json={"in_stock": 7}, headers=ops),
            responses.StockOut)
    mine = body_as(await shop.http.get(f"{API}/account", headers=customer), responses.StoredAccountOut)
    assert (await shop.ops_post(f"/accounts/{mine.id}/block", {"reason": "spam"})).status_code == 200
    assert (await shop.ops_post(f"/accounts/{mine.id}/unblock")).status_code == 200
    assert (await shop.ops_post(f"/accounts/{mine.id}/block", {"reason": "spam again"})).status_code == 200
    shown = body_as(await shop.http.get(f"{API}/ops/accounts/{mine.id}", headers=ops), responses.OpsAccountOut)
    assert [block.unblocked_at is None for block in shown.blocks] == [False, True]  # RS-XIII: both typed
    body_as(await shop.http.request("DELETE", f"{API}/account", json={"password": "correct horse battery"},
                                    headers=await shop.customer()), responses.StoredAccountOut)  # RS-XII
    for refusal in (await shop.http.post(f"{API}/orders", json={}, headers=customer),
                    await shop.http.get(f"{API}/orders"),
                    await shop.http.post(f"{API}/checkout/quote", json=order_body(market="KZ", lines=[("nope", 1)]))):
        assert refusal.status_code >= 400
        msgspec.json.decode(refusal.content, type=responses.Problem, strict=True)


async def test_a_monitor_may_ask_the_health_check_with_head(shop):
    """A load balancer's or monitor's `HEAD /health` (RFC 9110 9.3.2): 200 with no body, no token;
    it answered 405. Its operation is documented, public."""
    answered = await shop.http.head(f"{API}/health")

    assert (answered.status_code, answered.content) == (200, b"")
    document = (await shop.http.get("/schema/openapi.json")).json()
    assert document["paths"][f"{API}/health"]["head"]["security"] == []
