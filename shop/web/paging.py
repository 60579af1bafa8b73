"""Staff's work queues and lists a page at a time (GET /ops/orders, /ops/withdrawals, /ops/service-cases,
/ops/complaints, /ops/conformity-claims, /ops/take-backs, /ops/content-notices, /ops/interruptions):
`limit` items (1 … 100, 20 unless asked), `after` the previous page's last item, and the next page's
address in a `Link` header (RFC 8288) when more follow. The customer's own lists (GET /orders,
/complaints) go the same way, newest first, their cursor named `before`."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.params import QueryParameter

from shop.services.pages import PAGE_MOST
from shop.web.schemas import NO_NUL

T = TypeVar("T")


def limit(items: str) -> Any:
    """The `limit` query parameter of a list of `items`: 1 … PAGE_MOST a page."""
    return Annotated[int, QueryParameter(ge=1, le=PAGE_MOST, description=f"{items} a page")]


def cursor(item: str) -> Any:
    """The `after` (or `before`) query parameter of a list of `item`s: the previous page's last one,
    as its `Link` header names it."""
    return Annotated[str | None, QueryParameter(max_length=36, pattern=NO_NUL, description=(
        f"the page after the one whose last {item} had this id (the `Link` header's)"))]


def link_header(example: str) -> list[ResponseHeader]:
    """`response_headers=` of a queue's route: the `Link` header, documented (it is sent only when
    more follow)."""
    return [ResponseHeader(name="Link", documentation_only=True,
                           description=f'the next page, when there is one (RFC 8288): `<{example}>; rel="next"`')]


def page(body: T, *, path: str, query: dict[str, Any], after: str | None, cursor: str = "after") -> Response[T]:
    """The page's answer. `after`: its last item's id when more follow (None: no more), then `Link`
    names the next page, `path` with `query` (the same filters and `limit`) and that id as `cursor`
    (`before` for a customer's own lists, newest first)."""
    if after is None:
        return Response(body)
    return Response(body, headers={"Link": f'<{path}?{urlencode({**query, cursor: after})}>; rel="next"'})
