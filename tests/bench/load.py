"""The load generator: CONCURRENCY workers, each with its own keep-alive connection on loopback
(tests/bench/rawhttp.py: ~0.1 ms of client CPU a call where httpx spends ~2 ms, so on 2 cores the
generator leaves the server its core), a bounded number of calls and a time limit; latency per
call, answers kept."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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
                max_error_share: float = 0.01) -> Run:
    """`n` calls of `call(connection, index)` from `concurrency` workers, each on its own
    connection to `base_url`. Stops early (and says so) past `time_limit` seconds; raises if more
    than `max_error_share` of the calls fail."""
    address = urlsplit(base_url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    run = Run(answers=[None] * n)
    indexes = iter(range(n))
    deadline = time.perf_counter() + time_limit
    error_limit = max(3, int(n * max_error_share))

    async def worker() -> None:
        connection = Connection(host, port)
        try:
            for index in indexes:
                if time.perf_counter() > deadline:
                    run.stopped_early = True
                    return
                started = time.perf_counter()
                try:
                    run.answers[index] = await call(connection, index)
                except (CallFailed, HttpError) as error:
                    run.errors.append(f"{type(error).__name__}: {str(error)[:500]}")
                    if len(run.errors) > error_limit:
                        raise CallFailed(f"{len(run.errors)} of {index + 1} calls failed; "
                                         f"first: {run.errors[0]}") from error
                    continue
                run.latencies_ms.append((time.perf_counter() - started) * 1000)
        finally:
            await connection.close()

    cpu = time.process_time()
    started = time.perf_counter()
    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    run.seconds = time.perf_counter() - started
    run.client_cpu_s = time.process_time() - cpu
    run.calls = len(run.latencies_ms)
    return run


def setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
