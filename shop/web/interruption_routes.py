"""Announced technical interruptions (RS-IV.4): what the storefront shows (`/interruptions`, public)
and what staff do (`/ops/interruptions`: announce, call off, end early, list). While one is in
effect `POST /orders` of its market answers 503 with `Retry-After` (shop.domain.interruptions)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from shop.domain.interruptions import status_at
from shop.domain.markets import Market
from shop.services import interruptions
from shop.services.context import ShopContext
from shop.services.pages import PAGE
from shop.web import paging
from shop.web.auth import Principal, ops_only
from shop.web.presenters import instant
from shop.web.responses import Instant, Out, PublicOperation, problems
from shop.web.schemas import NO_NUL, Body, supported_instant
from shop.web.schemas import Instant as InstantIn

Ctx = NamedDependency[ShopContext]
MarketName = Literal["RS", "KZ"]
MarketQuery = Annotated[Market, QueryParameter(name="market", description="RS or KZ")]
InterruptionsLimit = paging.limit("interruptions")
InterruptionsAfter = paging.cursor("interruption")
Status = Annotated[Literal["upcoming", "in_effect", "over", "called_off"], msgspec.Meta(
    description="as of now: new orders are refused while `in_effect`")]


class AnnounceIn(Body):
    market: MarketName
    ends_at: Annotated[InstantIn, msgspec.Meta(description="when it is over: after it begins, within 24 hours")]
    notice: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=500,
                                        description="what the storefront shows the customers")]
    starts_at: Annotated[InstantIn | None, msgspec.Meta(
        description="when it begins: now (the default) or later")] = None

    def __post_init__(self) -> None:
        if self.starts_at is not None:
            supported_instant("starts_at", self.starts_at)
        supported_instant("ends_at", self.ends_at)


class InterruptionOut(Out):
    """What a customer sees of an interruption (the notice on the website)."""

    id: str
    market: MarketName
    status: Status
    starts_at: Instant
    ends_at: Instant
    notice: str


class OpsInterruptionOut(InterruptionOut):
    state: Literal["announced", "called_off", "ended"]
    announced_ends_at: Instant
    announced_by: str
    announced_at: Instant
    closed_by: str | None
    closed_at: Instant | None


def public_json(row: Any, now: datetime) -> dict[str, Any]:
    return {"id": row.id, "market": row.market, "status": status_at(row.state, row.starts_at, row.ends_at, now),
            "starts_at": instant(row.starts_at), "ends_at": instant(row.ends_at), "notice": row.notice}


def ops_json(row: Any, now: datetime) -> dict[str, Any]:
    return {**public_json(row, now), "state": row.state, "announced_ends_at": instant(row.announced_ends_at),
            "announced_by": row.announced_by, "announced_at": instant(row.announced_at),
            "closed_by": row.closed_by, "closed_at": instant(row.closed_at)}


class InterruptionController(Controller):
    path = "/interruptions"
    tags = ["orders"]

    @get("/", operation_class=PublicOperation, responses=problems(400))
    async def to_show(self, ctx: Ctx, market: MarketQuery) -> list[InterruptionOut]:
        """RS-IV.4: the market's announced technical interruptions upcoming or in effect, the soonest
        first: the storefront shows their notices. While one is in effect new orders are refused."""
        now, rows = await interruptions.to_show(ctx, market)
        return [public_json(row, now) for row in rows]  # type: ignore[misc]


class OpsInterruptionController(Controller):
    path = "/ops/interruptions"
    tags = ["operations"]
    guards = [ops_only]

    @post("/", status_code=201, responses=problems(400, 401, 403, 409, 413, 422))
    async def announce(self, ctx: Ctx, request: Request[Principal, Any, Any],
                       data: JSONBody[AnnounceIn]) -> OpsInterruptionOut:
        """RS-IV.4: from `starts_at` (now by default) to `ends_at` the market takes no new orders;
        orders already placed go on. At most 24 hours; a market's interruptions never overlap (409)."""
        row = await interruptions.announce(ctx, Market(data.market), starts_at=data.starts_at, ends_at=data.ends_at,
                                           notice=data.notice, actor=request.user.actor)
        return ops_json(row, row.announced_at)  # type: ignore[return-value]

    @post("/{interruption_id:str}/call-off", status_code=200, responses=problems(400, 401, 403, 404, 409))
    async def call_off(self, ctx: Ctx, request: Request[Principal, Any, Any],
                       interruption_id: FromPath[str]) -> OpsInterruptionOut:
        """An interruption not yet begun will not happen (409 once it has begun: end it)."""
        row = await interruptions.call_off(ctx, interruption_id, actor=request.user.actor)
        return ops_json(row, row.closed_at)  # type: ignore[return-value]

    @post("/{interruption_id:str}/end", status_code=200, responses=problems(400, 401, 403, 404, 409))
    async def end(self, ctx: Ctx, request: Request[Principal, Any, Any],
                  interruption_id: FromPath[str]) -> OpsInterruptionOut:
        """An interruption in effect is over now: orders are taken again (409 before it begins or
        after it is over)."""
        row = await interruptions.end(ctx, interruption_id, actor=request.user.actor)
        return ops_json(row, row.closed_at)  # type: ignore[return-value]

    @get("/", responses=problems(400, 401, 403, 422),
         response_headers=paging.link_header("/api/v1/ops/interruptions?market=RS&limit=20&after=…"))
    async def of_market(self, ctx: Ctx, market: MarketQuery, limit: InterruptionsLimit = PAGE,
                        after: InterruptionsAfter = None) -> Response[list[OpsInterruptionOut]]:
        """The market's interruptions, the latest first (by `starts_at`), a page at a time; the next
        page's address in `Link`."""
        now, rows, more = await interruptions.of_market(ctx, market, limit=limit, after=after)
        return paging.page([ops_json(row, now) for row in rows],  # type: ignore[misc]
                           path="/api/v1/ops/interruptions", query={"market": market.value, "limit": limit},
                           after=rows[-1].id if more else None)
