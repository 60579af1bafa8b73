"""Force majeure (RS-VIII, T-7), for staff: declare a market's period, end it (the seller's deadlines
that ran during it move), list a market's periods."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from shop.domain.markets import Market
from shop.services import force_majeure
from shop.services.context import ShopContext
from shop.web.auth import Principal, ops_only
from shop.web.presenters import instant
from shop.web.responses import Instant, Out, problems
from shop.web.schemas import NO_NUL, Body, supported_instant
from shop.web.schemas import Instant as InstantIn

Ctx = NamedDependency[ShopContext]
MarketName = Literal["RS", "KZ"]


class DeclareIn(Body):
    market: MarketName
    starts_at: Annotated[InstantIn, msgspec.Meta(description="when it began: now or earlier")]
    reason: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=500)]

    def __post_init__(self) -> None:
        supported_instant("starts_at", self.starts_at)


class EndIn(Body):
    ends_at: Annotated[InstantIn, msgspec.Meta(description="when it was over: after it began, now or earlier")]

    def __post_init__(self) -> None:
        supported_instant("ends_at", self.ends_at)


class MovedOut(Out):
    refunds: int
    withdrawals: int
    complaints: int
    deliveries: int


class ForceMajeureOut(Out):
    id: str
    market: MarketName
    state: Literal["declared", "ended"]
    starts_at: Instant
    ends_at: Instant | None
    reason: str
    declared_by: str
    declared_at: Instant
    ended_by: str | None
    moved: Annotated[MovedOut | None, msgspec.Meta(
        description="T-7: how many of the seller's deadlines of each kind its end moved")]


def period_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "market": row.market, "state": row.state, "starts_at": instant(row.starts_at),
            "ends_at": instant(row.ends_at), "reason": row.reason, "declared_by": row.declared_by,
            "declared_at": instant(row.declared_at), "ended_by": row.ended_by, "moved": row.moved}


class ForceMajeureController(Controller):
    path = "/ops/force-majeure"
    tags = ["operations"]
    guards = [ops_only]

    @post("/", status_code=201, responses=problems(400, 401, 403, 409, 413, 422))
    async def declare(self, ctx: Ctx, request: Request[Principal, Any, Any],
                      data: JSONBody[DeclareIn]) -> ForceMajeureOut:
        """RS-VIII, T-7: the market is in force majeure from `starts_at`; the seller's own deadlines
        are suspended until it ends. One period of a market at a time (409)."""
        return period_json(await force_majeure.declare(  # type: ignore[return-value]
            ctx, Market(data.market), starts_at=data.starts_at, reason=data.reason, actor=request.user.actor))

    @post("/{period_id:str}/end", status_code=200, responses=problems(400, 401, 403, 404, 409, 413, 422))
    async def end(self, ctx: Ctx, request: Request[Principal, Any, Any], period_id: FromPath[str],
                  data: JSONBody[EndIn]) -> ForceMajeureOut:
        """T-7: the period is over; every seller's deadline that ran during it (refunds, withdrawals'
        refunds, complaints' answers, expected deliveries) resumes, moved later by that time."""
        return period_json(await force_majeure.end(  # type: ignore[return-value]
            ctx, period_id, ends_at=data.ends_at, actor=request.user.actor))

    @get("/", responses=problems(400, 401, 403))
    async def of_market(self, ctx: Ctx, market: Annotated[Market, QueryParameter(
            name="market", description="RS or KZ")]) -> list[ForceMajeureOut]:
        """The market's periods, the latest first."""
        return [period_json(row) for row in await force_majeure.periods(ctx, market)]  # type: ignore[misc]
