"""`make bench`: for SQLite and PostgreSQL, the shop under uvicorn (one worker, production settings)
driven from this process over loopback, beside a bare Litestar app doing the same SQL (the floor).

Prints orders placed/s with p50/p99 at concurrency 16 (and the Stripe stub's own round trip),
webhook events applied/s, and the time `expire-payments` takes for 100,000 expired orders among
1,000,000; writes the table to tests/benchmarks/RESULTS.md."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import httpx

from tests.infra.ports import free_port
from tests.infra.postgres import PostgresServer
from tests.support import event, order_body, sign

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 16
WARM_UP, ORDERS = 200, int(os.environ.get("BENCH_ORDERS", "2000"))
ALL_ORDERS, EXPIRED = int(os.environ.get("BENCH_ALL", "1000000")), int(os.environ.get("BENCH_EXPIRED", "100000"))
SENT_SAMPLE = 5_000  # Stripe cancellations timed apart: a sample, sent after the database work
SKU = "rs-charger-67w"
SECRET = "whsec_bench"
TARGETS = {"orders/s": 500, "p99 ms": 50, "events/s": 2000, "expiry s": 10, "ratio": 3}


@contextmanager
def process(*argv: str, env: dict[str, str], ready_url: str) -> Iterator[None]:
    proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(ready_url, timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{argv} did not start: {proc.stderr.read().decode()[-2000:]}")
                time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def job(*argv: str, env: dict[str, str], stdout: Any = subprocess.PIPE) -> str:
    done = subprocess.run([sys.executable, "-m", "shop.jobs", *argv], cwd=ROOT, env={**os.environ, **env},
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"shop.jobs {argv}: {done.stderr[-2000:]}")
    return done.stdout or ""


async def drive(n: int, call: Callable[[int], Awaitable[Any]]) -> tuple[float, list[float], list[Any]]:
    """`n` calls from CONCURRENCY workers; returns (calls per second, latencies in ms, answers)."""
    next_index, latencies, answers = iter(range(n)), [], [None] * n

    async def worker() -> None:
        for index in next_index:
            started = time.perf_counter()
            answers[index] = await call(index)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return n / (time.perf_counter() - started), latencies, answers


def p(latencies: list[float], q: int) -> float:
    return statistics.quantiles(latencies, n=100)[q - 1]


async def sql(url: str, statement: str, **params: Any) -> list[Any]:
    from sqlalchemy import text

    from shop.adapters.db import create_engine

    engine = create_engine(url)
    async with engine.begin() as db:
        result = await db.execute(text(statement), params)
        rows = list(result.all()) if result.returns_rows else []
    await engine.dispose()
    return rows


async def web_load(base: str, env: dict[str, str], *, floor: bool, customers: list[tuple[int, dict]]) -> dict[str, Any]:
    body = order_body(lines=[(SKU, 1)])
    async with httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=CONCURRENCY * 2),
                                 timeout=30) as client:
        async def place(index: int) -> Any:
            customer_id, headers = customers[index % len(customers)]
            response = await client.post("/orders" if floor else "/api/v1/orders", json=body,
                                         headers={"x-customer": str(customer_id)} if floor else headers)
            assert response.status_code == 201, response.text
            return response.json()

        await drive(WARM_UP, place)
        orders_per_s, latencies, placed = await drive(ORDERS, place)

        async def pay(index: int) -> None:
            order = placed[index]
            intent = {"id": order["payment"]["payment_intent_id"], "object": "payment_intent", "status": "succeeded",
                      "amount": order["total"]["amount_minor"], "currency": "rsd", "metadata": {"order_id": order["id"]}}
            payload = json.dumps(event("payment_intent.succeeded", intent, event_id=f"evt_{order['id']}")).encode()
            response = await client.post("/webhook" if floor else "/api/v1/webhooks/stripe", content=payload,
                                         headers={"Stripe-Signature": sign(payload, SECRET),
                                                  "Content-Type": "application/json"})
            assert response.json()["result"] == "paid", response.text

        events_per_s, _, _ = await drive(ORDERS, pay)
    return {"orders/s": orders_per_s, "p50 ms": p(latencies, 50), "p99 ms": p(latencies, 99), "events/s": events_per_s}


async def stripe_round_trip(stub: str) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=stub, timeout=30) as client:
        async def create(_: int) -> None:
            await client.post("/v1/payment_intents", data={"amount": 1000, "currency": "rsd"})
        await drive(WARM_UP, create)
        _, latencies, _ = await drive(ORDERS, create)
    return {"stripe p50 ms": p(latencies, 50), "stripe p99 ms": p(latencies, 99)}


def fill_sqlite(path: Path, customer_id: int, due: datetime, now: datetime) -> None:
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    db = sqlite3.connect(path)
    with db:
        def orders() -> Iterator[tuple]:
            for i in range(ALL_ORDERS):
                expired = i < EXPIRED
                yield (f"bench-{i:09d}", f"B{i:09d}", customer_id, "RS", "awaiting_payment" if expired else "paid",
                       "card", "RSD", 349_900, 39_000, 388_900, 64_816, "2025-12-18", "{}",
                       (due - timedelta(hours=2)).strftime(fmt), due.strftime(fmt), now.date().isoformat(),
                       f"pi_expired_{i}" if expired else None)
        db.executemany("INSERT INTO orders (id, number, customer_id, market, state, payment_method, currency, "
                       "items_minor, delivery_minor, total_minor, vat_minor, terms_version, delivery, placed_at, "
                       "payment_due_at, expected_delivery_on, payment_intent_id) VALUES "
                       "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", orders())
        db.executemany("INSERT INTO order_lines (order_id, sku, name, model, category, quantity, unit_price_minor, "
                       "vat_rate, requires_imei, returnable, set_items, state, imeis) VALUES "
                       "(?, ?, 'Charger', 'Charger', 'accessory', 1, 349900, '0.20', 0, 1, '[]', 'ordered', '[]')",
                       ((f"bench-{i:09d}", SKU) for i in range(ALL_ORDERS)))
        db.execute("UPDATE products SET reserved = reserved + ? WHERE sku = ?", (EXPIRED, SKU))
    db.close()


async def fill_postgres(url: str, customer_id: int, due: datetime, now: datetime) -> None:
    import asyncpg

    db = await asyncpg.connect(url)
    naive_due = due.replace(tzinfo=None)
    await db.copy_records_to_table("orders", columns=[
        "id", "number", "customer_id", "market", "state", "payment_method", "currency", "items_minor",
        "delivery_minor", "total_minor", "vat_minor", "terms_version", "delivery", "placed_at", "payment_due_at",
        "expected_delivery_on", "payment_intent_id"], records=(
        (f"bench-{i:09d}", f"B{i:09d}", customer_id, "RS", "awaiting_payment" if i < EXPIRED else "paid", "card",
         "RSD", 349_900, 39_000, 388_900, 64_816, "2025-12-18", "{}", naive_due - timedelta(hours=2), naive_due,
         now.date(), f"pi_expired_{i}" if i < EXPIRED else None) for i in range(ALL_ORDERS)))
    await db.copy_records_to_table("order_lines", columns=[
        "order_id", "sku", "name", "model", "category", "quantity", "unit_price_minor", "vat_rate", "requires_imei",
        "returnable", "set_items", "state", "imeis"], records=(
        (f"bench-{i:09d}", SKU, "Charger", "Charger", "accessory", 1, 349_900, "0.20", False, True, "[]", "ordered",
         "[]") for i in range(ALL_ORDERS)))
    await db.execute("UPDATE products SET reserved = reserved + $1 WHERE sku = $2", EXPIRED, SKU)
    await db.execute("ANALYZE")
    await db.close()


async def expiry(url: str, env: dict[str, str], customer_id: int, sqlite_file: Path | None, scratch: Path) -> dict[str, float]:
    now = datetime.now(UTC) - timedelta(minutes=1)
    due = now - timedelta(hours=1)
    started = time.perf_counter()
    if sqlite_file:
        fill_sqlite(sqlite_file, customer_id, due, now)
    else:
        await fill_postgres(url, customer_id, due, now)
    filled = time.perf_counter() - started
    reserved_before = (await sql(url, "SELECT reserved FROM products WHERE sku = :s", s=SKU))[0][0]
    log = scratch / "expire.log"
    started = time.perf_counter()
    with log.open("w") as out:
        job("expire-payments", "--now", now.isoformat(), "--send-at-most", str(SENT_SAMPLE), env=env, stdout=out)
    wall = time.perf_counter() - started
    summary = log.read_text().strip().splitlines()[-1]
    found = re.search(r": (\d+) orders cancelled in ([\d.]+)s; PaymentIntents cancelled (\d+), failed (\d+)"
                      r" .* in ([\d.]+)s", summary)
    if found is None:
        raise RuntimeError(f"unexpected summary: {summary}")
    cancelled = int(found.group(1))
    reserved_after = (await sql(url, "SELECT reserved FROM products WHERE sku = :s", s=SKU))[0][0]
    assert cancelled == EXPIRED and reserved_before - reserved_after == EXPIRED, (summary, reserved_before, reserved_after)
    sent, seconds = int(found.group(3)), float(found.group(5))
    return {"fill s": filled, "expiry s": float(found.group(2)), "expiry wall s": wall,
            "stripe sample": sent, "stripe cancels/s": sent / seconds if seconds else 0.0}


async def floor_expiry(url: str) -> float:
    """The same claim statement as the job's batch, run bare: the floor for the database part."""
    engine_sql = ("UPDATE orders SET state = 'cancelled' WHERE id IN (SELECT id FROM orders WHERE state = "
                  "'awaiting_payment' ORDER BY payment_due_at LIMIT 2000) AND state = 'awaiting_payment' RETURNING id")
    await sql(url, "UPDATE orders SET state = 'awaiting_payment' WHERE id < 'bench-000100000' AND id >= 'bench-'")
    started = time.perf_counter()
    while await sql(url, engine_sql):
        pass
    return time.perf_counter() - started


