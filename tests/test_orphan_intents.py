"""A PaymentIntent without an order (RS-V.1, issue 16): the shop creates a card order's intent before
it writes the order, so a `kill -9` between the two leaves an intent nobody will pay for but anyone
with its secret could. `make expire-payments` cancels those past a grace period. Proved with real
parts only: the shop served by `python -m shop.jobs serve`, orders in flight, `kill -9`, then the
job, then every intent at a private localstripe belongs to an order or is cancelled."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import stripe

from tests.bench.common import Child, run_job
from tests.infra.localstripe_server import LocalStripe
from tests.infra.ports import free_port
from tests.support import order_body

SECRET = "orphan-test-secret-key-0123456789abcdefghij"
WEBHOOK_SECRET = "whsec_orphan_test"
KILL_ROUNDS = 3


async def all_intents(ls: LocalStripe) -> list[dict]:
    http = stripe.HTTPXClient()
    client = stripe.StripeClient(ls.secret_key, base_addresses={"api": ls.api_base}, http_client=http)
    try:
        found, after = [], {}
        while True:
            page = (await client.v1.payment_intents.list_async(params={"limit": 100, **after})).to_dict()
            found += page["data"]
            if not page["has_more"]:
                return found
            after = {"starting_after": page["data"][-1]["id"]}
    finally:
        await http.close_async()


def orders_with_intents(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as connection:
        return dict(connection.execute("SELECT payment_intent_id, id FROM orders WHERE payment_intent_id IS NOT NULL"))


async def orders_until_killed(base: str, server: Child, tokens: list[dict[str, str]], *, after: int) -> int:
    """Orders from 16 storefronts at once; the server is killed (SIGKILL) once `after` have answered."""
    answered = 0
    killed = asyncio.Event()

    async def storefront(headers: dict[str, str]) -> None:
        nonlocal answered
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while not killed.is_set():
                try:
                    response = await http.post("/api/v1/orders", json=order_body(lines=[("rs-charger-67w", 1)]),
                                               headers={**headers, "Idempotency-Key": os.urandom(8).hex()})
                except httpx.TransportError:
                    return
                assert response.status_code == 201, response.text
                answered += 1
                if answered >= after and not killed.is_set():
                    killed.set()
                    os.kill(server.pid, signal.SIGKILL)

    await asyncio.gather(*(storefront(tokens[i % len(tokens)]) for i in range(16)))
    server.proc.wait(10)
    return answered


async def customers(base: str, count: int) -> list[dict[str, str]]:
    tokens = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for n in range(count):
            body = {"email": f"orphan{n}-{os.urandom(3).hex()}@mail.example.rs", "password": "correct horse battery",
                    "full_name": "Ana Anić", "birth_date": "1990-05-17"}
            assert (await http.post("/api/v1/auth/register", json=body)).status_code == 201
            login = await http.post("/api/v1/auth/login", json={"email": body["email"], "password": body["password"]})
            tokens.append({"Authorization": f"Bearer {login.json()['access_token']}"})
    return tokens


async def test_no_payment_intent_stays_payable_without_its_order_after_kill_9_RS_V_1():
    with tempfile.TemporaryDirectory(prefix="shop-orphans-") as scratch, LocalStripe(persist=False) as ls:
        db = Path(scratch) / "shop.db"
        env = {"DATABASE_URL": f"sqlite:///{db}", "SHOP_ENV": "test", "SHOP_SECRET_KEY": SECRET,
               "STRIPE_SECRET_KEY": ls.secret_key, "STRIPE_API_BASE": ls.api_base,
               "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "SMTP_HOST": "", "ACCESS_LOG": "0"}
        run_job(["-m", "shop.jobs", "migrate"], env, timeout=120)
        run_job(["-m", "shop.jobs", "seed"], env, timeout=120)
        with sqlite3.connect(db) as connection:
            connection.execute("UPDATE products SET on_hand = 100000, max_per_customer = 100000")
        tokens: list[dict[str, str]] = []
        for round_ in range(KILL_ROUNDS):  # each round: serve, orders in flight, kill -9
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = Child("shop", [sys.executable, "-m", "shop.jobs", "serve"],
                           {**env, "HOST": "127.0.0.1", "PORT": str(port)}, Path(scratch) / f"serve-{round_}.log")
            try:
                server.wait_ready(f"{base}/api/v1/health")
                tokens = tokens or await customers(base, 8)
                await orders_until_killed(base, server, tokens, after=20)
            finally:
                server.stop()
        ours = [intent for intent in await all_intents(ls) if intent["metadata"].get("order_id")]
        ordered = orders_with_intents(db)
        orphans = {intent["id"] for intent in ours if intent["id"] not in ordered}
        assert orphans, "no kill landed between an intent and its order: nothing was proved"
        assert all(intent["status"] == "requires_payment_method" for intent in ours if intent["id"] in orphans)

        # Within the grace period an intent may belong to an order being written: left alone.
        run_job(["-m", "shop.jobs", "expire-payments"], env, timeout=120)
        assert {i["id"] for i in await all_intents(ls) if i["status"] == "canceled"} & orphans == set()

        later = (datetime.now(UTC) + timedelta(minutes=11)).isoformat().replace("+00:00", "Z")
        done = run_job(["-m", "shop.jobs", "expire-payments", "--now", later], env, timeout=120)

        after = {intent["id"]: intent for intent in await all_intents(ls)}
        for intent_id in (intent["id"] for intent in ours):
            assert intent_id in ordered or after[intent_id]["status"] == "canceled", after[intent_id]
        assert all(after[intent_id]["status"] != "canceled" for intent_id in ordered)  # orders keep theirs
        assert f"cancelled {len(orphans)}," in done.stdout, done.stdout
