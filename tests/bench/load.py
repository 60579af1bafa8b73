"""The load generator: CONCURRENCY workers, each with its own keep-alive connection on loopback
(tests/bench/rawhttp.py: ~0.1 ms of client CPU a call where httpx spends ~2 ms, so on 2 cores the
generator leaves the server its core), a bounded number of calls and a time limit; latency per
call, answers kept."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shop.adapters.background import all_together
from tests.bench.rawhttp import Connection, HttpError


@dataclass
class Run:
    calls: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    answers: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopped_early: bool = False
    client_cpu_s: float = 0.0
    metered: dict[str, float] = field(default_factory=dict)
    """What each of `drive`'s meters counted in the measured window."""

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        position = q * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    @property
    def p50(self) -> float:
        return self.quantile(0.50)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)


Call = Callable[[Connection, int], Awaitable[Any]]


class CallFailed(Exception):
    """A call whose answer was not the expected one (its text says what came back)."""


async def drive(base_url: str, n: int, call: Call, *, concurrency: int, time_limit: float,
                warmup: int = 0, meters: Mapping[str, Callable[[], float]] | None = None,
                max_error_share: float = 0.01) -> Run:
    """`warmup` + `n` calls of `call(connection, index)` (index 0 … warmup + n - 1) from
    `concurrency` workers, each on its own keep-alive connection to `base_url`; the first `warmup`
    are not measured. The measured window opens when call `warmup` is sent, on connections already
    open and a server already busy, so what it sees is the steady state: not the connections being
    opened, nor the `concurrency` first calls arriving in the same instant. Each of `meters` (a
    counter such as the server's CPU seconds) is read when the window opens and when it closes:
    `Run.metered` holds the differences. Stops early (and says so) past `time_limit` seconds;
    raises if more than `max_error_share` of the calls fail.

    This process's cyclic garbage collector is off while it drives. A full collection of its heap
    (the answers kept) stopped every worker at once, once or twice a phase, and the pause counted
    as the server's latency: 16 calls of the same latency, far above the rest. Measured on SQLite,
    3,000 keyed orders a phase: the generator's collections took 74.5, 77.1 and 101.3 ms
    (`gc.callbacks`), and the 30 slowest calls of each phase (its p99) were those clusters."""
    address = urlsplit(base_url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    total = warmup + n
    run = Run(answers=[None] * total)
    indexes = iter(range(total))
    deadline = time.perf_counter() + time_limit
    error_limit = max(3, int(total * max_error_share))
    window: dict[str, float] = {}

    def open_window() -> None:
        window["started"], window["cpu"] = time.perf_counter(), time.process_time()
        for name, meter in (meters or {}).items():
            window[name] = meter()

    async def worker() -> None:
        connection = Connection(host, port)
        try:
            for index in indexes:
                if time.perf_counter() > deadline:
                    run.stopped_early = True
                    return
                if index == warmup:
                    open_window()
                started = time.perf_counter()
                try:
                    run.answers[index] = await call(connection, index)
                except (CallFailed, HttpError) as error:
                    run.errors.append(f"{type(error).__name__}: {str(error)[:500]}")
                    if len(run.errors) > error_limit:
                        raise CallFailed(f"{len(run.errors)} of {index + 1} calls failed; "
                                         f"first: {run.errors[0]}") from error
                    continue
                if index >= warmup:
                    run.latencies_ms.append((time.perf_counter() - started) * 1000)
        finally:
            await connection.close()

    collecting = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        await all_together(worker, copies=concurrency)  # one failing stops the others
    finally:
        if collecting:
            gc.enable()
    if "started" not in window:  # stopped before the window opened
        open_window()
    run.seconds = time.perf_counter() - window["started"]
    run.client_cpu_s = time.process_time() - window["cpu"]
    run.metered = {name: meter() - window[name] for name, meter in (meters or {}).items()}
    run.calls = len(run.latencies_ms)
    return run


def setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
