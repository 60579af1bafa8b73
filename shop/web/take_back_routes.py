"""The free take-back of an old device (RS-V.5.4): the customer's (`/orders/{id}/take-backs`,
`/take-backs`) and staff's (`/ops/take-backs`: the requested ones, collect, refuse)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody

from shop.services import take_backs
from shop.services.context import ShopContext
from shop.services.idempotency import Kept, claim_for
from shop.services.pages import PAGE
from shop.web.auth import Principal, ops_only
from shop.web import paging, presenters
from shop.web.after_sale_responses import TakeBackOut
from shop.web.responses import problems
from shop.web.schemas import NO_NUL, Body, RowId, supported_instant
from shop.web.schemas import Instant as InstantIn

Ctx = NamedDependency[ShopContext]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)]
TakeBacksLimit = paging.limit("take-backs")
TakeBacksAfter = paging.cursor("take-back")


# --- requests --------------------------------------------------------------------------------------

class TakeBackIn(Body):
    """RS-V.5.4: one old device of the same type and function as the device of `line_id`."""

    line_id: Annotated[RowId, msgspec.Meta(description="a device line (a phone, a TV) of the order")]
    description: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=500, description=(
        "what the old device is, e.g. \"Redmi Note 9, broken screen\""))]
    same_type_and_function: Annotated[bool, msgspec.Meta(description=(
        "RS-V.5.4: the customer declares the old device of the same type and function as the one delivered "
        "(must be true)"))]


class CollectIn(Body):
    collected_at: Annotated[InstantIn, msgspec.Meta(description=(
        "when the old device was collected: not in the future, not before the request; any day (RS-V.5.4)"))]

    def __post_init__(self) -> None:
        supported_instant("collected_at", self.collected_at)


class RefuseIn(Body):
    reason: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=500, description=(
        "why the old device is not of the same type or function"))]


# --- responses -------------------------------------------------------------------------------------

class OpsTakeBackOut(TakeBackOut):
    customer_id: int
    closed_by: str | None


def ops_json(row: Any) -> dict[str, Any]:
    return {**presenters.take_back(row), "customer_id": row.customer_id, "closed_by": row.closed_by}


class TakeBackController(Controller):
    tags = ["take-backs"]

    @post("/orders/{order_id:str}/take-backs", status_code=201, responses=problems(400, 401, 404, 409, 413, 422))
    async def request_one(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str],
                          idempotency_key: IdempotencyKey, data: JSONBody[TakeBackIn]) -> Response[TakeBackOut]:
        """RS-V.5.4: the free take-back of one old device of the same type and function as a device of
        the customer's paid order, at its delivery address (in Serbia only); one per unit of the line.
        With an Idempotency-Key, the same key answers the same take-back."""
        key = claim_for(f"{request.user.id} POST /orders/{order_id}/take-backs", idempotency_key, data)
        made = await take_backs.request(ctx, order_id, customer_id=request.user.id, line_id=data.line_id,
                                        description=data.description,
                                        same_type_and_function=data.same_type_and_function, key=key,
                                        present=presenters.take_back)
        if isinstance(made, Kept):
            return Response(made.body, status_code=made.status_code)
        return Response(presenters.take_back(made), status_code=201)  # type: ignore[arg-type]

    @get("/take-backs", responses=problems(401))
    async def mine(self, ctx: Ctx, request: Request[Principal, Any, Any]) -> list[TakeBackOut]:
        """The customer's take-backs, newest first."""
        return [presenters.take_back(row) for row in  # type: ignore[misc]
                await take_backs.of_customer(ctx, request.user.id)]

    @post("/take-backs/{take_back_id:str}/cancel", status_code=200, responses=problems(400, 401, 404, 409))
    async def cancel(self, ctx: Ctx, request: Request[Principal, Any, Any],
                     take_back_id: FromPath[str]) -> TakeBackOut:
        """The customer calls the take-back off before it is collected (409 after)."""
        return presenters.take_back(await take_backs.cancel(  # type: ignore[return-value]
            ctx, take_back_id, customer_id=request.user.id))


class OpsTakeBackController(Controller):
    path = "/ops/take-backs"
    tags = ["operations"]
    guards = [ops_only]

    @get("/", responses=problems(400, 401, 403, 422),
         response_headers=paging.link_header("/api/v1/ops/take-backs?limit=20&after=…"))
    async def requested(self, ctx: Ctx, limit: TakeBacksLimit = PAGE, after: TakeBacksAfter = None
                        ) -> Response[list[OpsTakeBackOut]]:
        """Take-backs waiting to be collected or refused, the oldest first, a page at a time; the next
        page's address in `Link`."""
        found, more = await take_backs.requested(ctx, limit=limit, after=after)
        return paging.page([ops_json(row) for row in found], path="/api/v1/ops/take-backs",  # type: ignore[misc]
                           query={"limit": limit}, after=found[-1].id if more else None)

    @post("/{take_back_id:str}/collect", status_code=200, responses=problems(400, 401, 403, 404, 409, 413, 422))
    async def collect(self, ctx: Ctx, request: Request[Principal, Any, Any], take_back_id: FromPath[str],
                      data: JSONBody[CollectIn]) -> OpsTakeBackOut:
        """RS-V.5.4: the old device was collected at the delivery address at `collected_at`, which may
        be another day than the delivery's."""
        return ops_json(await take_backs.collect(  # type: ignore[return-value]
            ctx, take_back_id, collected_at=data.collected_at, actor=request.user.actor))

    @post("/{take_back_id:str}/refuse", status_code=200, responses=problems(400, 401, 403, 404, 409, 413, 422))
    async def refuse(self, ctx: Ctx, request: Request[Principal, Any, Any], take_back_id: FromPath[str],
                     data: JSONBody[RefuseIn]) -> OpsTakeBackOut:
        """RS-V.5.4: the old device is not of the same type or function as the one delivered."""
        return ops_json(await take_backs.refuse(  # type: ignore[return-value]
            ctx, take_back_id, reason=data.reason, actor=request.user.actor))
