"""Group commit: requests that arrive while an earlier batch of the same work is in the database wait
for it, then go into the database together, in one transaction, in the order they arrived.

One request alone goes at once (nothing waits for company); under load the requests that queued up
behind a transaction share the next one, so its round trips and its commit are paid once for many.
At most `at_once` batches of one key run at a time; those of one key lock the rows they change in
one order (the caller's statements do), so two never wait for each other in a circle.
A batch that fails is run again one item at a time, so that one item's failure (a bad event, a
constraint) is its own and never another request's.

    result = await group_commit.submit("payment_intent.succeeded", apply, item)

`apply(items)` returns one result per item, in order; callers of one key pass the same function
(and the same `most`, where a kind of work wants smaller batches than MOST_AT_ONCE).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

Apply = Callable[[list[Any]], Awaitable[list[Any]]]

MOST_AT_ONCE = 32
"""Items in one batch at most, unless the work says fewer (`submit(most=)`): a transaction's locks
are held for all of them, and on SQLite the event loop too (its transactions never yield)."""

BATCHES_AT_ONCE = 2
"""Batches of one key in the database at once. A batch waits on its round trips, and on a busy
event loop each of them waits for the loop as well: with two, one is being filled (or decided)
while the other waits (measured on PostgreSQL; on SQLite a transaction never yields the loop)."""


class GroupCommit:
    def __init__(self, *, most: int = MOST_AT_ONCE, at_once: int = BATCHES_AT_ONCE) -> None:
        self.most, self.at_once = most, at_once
        self._waiting: dict[Hashable, list[tuple[Any, asyncio.Future[Any]]]] = {}
        self._draining: dict[Hashable, set[asyncio.Task[None]]] = {}  # strong references: see Background

    async def submit(self, key: Hashable, apply: Apply, item: Any, *, most: int | None = None) -> Any:
        """The result of `apply` for `item`, run together with what else is queued under `key`, at
        most `most` items a batch (default: this group commit's)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append((item, future))
        draining = self._draining.setdefault(key, set())
        if len(draining) < self.at_once:
            draining.add(asyncio.create_task(self._drain(key, apply, most or self.most), name=f"group commit {key}"))
        return await future

    async def _drain(self, key: Hashable, apply: Apply, most: int) -> None:
        try:
            while queued := self._waiting.get(key):
                batch, self._waiting[key] = queued[:most], queued[most:]
                await self._run(apply, batch)
        finally:  # no await between the empty queue and here: nothing can be queued unseen
            draining = self._draining[key]
            draining.discard(asyncio.current_task())  # type: ignore[arg-type]
            if not draining:
                del self._draining[key]
                for _, future in self._waiting.pop(key, []):  # left when cancelled: none waits forever
                    future.cancel()

    async def _run(self, apply: Apply, batch: list[tuple[Any, asyncio.Future[Any]]]) -> None:
        try:
            results = await apply([item for item, _ in batch])
        except Exception as error:  # noqa: BLE001 - handed to the waiting request(s)
            if len(batch) == 1:
                _settle(batch[0][1], error=error)
                return
            for entry in batch:  # the batch rolled back: each one alone, its failure its own
                await self._run(apply, [entry])
            return
        except BaseException:  # cancelled (the server stopping): no request waits forever
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: Exception | None = None) -> None:
    if future.done():  # the request went away (its client disconnected); the work is done anyway
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
