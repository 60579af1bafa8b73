"""The SQL the shop runs for one request, captured in process by an observer of every statement its
database runs (`shop.adapters.database.statement_observers`, with BEGIN / COMMIT / ROLLBACK): the
benchmark prints the statement count beside the floor's (so a drift between the shop and the floor
shows), and `python -m tests.bench.capture` prints the statements themselves.

The app is the real one (`shop.web.app.create_app`), called through httpx's ASGI transport, so the
count includes everything the request path does (auth, controller, services), not only the service.

Run: DATABASE_URL=… STRIPE_API_BASE=http://127.0.0.1:PORT python -m tests.bench.capture
(a migrated, seeded database and a running stub; `make bench` does this itself)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Iterator

import httpx
from sqlalchemy import text

from shop.adapters import database
from tests.bench.common import BENCH_ENV, WEBHOOK_SECRET, order_payload, succeeded_event

_WORDS = re.compile(r"^\s*(\w+)(?:\s+\w+)?", re.S)


@contextmanager
def recording() -> Iterator[list[str]]:
    """The statements the shop sends while the block runs, in order, with BEGIN / COMMIT / ROLLBACK
    (through `shop.adapters.database.statement_observers`)."""
    statements: list[str] = []

    def observed(statement: str) -> None:
        statements.append(" ".join(statement.split()))

    database.statement_observers.append(observed)
    try:
        yield statements
    finally:
        database.statement_observers.remove(observed)


def sql_only(statements: list[str]) -> list[str]:
    """The statements sent to the database, without the BEGIN/COMMIT/ROLLBACK markers."""
    return [s for s in statements if s not in ("BEGIN", "COMMIT", "ROLLBACK")]


async def capture(database_url: str, stripe_base: str, tag: str = "capture") -> dict[str, list[str]]:
    """Statements of: placing one card order, applying its payment_intent.succeeded, and one
    expire-payments batch of one order (keys "order", "webhook", "expiry")."""
    from shop.services.expiry import expire_unpaid_orders
    from shop.settings import Settings
    from shop.web.app import create_app

    env = {**BENCH_ENV, "DATABASE_URL": database_url, "STRIPE_API_BASE": stripe_base}
    app = create_app(Settings.from_env(env))
    ctx = app.state["ctx"]
    out: dict[str, list[str]] = {}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop") as client:
            email = f"{tag}@bench.example.rs"
            registered = await client.post("/api/v1/auth/register", json={
                "email": email, "password": "bench password 1", "full_name": "Capture", "birth_date": "1990-01-01"})
            if registered.status_code not in (201, 409):
                raise RuntimeError(f"register: {registered.status_code} {registered.text}")
            login = await client.post("/api/v1/auth/login", json={"email": email, "password": "bench password 1"})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            for attempt in range(2):  # the first one warms caches (compiled statements)
                with recording() as statements:
                    placed = await client.post("/api/v1/orders", json=order_payload(), headers=headers)
                if placed.status_code != 201:
                    raise RuntimeError(f"capture: placing an order answered {placed.status_code}: {placed.text}")
                out["order"] = statements
                order = placed.json()
                payload, signature = succeeded_event(order, WEBHOOK_SECRET)
                with recording() as statements:
                    paid = await client.post("/api/v1/webhooks/stripe", content=payload, headers={
                        "Stripe-Signature": signature, "Content-Type": "application/json"})
                if paid.status_code != 200 or paid.json().get("result") != "paid":
                    raise RuntimeError(f"capture: webhook answered {paid.status_code}: {paid.text}")
                out["webhook"] = statements
            expired = (await client.post("/api/v1/orders", json=order_payload(), headers=headers)).json()
        now = datetime.now(UTC) - timedelta(seconds=1)
        await ctx.db.transaction(lambda uow: uow.connection.execute(
            text("UPDATE orders SET payment_due_at = :due WHERE id = :id"),
            {"due": (now - timedelta(minutes=5)).replace(tzinfo=None), "id": expired["id"]}))
        with recording() as statements:  # one batch at a time: each batch's statements in a row
            report = await expire_unpaid_orders(ctx, now, workers=1)
        if [row[0] for row in report.cancelled] != [expired["id"]]:
            raise RuntimeError(f"capture: expiry cancelled {report.cancelled}, expected {expired['id']}")
        out["expiry"] = statements
    finally:
        await ctx.aclose()
    return out


def kinds(statements: list[str]) -> str:
    """`BEGIN, SELECT×2, UPDATE, INSERT×4, COMMIT`-style summary."""
    words: list[str] = []
    for statement in statements:
        match = _WORDS.match(statement.removeprefix("[many] "))
        words.append((match.group(1) if match else "?").upper())
    summary: list[tuple[str, int]] = []
    for word in words:
        if summary and summary[-1][0] == word:
            summary[-1] = (word, summary[-1][1] + 1)
        else:
            summary.append((word, 1))
    return ", ".join(f"{word}×{count}" if count > 1 else word for word, count in summary)


def main() -> None:
    url, stub = os.environ["DATABASE_URL"], os.environ["STRIPE_API_BASE"]
    captured = asyncio.run(capture(url, stub, tag=f"capture{os.getpid()}"))
    for name, statements in captured.items():
        print(f"\n== {name}: {len(sql_only(statements))} statements ({kinds(statements)})")
        for statement in statements:
            print("  " + statement[:400])
    if "--json" in sys.argv:
        print(json.dumps(captured))


if __name__ == "__main__":
    main()