async def bench_database(name: str, url: str, sqlite_file: Path | None, stub: str, scratch: Path) -> dict[str, Any]:
    env = {"DATABASE_URL": url, "SHOP_ENV": "production", "SHOP_SECRET_KEY": "b" * 40, "STRIPE_API_BASE": stub,
           "STRIPE_SECRET_KEY": "sk_test_bench", "STRIPE_WEBHOOK_SECRET": SECRET, "SMTP_HOST": ""}
    job("migrate", env=env)
    job("seed", env=env)
    await sql(url, "UPDATE products SET on_hand = 100000000, max_per_customer = 1000000000 WHERE sku = :s", s=SKU)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    customers = []
    with process("-m", "shop.jobs", "serve", env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
                 ready_url=f"{base}/api/v1/health"):
        async with httpx.AsyncClient(base_url=base) as client:
            for n in range(CONCURRENCY):
                email = f"bench{n}@mail.example.rs"
                await client.post("/api/v1/auth/register", json={"email": email, "password": "bench password 1",
                                                                  "full_name": "Bench", "birth_date": "1990-01-01"})
                token = (await client.post("/api/v1/auth/login", json={"email": email, "password": "bench password 1"})).json()
                customers.append((n + 1, {"Authorization": f"Bearer {token['access_token']}"}))
        shop = await web_load(base, env, floor=False, customers=customers)
    port = free_port()
    with process("-m", "tests.benchmarks.floor", str(port), env=env, ready_url=f"http://127.0.0.1:{port}/"):
        floor = await web_load(f"http://127.0.0.1:{port}", env, floor=True, customers=customers)
    shop |= await expiry(url, env, customers[0][0], sqlite_file, scratch)
    floor["expiry s"] = await floor_expiry(url)
    return {"name": name, "shop": shop, "floor": floor}


