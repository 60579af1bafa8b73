"""The OpenAPI document tells the truth, and nothing a client sends is a 5xx (issue 16): schemathesis
generates requests for every operation of /schema/openapi.json, valid and invalid, sends them with a
customer's and an operations token, and checks every answer against the document: no server error,
every status, content type, header and body as documented.

The cases go through the suite's own client (httpx over ASGI in the test's event loop, as every other
test): schemathesis's `from_asgi` runs the app through Starlette's TestClient, a new event loop and a
lifespan per request, which the app's pooled asyncpg and aiosqlite connections cannot follow. So the
document is loaded with `from_dict`, each case drawn with hypothesis and checked with
`case.validate_response`."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, negative_data_rejection, response_headers_conformance, response_schema_conformance,
    status_code_conformance,
)

from shop.settings import Settings
from tests.support import ShopClient, api_document

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
"""Not `positive_data_acceptance`: a schema-valid order of a product the shop does not sell is a 422
by a rule, not a fault of the document."""
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
"""Cases per operation and token, valid and invalid: 2 × 92 operations × 10 cases in about 50 s of CPU on
SQLite. `make fuzz` runs a deeper campaign (FUZZ_EXAMPLES=150: 27,600 cases in 3 min on 2 workers). Not on PostgreSQL as well: the document and the validation it checks are the web layer's, the
same on both; what depends on the database (an INTEGER's range, U+0000 in text) has its own tests on
both (tests/test_hostile_input.py, tests/test_errors.py), and a second run would add another minute."""


def operations_of(settings: Settings) -> dict[str, Any]:
    """Every operation of the app's document for `settings`, by its label ("POST /api/v1/orders")."""
    schema = schemathesis.openapi.from_dict(api_document(settings))
    # The token is the test's to send (`_headers`), with every case: a case that "leaves out" the
    # Authorization header still carries it, so schemathesis would count it as invalid data accepted.
    schema.config.generation.update(with_security_parameters=False)
    return {operation.label: operation for operation in (result.ok() for result in schema.get_all_operations())}


@pytest.fixture(scope="session")
def operations(settings: Settings) -> dict[str, Any]:
    return operations_of(settings)


def _operation_labels() -> list[str]:
    """Every operation of the test environment's document, listed without a database."""
    return [f"{method.upper()} {path}" for path, item in api_document()["paths"].items()
            for method in item if method in ("get", "put", "post", "delete", "patch")]


async def _send(http: httpx.AsyncClient, case: Any, headers: dict[str, str]) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=str(http.base_url), headers=headers)
    body = {"json": kwargs["json"]} if "json" in kwargs else {"content": kwargs.get("data")}
    return await http.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                              headers=kwargs.get("headers"), **body)


async def _headers(shop: ShopClient, who: str) -> dict[str, str]:
    """One account for every example of a run (the `shop` fixture is set up once per run)."""
    if not hasattr(shop, "fuzz_headers"):
        shop.fuzz_headers = await (shop.customer() if who == "customer" else shop.ops())
    return shop.fuzz_headers


@pytest.mark.parametrize("label", _operation_labels())
@pytest.mark.parametrize("who", ["customer", "ops"])
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_every_operation_answers_as_its_document_says_and_never_a_5xx(shop: ShopClient, operations, label,
                                                                          who, data, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the document is the web layer's: checked once, on SQLite (EXAMPLES)")
    mode = data.draw(st.sampled_from(list(GenerationMode)))
    case = data.draw(operations[label].as_strategy(generation_mode=mode))
    headers = await _headers(shop, who)

    response = await _send(shop.http, case, headers)

    case.validate_response(response, checks=CHECKS, headers=headers)
