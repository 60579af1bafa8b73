"""Two checkouts of the shop side by side, for a change too small to see through this machine's
drift (its speed moves by up to 40 % between runs of `make bench`): each checkout's server (uvicorn,
one worker, SHOP_ENV=production) on its own fresh database, then batches of work sent to one and
the other in turn, so that both see the same machine. Prints the rate and the server's CPU per call
for each side.

    git worktree add /tmp/before HEAD~1
    python -m tests.bench.ab /tmp/before .

Settings: AB_WHAT=events (signed `payment_intent.succeeded` for orders placed first on both),
orders (POST /api/v1/orders), keyed (the same, a fresh Idempotency-Key each) or catalogue
(GET /api/v1/products?market=RS); two kinds with a comma, one a side (`AB_WHAT=orders,keyed
python -m tests.bench.ab . .`: keyed against unkeyed orders on the same code); AB_DATABASE=sqlite or postgresql (a private server, a database per
side); AB_BATCH=600 calls a batch, AB_ROUNDS=5, AB_CONCURRENCY=16 workers. Run a pair both ways: in an A/A run of the order
path on PostgreSQL the second side came out 7 % ahead in server CPU per order.

Each checkout runs with this virtual environment; its own `shop` package comes first on the path
(`python -m` from its folder)."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.__main__ import customers, sql
from tests.bench.common import BENCH_ENV, SKU, WEBHOOK_SECRET, Child, order_payload, run_job, succeeded_event
from tests.bench.load import CallFailed, Run, drive, setting
from tests.bench.rawhttp import Connection
from tests.infra.ports import free_port

BATCH = setting("AB_BATCH", 600)
ROUNDS = setting("AB_ROUNDS", 5)
WHAT = os.environ.get("AB_WHAT", "events")
DATABASE = os.environ.get("AB_DATABASE", "sqlite")
WARMUP = 300
CONCURRENCY = setting("AB_CONCURRENCY", 16)
BATCH_WARMUP = 2 * CONCURRENCY
"""The first calls of each batch, not measured (see tests/bench/load.py `drive`)."""


@dataclass
class Side:
    folder: Path
    base: str
    server: Child
    place: Any
    orders: list[dict[str, Any]]
    what: str
    cpu_s: float = 0.0
    seconds: float = 0.0
    calls: int = 0
    latencies: Run = field(default_factory=Run)


async def start(folder: Path, name: str, stub: str, scratch: Path, n: int, pg: Any, what: str) -> Side:
    url = f"sqlite:///{scratch / name}.db" if pg is None else pg.create_database(name)
    env = {**BENCH_ENV, "DATABASE_URL": url, "STRIPE_API_BASE": stub}
    for task in ("migrate", "seed"):
        run_job(["-m", "shop.jobs", task], env, timeout=300, cwd=folder)
    await sql(url, "UPDATE products SET on_hand = 10000000, max_per_customer = 100000000 WHERE sku = :s", {"s": SKU})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Child(f"shop ({folder})", [sys.executable, "-m", "shop.jobs", "serve"],
                   {**env, "HOST": "127.0.0.1", "PORT": str(port)}, scratch / f"{name}.log", cwd=folder)
    server.wait_ready(f"{base}/api/v1/health")
    people = await customers(url, name)
    body = order_payload()

    async def place(http: Connection, index: int) -> dict[str, Any]:
        headers = people[index % len(people)][1]
        if what == "keyed":
            headers = {**headers, "Idempotency-Key": os.urandom(12).hex()}
        answer = await http.post_json("/api/v1/orders", body, headers=headers)
        if answer.status != 201:
            raise CallFailed(f"POST /api/v1/orders answered {answer.status}: {answer.text[:300]}")
        return answer.json()

    async def browse(http: Connection, index: int) -> None:
        answer = await http.request("GET", "/api/v1/products?market=RS")
        if answer.status != 200:
            raise CallFailed(f"GET /api/v1/products answered {answer.status}: {answer.text[:300]}")

    placed = await drive(base, n, place, concurrency=CONCURRENCY, time_limit=600)
    return Side(folder, base, server, browse if what == "catalogue" else place,
                [order for order in placed.answers if order], what)


def pay_for(orders: list[dict[str, Any]]) -> Any:
    async def pay(http: Connection, index: int) -> None:
        body, signature = succeeded_event(orders[index], WEBHOOK_SECRET)
        answer = await http.request("POST", "/api/v1/webhooks/stripe", body=body, headers={
            "Stripe-Signature": signature, "Content-Type": "application/json"})
        if answer.status != 200 or answer.json().get("result") != "paid":
            raise CallFailed(f"webhook answered {answer.status}: {answer.text[:300]}")
    return pay


async def main(folders: list[Path]) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="shop-ab-"))
    port = free_port()
    stub = f"http://127.0.0.1:{port}"
    stub_process = Child("Stripe stub", [sys.executable, "-m", "tests.bench.stripe_stub", str(port)], {},
                         scratch / "stub.log")
    sides: list[Side] = []
    with ExitStack() as stack:
        pg = None
        if DATABASE == "postgresql":
            from tests.infra.postgres import PostgresServer

            pg = stack.enter_context(PostgresServer())
        try:
            stub_process.wait_ready(f"{stub}/")
            whats = WHAT.split(",")
            for number, folder in enumerate(folders, 1):
                what = whats[min(number - 1, len(whats) - 1)]
                placing = WARMUP + (BATCH * ROUNDS if what == "events" else 0)
                sides.append(await start(folder, f"side{number}", stub, scratch, placing, pg, what))
            for side in sides:
                if side.what == "events":
                    await drive(side.base, WARMUP, pay_for(side.orders[:WARMUP]), concurrency=CONCURRENCY,
                                time_limit=120)
            for round_ in range(ROUNDS):
                for side in sides:
                    if side.what == "events":
                        batch = side.orders[WARMUP + round_ * BATCH:WARMUP + (round_ + 1) * BATCH]
                        work, count = pay_for(batch), len(batch)
                    else:
                        work, count = side.place, BATCH
                    run = await drive(side.base, count - BATCH_WARMUP, work, warmup=BATCH_WARMUP,
                                      meters={"server": side.server.cpu_seconds}, concurrency=CONCURRENCY,
                                      time_limit=120)
                    side.cpu_s += run.metered["server"]
                    side.seconds += run.seconds
                    side.calls += run.calls
                    side.latencies.latencies_ms += run.latencies_ms
            for side in sides:
                what = {"events": "webhook events", "catalogue": "catalogue reads",
                        "keyed": "keyed orders"}.get(side.what, "orders")
                print(f"{side.folder} ({DATABASE}): {side.calls / side.seconds:,.0f} {what}/s, server CPU "
                      f"{side.cpu_s / side.calls * 1000:.3f} ms each, p50 {side.latencies.p50:.1f} / p99 "
                      f"{side.latencies.quantile(0.99):.1f} ms ({side.calls:,} {what})")
        finally:
            for side in sides:
                side.server.stop()
            stub_process.stop()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    import uvloop  # as `make bench`: the lighter loop for the load generator

    uvloop.run(main([Path(arg).resolve() for arg in sys.argv[1:]]))
