"""The load generator: one httpx.AsyncClient, CONCURRENCY workers over keep-alive connections on
loopback, a bounded number of calls and a time limit; latency per call, answers kept."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


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


Call = Callable[[httpx.AsyncClient, int], Awaitable[Any]]


class CallFailed(Exception):
    """A call whose answer was not the expected one (its text says what came back)."""


def client(base_url: str, concurrency: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(60.0),
                             limits=httpx.Limits(max_connections=concurrency,
                                                 max_keepalive_connections=concurrency))


async def drive(http: httpx.AsyncClient, n: int, call: Call, *, concurrency: int, time_limit: float,
                max_error_share: float = 0.01) -> Run:
    """`n` calls of `call(http, index)` from `concurrency` workers. Stops early (and says so) past
    `time_limit` seconds; raises if more than `max_error_share` of the calls fail."""
    run = Run(answers=[None] * n)
    indexes = iter(range(n))
    deadline = time.perf_counter() + time_limit
    error_limit = max(3, int(n * max_error_share))

    async def worker() -> None:
        for index in indexes:
            if time.perf_counter() > deadline:
                run.stopped_early = True
                return
            started = time.perf_counter()
            try:
                run.answers[index] = await call(http, index)
            except (CallFailed, httpx.HTTPError) as error:
                run.errors.append(f"{type(error).__name__}: {str(error)[:500]}")
                if len(run.errors) > error_limit:
                    raise CallFailed(f"{len(run.errors)} of {index + 1} calls failed; first: {run.errors[0]}") from error
                continue
            run.latencies_ms.append((time.perf_counter() - started) * 1000)

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
