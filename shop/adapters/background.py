"""Work that follows a request after it has answered (sending the e-mails it queued): run as tasks
on the server's event loop, kept until they finish, awaited when the process stops. And the batch
jobs' copies run at once (`all_together`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()

    def start(self, work: Coroutine[Any, Any, Any], *, what: str) -> None:
        task = asyncio.create_task(work, name=what)
        self._running.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for everything started so far (and what it starts in turn)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)


async def all_together(work: Callable[[], Awaitable[None]], *, copies: int) -> None:
    """`copies` runs of `work` at once (batch jobs: as many copies of the job would). When one fails,
    the others are stopped too, their open batch rolled back with its transaction, and the failure
    is raised."""
    running = [asyncio.create_task(work()) for _ in range(copies)]
    try:
        await asyncio.gather(*running)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
