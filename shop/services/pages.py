"""Lists read a page at a time (the customer's orders and complaints, staff's queues and lists): how
many a page, and a page cut from the one item more its read asked for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from shop.domain.errors import InvalidInput

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


def unknown_cursor(what: str, cursor: str, *, field: str = "after", of_yours: bool = False) -> InvalidInput:
    """The 422 for a page asked to continue from `cursor`, which names no `what` of the list (or,
    for a customer's list, none of theirs), naming the query parameter."""
    whose = " of yours" if of_yours else ""
    return InvalidInput("unknown_cursor", f"no {what} {cursor}{whose} to continue from", field=field)
