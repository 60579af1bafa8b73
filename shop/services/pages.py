"""Lists read a page at a time (the customer's orders and complaints, staff's queues and lists): how
many a page, and a page cut from the one item more its read asked for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

PAGE = 20
"""Items a page, unless the caller asks for another number."""
PAGE_MOST = 100
"""Items a page at most: an order comes with its lines, timeline, refunds, invoices…; a customer's
expired orders pile up, and a page of every order of a customer who placed thousands would be
megabytes, read in statements of thousands of bound ids."""


def cut(rows: Sequence[T], limit: int) -> tuple[list[T], bool]:
    """The page of `rows`, read `limit + 1` at most, and whether more follow it."""
    return list(rows[:limit]), len(rows) > limit
