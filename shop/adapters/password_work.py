"""Password hashing and verifying (argon2) on threads of their own, a bounded number at once.

At the production profile (RFC 9106, low memory) one hash or verification takes 64 MiB and its 4
lanes run on 4 threads of argon2's own: 0.17 s of CPU in 0.11 s here, most of both cores of this
machine. Registration and login are open to anyone; run on the event loop's default executor, a
burst of them would take up to six threads (384 MiB) and both cores from the orders in flight. Here
at most `at_once` run together (their memory bounded whatever arrives), the rest wait in turn, and
past `waiting_most` waiting a request is answered at once, 503 with `Retry-After`, rather than held
for seconds. A request that gives up while its work runs does not free a thread early: the pool's
threads are the bound.

    password_hash = await ctx.password_work.run(hasher.hash, password)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from shop.domain.errors import DomainError

T = TypeVar("T")

AT_ONCE = 1
"""Hashes and verifications at once: one already spreads over the cores (its lanes); a second at
once would take the rest from the event loop for little more throughput (64 MiB each)."""
WAITING_MOST = 32
"""Waiting behind it at most (about 4 s of work at the production profile, 9 a second); more: 503."""


class PasswordWorkBusy(DomainError):
    status = 503
    title = "Busy"

    def __init__(self) -> None:
        super().__init__("password_work_busy", "too many logins and registrations at once; try again in a moment")
        self.retry_after = 1


class PasswordWork:
    def __init__(self, *, at_once: int = AT_ONCE, waiting_most: int = WAITING_MOST) -> None:
        self.at_once, self.waiting_most = at_once, waiting_most
        self._threads = ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="password")
        self._in_hand = 0  # submitted and not yet done: running or waiting

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` on one of the pool's threads, in turn; 503 when too many wait already."""
        if self._in_hand >= self.at_once + self.waiting_most:
            raise PasswordWorkBusy()
        self._in_hand += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)
        finally:
            self._in_hand -= 1

    @property
    def in_hand(self) -> int:
        """Hashes and verifications running or waiting now."""
        return self._in_hand

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