def report(results: list[dict[str, Any]], stripe: dict[str, float]) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    out = [f"# `make bench` results\n\nMachine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}; "
           f"one uvicorn worker; concurrency {CONCURRENCY}; {ORDERS} orders after {WARM_UP} warm-up; "
           f"expiry of {EXPIRED:,} expired among {ALL_ORDERS:,} orders.\n",
           f"Stripe stub round trip at concurrency {CONCURRENCY}: p50 {stripe['stripe p50 ms']:.1f} ms, "
           f"p99 {stripe['stripe p99 ms']:.1f} ms (part of every order's latency, shop and floor alike).\n"]
    for result in results:
        shop, floor = result["shop"], result["floor"]
        out.append(f"\n## {result['name']}\n\n| measure | shop | floor | shop/floor | target |\n|---|---|---|---|---|")
        rows = [("orders placed/s", "orders/s", True), ("order p50 ms", "p50 ms", False),
                ("order p99 ms", "p99 ms", False), ("webhook events/s", "events/s", True),
                ("expire-payments DB s", "expiry s", False)]
        for label, key, higher_is_better in rows:
            ratio = floor[key] / shop[key] if higher_is_better else shop[key] / floor[key]
            target = TARGETS.get(key)
            verdict = ""
            if target is not None:
                met = shop[key] >= target if higher_is_better else shop[key] < target
                verdict = f"{'≥' if higher_is_better else '<'} {target}: {'PASS' if met else 'MISS'}"
            out.append(f"| {label} | {shop[key]:.1f} | {floor[key]:.1f} | {ratio:.2f} "
                       f"({'PASS' if ratio < TARGETS['ratio'] else 'MISS'} < 3) | {verdict} |")
        out.append(f"\nOrder latency less the Stripe round trip (the shop's own share): p50 "
                   f"{shop['p50 ms'] - stripe['stripe p50 ms']:.1f} ms. expire-payments wall time "
                   f"{shop['expiry wall s']:.1f} s (process start, migrations check, 100k lines printed); Stripe "
                   f"cancellations queued and timed apart: {shop['stripe sample']:,} sent at "
                   f"{shop['stripe cancels/s']:.0f}/s. Filling 1M orders took {shop['fill s']:.1f} s.\n")
    return "\n".join(out)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shop-bench-") as directory:
        scratch = Path(directory)
        stub_port = free_port()
        stub = f"http://127.0.0.1:{stub_port}"
        with process("-m", "tests.benchmarks.stripe_stub", str(stub_port), env={}, ready_url=f"{stub}/"):
            stripe = await stripe_round_trip(stub)
            results = []
            sqlite_file = scratch / "bench.db"
            results.append(await bench_database("SQLite", f"sqlite:///{sqlite_file}", sqlite_file, stub, scratch))
            print(report(results, stripe), flush=True)
            with PostgresServer() as postgres:
                results.append(await bench_database("PostgreSQL", postgres.url, None, stub, scratch))
    text = report(results, stripe)
    print(text)
    (Path(__file__).parent / "RESULTS.md").write_text(text + "\n")


if __name__ == "__main__":
    asyncio.run(main())
