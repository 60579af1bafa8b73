"""What tests share: a storefront-like client of the API, and Stripe events signed as Stripe signs."""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import stripe
from stdnum import luhn
import httpx

from tests.infra.localstripe_server import LocalStripe

WEBHOOK_SECRET = "whsec_test_shop"
_emails = itertools.count(1)

RS_ADDRESS = {"street": "Knez Mihailova 1", "city": "Beograd", "postal_code": "11000", "country": "RS"}
KZ_ADDRESS = {"street": "Abay Ave 10", "city": "Almaty", "postal_code": "050000", "country": "KZ"}
VALID_IMEIS = ["490154203237518", "356938035643809", "352099001761481", "353918053468417"]
_serials = itertools.count(1)


ROOT = Path(__file__).resolve().parents[1]


def task_env(settings: Any) -> dict[str, str]:
    """The environment of a `make` task (`python -m shop.jobs …`) on the test's database and Stripe."""
    return {**os.environ, "DATABASE_URL": settings.database_url, "SHOP_ENV": "test",
            "STRIPE_API_BASE": settings.stripe_api_base, "STRIPE_SECRET_KEY": settings.stripe_secret_key}


def run_task(settings: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m shop.jobs *args` as `make` runs it, on the test's database and Stripe; its output kept."""
    return subprocess.run([sys.executable, "-m", "shop.jobs", *args], cwd=ROOT, env=task_env(settings),
                          capture_output=True, text=True, timeout=60)


def api_document(settings: Any = None) -> dict[str, Any]:
    """The OpenAPI document of the app for `settings`; without them, the test environment's, read
    without opening a database (to list operations when tests are collected)."""
    from shop.web.app import create_app

    if settings is None:
        return copy.deepcopy(_test_environments_document())
    return create_app(settings).openapi_schema.to_schema()


@functools.cache
def _test_environments_document() -> dict[str, Any]:
    """Made once a process: three test modules list operations from it when collected (an app
    made and its document built took 0.85 s each time)."""
    from shop.settings import Settings
    from shop.web.app import create_app

    never_opened = Path(tempfile.gettempdir()) / "shop-document-only.db"
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{never_opened}", "SHOP_ENV": "test"})
    return create_app(settings).openapi_schema.to_schema()


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    """The answer's JSON, once its status is the one expected (the body shown when it is not)."""
    assert response.status_code == status, response.text
    return response.json()


def fresh_imeis(count: int) -> list[str]:
    """Valid IMEIs no test has shipped yet (a device leaves with one order at a time, RS-IV.5): a
    test type allocation code, a serial, the Luhn check digit."""
    numbers = [f"35000000{next(_serials):06d}" for _ in range(count)]
    return [number + luhn.calc_check_digit(number) for number in numbers]


def order_body(market: str = "RS", lines: list[tuple[str, int]] | None = None, **overrides: Any) -> dict[str, Any]:
    lines = lines or [(f"{market.lower()}-15t-12-256", 1)]
    body: dict[str, Any] = {
        "market": market,
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
        "delivery": {
            "method": "courier",
            "recipient": "Ana Anić" if market == "RS" else "Aigerim Bekova",
            "phone": "+381641234567" if market == "RS" else "+77012345678",
            "address": RS_ADDRESS if market == "RS" else KZ_ADDRESS,
        },
        "payment_method": "card",
        "terms_version": "2025-12-18" if market == "RS" else "2025-09-24",
    }
    body.update(overrides)
    return body


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe would send for `payload`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{next(_emails):06d}_{int(time.time() * 1000)}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "api_version": "2024-06-20",
    }


class ShopClient:
    """The storefront and the operations staff, as they call the API."""

    def __init__(self, http: httpx.AsyncClient, localstripe: LocalStripe) -> None:
        self.http = http
        self.localstripe = localstripe
        # localstripe speaks plain HTTP on loopback: no certificates to load (2.8 ms a test)
        self._stripe_http = stripe.HTTPXClient(verify_ssl_certs=False)
        self.stripe = stripe.StripeClient(localstripe.secret_key,
                                          base_addresses={"api": localstripe.api_base},
                                          http_client=self._stripe_http)
        self._ops_headers: dict[str, str] | None = None
        self.clock: datetime | None = None  # the test clock as this test set it; None: the real clock
        http.event_hooks["response"].append(self._watch_clock)

    async def close(self) -> None:
        self.http.event_hooks["response"].remove(self._watch_clock)
        await self._stripe_http.close_async()

    async def _watch_clock(self, response: httpx.Response) -> None:
        """Follows PUT / DELETE /test/clock, however a test sends them, without a read of its own."""
        request = response.request
        if request.url.path.endswith("/test/clock") and response.is_success:
            self.clock = datetime.fromisoformat(json.loads(request.content)["now"]) if request.method == "PUT" else None

    @property
    def ctx(self) -> Any:
        return self.http.app.state["ctx"]

    # --- accounts ---------------------------------------------------------------------------
    async def customer(self, *, birth_date: str = "1990-05-17", **extra: Any) -> dict[str, str]:
        """Register and log in a fresh customer (at `email`, or a new address); returns the
        Authorization header."""
        email = extra.pop("email", None) or f"customer{next(_emails)}@mail.example.rs"
        body = {"email": email, "password": "correct horse battery", "full_name": "Ana Anić",
                "birth_date": birth_date, **extra}
        response = await self.http.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201, response.text
        self.last_email = email
        return await self.login(email, "correct horse battery")

    async def login(self, email: str, password: str) -> dict[str, str]:
        response = await self.http.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def ops(self) -> dict[str, str]:
        if self._ops_headers is None:
            from shop.services.accounts import make_ops_user

            await make_ops_user(self.ctx, "ops@shop.example.rs", "ops password 123")
            self._ops_headers = await self.login("ops@shop.example.rs", "ops password 123")
        return self._ops_headers

    # --- orders -----------------------------------------------------------------------------
    async def place(self, headers: dict[str, str], body: dict[str, Any] | None = None,
                    **extra_headers: str) -> dict[str, Any]:
        response = await self.http.post("/api/v1/orders", json=body or order_body(),
                                        headers={**headers, **extra_headers})
        assert response.status_code == 201, response.text
        return response.json()

    async def order(self, headers: dict[str, str], order_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/v1/orders/{order_id}", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def ops_post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return await self.http.post(f"/api/v1/ops{path}", json=body or {}, headers=await self.ops())

    # --- Stripe -----------------------------------------------------------------------------
    async def pay_at_stripe(self, order: dict[str, Any], card: str = "4242424242424242") -> dict[str, Any]:
        """The customer's browser confirms the PaymentIntent at (local) Stripe."""
        intent_id = order["payment"]["payment_intent_id"]
        method = await self.stripe.v1.payment_methods.create_async(params={
            "type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
        await self.stripe.v1.payment_intents.update_async(intent_id, params={"payment_method": method.id})
        try:
            await self.stripe.v1.payment_intents.confirm_async(intent_id)
        except stripe.CardError:
            pass
        intent = await self.stripe.v1.payment_intents.retrieve_async(intent_id)
        return intent.to_dict()

    async def send_event(self, event_type: str, obj: dict[str, Any], *, event_id: str | None = None,
                         signature: str | None = None) -> Any:
        body = event(event_type, obj, event_id=event_id)
        if self.clock is not None:  # Stripe records the payment on the shop's (test) clock
            body["created"] = int(self.clock.timestamp())
        payload = json.dumps(body).encode()
        return await self.http.post("/api/v1/webhooks/stripe", content=payload, headers={
            "Stripe-Signature": signature or sign(payload), "Content-Type": "application/json"})

    async def paid_order(self, headers: dict[str, str], body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Place a card order, pay it at localstripe and deliver Stripe's signed event."""
        order = await self.place(headers, body)
        intent = await self.pay_at_stripe(order)
        assert intent["status"] == "succeeded", intent
        response = await self.send_event("payment_intent.succeeded", intent)
        assert response.status_code == 200, response.text
        return await self.order(headers, order["id"])

    async def confirmed_order(self, headers: dict[str, str], body: dict[str, Any] | None = None) -> dict[str, Any]:
        order = await self.paid_order(headers, body)
        lines = [{"line_id": line["id"], "available": True} for line in order["lines"]]
        response = await self.ops_post(f"/orders/{order['id']}/confirm", {"lines": lines})
        assert response.status_code == 200, response.text
        return response.json()

    async def shipped_order(self, headers: dict[str, str], body: dict[str, Any] | None = None) -> dict[str, Any]:
        order = await self.confirmed_order(headers, body)
        imeis = iter(fresh_imeis(sum(line["quantity"] for line in order["lines"])))
        devices = [{"line_id": line["id"], "imeis": [next(imeis) for _ in range(line["quantity"])]}
                   for line in order["lines"] if line["sku"].split("-", 1)[1].startswith(("15t", "redmi-note"))]
        response = await self.ops_post(f"/orders/{order['id']}/ship",
                                       {"carrier": "D Express", "tracking_number": "DE123456", "devices": devices})
        assert response.status_code == 200, response.text
        return response.json()
