"""The bench's load generator (tests/bench/load.py `drive`) measures what it says: the warm-up calls
run on the same connections but are not counted, the meters are read when the measured window opens
and closes, and the generator's own collector is off only while it drives (its full collections
once showed as the server's p99). Driven against the bench's Stripe stub, a real HTTP server."""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
from pathlib import Path

import pytest

from tests.bench.common import Child
from tests.bench.load import drive
from tests.bench.rawhttp import Connection
from tests.infra.ports import free_port

CONCURRENCY = 4


@pytest.fixture(scope="module")
def stub() -> str:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Child("Stripe stub", [sys.executable, "-m", "tests.bench.stripe_stub", str(port)], {},
                   Path(tempfile.mkdtemp(prefix="bench-load-")) / "stub.log")
    try:
        server.wait_ready(f"{base}/")
        yield base
    finally:
        server.stop()


def test_warm_up_calls_run_but_are_not_measured(stub: str) -> None:
    started: list[int] = []
    collector_on: list[bool] = []

    async def call(http: Connection, index: int) -> int:
        started.append(index)
        collector_on.append(gc.isenabled())
        answer = await http.request("GET", "/")
        assert answer.status == 200
        return index

    def calls_so_far() -> float:
        return float(len(started))

    run = asyncio.run(drive(stub, 40, call, warmup=10, concurrency=CONCURRENCY, time_limit=60,
                            meters={"calls": calls_so_far}))

    assert sorted(started) == list(range(50))  # every call made, the warm-up's first
    assert run.answers == list(range(50))
    assert run.calls == len(run.latencies_ms) == 40  # only the window's calls are measured
    # The window opens as call 10 is sent: the meter then counts the warm-up calls already started
    # (10, the one opening it not yet), and at the end all 50.
    assert run.metered["calls"] == 40
    assert run.seconds > 0
    assert not any(collector_on)  # off while driving …
    assert gc.isenabled()  # … and on again after


def test_a_window_never_opened_still_reports(stub: str) -> None:
    async def call(http: Connection, index: int) -> None:
        await http.request("GET", "/")

    run = asyncio.run(drive(stub, 0, call, warmup=5, concurrency=CONCURRENCY, time_limit=60,
                            meters={"zero": lambda: 0.0}))

    assert run.calls == 0 and run.metered == {"zero": 0.0}
    assert gc.isenabled()
