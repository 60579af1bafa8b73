"""The legal guarantee of conformity (RS-VI): the customer's claim and turn (`/orders/{id}/conformity-claims`,
`/conformity-claims`), staff's decisions and the money (`/ops/conformity-claims`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody

from shop.domain.conformity import Remedy
from shop.services import conformity
from shop.services.context import ShopContext
from shop.services.idempotency import Kept, claim_for
from shop.services.pages import PAGE
from shop.web.auth import Principal, ops_only
from shop.web import paging, presenters
from shop.web.after_sale_responses import ConformityClaimOut
from shop.web.responses import problems
from shop.web.schemas import INT_MAX, NO_NUL, Body, LineIds

Ctx = NamedDependency[ShopContext]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)]
Note = Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=500)]
PROBLEMS = (400, 401, 404, 409, 413, 422)
OPS_PROBLEMS = (400, 401, 403, 404, 409, 413, 422)
ClaimsLimit = paging.limit("claims")
ClaimsAfter = paging.cursor("claim")


# --- requests --------------------------------------------------------------------------------------

class ClaimIn(Body):
    """RS-VI.1, RS-VI.4: the lines that lack conformity, what is wrong, and the remedy chosen."""

    line_ids: LineIds
    defect: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=2000)]
    remedy: Annotated[Literal["repair", "replacement"], msgspec.Meta(description="RS-VI.4: the customer chooses")]


class NoteIn(Body):
    note: Note | None = None


class ReasonIn(Body):
    reason: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=500)]


class ReductionIn(Body):
    """RS-VI.8: a proportional reduction, in the order's currency's minor units."""

    amount_minor: Annotated[int, msgspec.Meta(ge=1, le=INT_MAX)]
    note: Note | None = None


class ConformityClaimController(Controller):
    tags = ["conformity claims"]

    @post("/orders/{order_id:str}/conformity-claims", status_code=201, responses=problems(*PROBLEMS))
    async def claim(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str],
                    idempotency_key: IdempotencyKey, data: JSONBody[ClaimIn]) -> Response[ConformityClaimOut]:
        """RS-VI.1, RS-VI.4: delivered lines lack conformity, within 2 years of delivery; the customer
        chooses repair or replacement. With an Idempotency-Key, the same key answers the same claim."""
        key = claim_for(f"{request.user.id} POST /orders/{order_id}/conformity-claims", idempotency_key, data)
        made = await conformity.make_claim(ctx, order_id, customer_id=request.user.id, line_ids=data.line_ids,
                                           defect=data.defect, remedy=Remedy(data.remedy), key=key,
                                           present=presenters.conformity_claim)
        if isinstance(made, Kept):
            return Response(made.body, status_code=made.status_code)
        return Response(presenters.conformity_claim(made), status_code=201)

    @get("/conformity-claims", responses=problems(401))
    async def mine(self, ctx: Ctx, request: Request[Principal, Any, Any]) -> list[ConformityClaimOut]:
        """The customer's claims, newest first."""
        return [presenters.conformity_claim(row) for row in  # type: ignore[misc]
                await conformity.of_customer(ctx, request.user.id)]

    @get("/conformity-claims/{claim_id:str}", responses=problems(400, 401, 404))
    async def show(self, ctx: Ctx, request: Request[Principal, Any, Any], claim_id: FromPath[str]) -> ConformityClaimOut:
        return presenters.conformity_claim(await conformity.one(ctx, claim_id, customer_id=request.user.id))  # type: ignore[return-value]

    @post("/conformity-claims/{claim_id:str}/price-reduction", status_code=200, responses=problems(*PROBLEMS))
    async def ask_reduction(self, ctx: Ctx, request: Request[Principal, Any, Any],
                            claim_id: FromPath[str]) -> ConformityClaimOut:
        """RS-VI.7: a price reduction, once the remedy was refused or while it fails; refunded within 14
        days of now when staff grant it (RS-VI.8)."""
        return presenters.conformity_claim(await conformity.ask_reduction(  # type: ignore[return-value]
            ctx, claim_id, customer_id=request.user.id))

    @post("/conformity-claims/{claim_id:str}/withdrawal", status_code=200, responses=problems(*PROBLEMS))
    async def withdraw(self, ctx: Ctx, request: Request[Principal, Any, Any],
                       claim_id: FromPath[str]) -> ConformityClaimOut:
        """RS-VI.7: the customer withdraws from the claimed lines for their lack of conformity."""
        return presenters.conformity_claim(await conformity.withdraw(  # type: ignore[return-value]
            ctx, claim_id, customer_id=request.user.id))


class OpsConformityClaimController(Controller):
    path = "/ops/conformity-claims"
    tags = ["operations"]
    guards = [ops_only]

    @get("/", responses=problems(400, 401, 403, 422),
         response_headers=paging.link_header("/api/v1/ops/conformity-claims?limit=20&after=…"))
    async def open(self, ctx: Ctx, limit: ClaimsLimit = PAGE, after: ClaimsAfter = None
                   ) -> Response[list[ConformityClaimOut]]:
        """Claims not settled yet (claimed, remedying, remedy refused, a reduction or withdrawal asked
        for), the longest waiting first, a page at a time; the next page's address in `Link`."""
        found, more = await conformity.open_claims(ctx, limit=limit, after=after)
        return paging.page([presenters.conformity_claim(row) for row in found],  # type: ignore[misc]
                           path="/api/v1/ops/conformity-claims", query={"limit": limit},
                           after=found[-1].id if more else None)

    @get("/{claim_id:str}", responses=problems(400, 401, 403, 404))
    async def show(self, ctx: Ctx, claim_id: FromPath[str]) -> ConformityClaimOut:
        return presenters.conformity_claim(await conformity.one(ctx, claim_id))  # type: ignore[return-value]

    @post("/{claim_id:str}/accept", status_code=200, responses=problems(*OPS_PROBLEMS))
    async def accept(self, ctx: Ctx, request: Request[Principal, Any, Any], claim_id: FromPath[str]) -> ConformityClaimOut:
        """RS-VI.6: the repair or replacement chosen, in reasonable time at the seller's cost."""
        return presenters.conformity_claim(await conformity.accept(ctx, claim_id, actor=request.user.actor))  # type: ignore[return-value]

    @post("/{claim_id:str}/complete", status_code=200, responses=problems(*OPS_PROBLEMS))
    async def complete(self, ctx: Ctx, request: Request[Principal, Any, Any], claim_id: FromPath[str],
                       data: JSONBody[NoteIn | None] = None) -> ConformityClaimOut:
        """RS-VI.6: the repair or replacement is done."""
        return presenters.conformity_claim(await conformity.complete(  # type: ignore[return-value]
            ctx, claim_id, note=data.note if data else None, actor=request.user.actor))

    @post("/{claim_id:str}/reject", status_code=200, responses=problems(*OPS_PROBLEMS))
    async def reject(self, ctx: Ctx, request: Request[Principal, Any, Any], claim_id: FromPath[str],
                     data: JSONBody[ReasonIn]) -> ConformityClaimOut:
        """RS-VI.3: no lack of conformity the seller answers for (a deviation told and expressly accepted)."""
        return presenters.conformity_claim(await conformity.reject(  # type: ignore[return-value]
            ctx, claim_id, reason=data.reason, actor=request.user.actor))

    @post("/{claim_id:str}/refuse-remedy", status_code=200, responses=problems(*OPS_PROBLEMS))
    async def refuse_remedy(self, ctx: Ctx, request: Request[Principal, Any, Any], claim_id: FromPath[str],
                            data: JSONBody[ReasonIn]) -> ConformityClaimOut:
        """RS-VI.5: repair and replacement both impossible or excessively costly."""
        return presenters.conformity_claim(await conformity.refuse_remedy(  # type: ignore[return-value]
            ctx, claim_id, reason=data.reason, actor=request.user.actor))

    @post("/{claim_id:str}/grant-reduction", status_code=200, responses=problems(*OPS_PROBLEMS, 503))
    async def grant_reduction(self, ctx: Ctx, request: Request[Principal, Any, Any], claim_id: FromPath[str],
                              data: JSONBody[ReductionIn]) -> ConformityClaimOut:
        """RS-VI.8: a proportional reduction (at most the lines' price), refunded within 14 days of the
        customer's statement."""
        return presenters.conformity_claim(await conformity.grant_reduction(  # type: ignore[return-value]
            ctx, claim_id, amount_minor=data.amount_minor, note=data.note, actor=request.user.actor))

    @post("/{claim_id:str}/refuse-withdrawal", status_code=200, responses=problems(*OPS_PROBLEMS))
    async def refuse_withdrawal(self, ctx: Ctx, request: Request[Principal, Any, Any], claim_id: FromPath[str],
                                data: JSONBody[ReasonIn]) -> ConformityClaimOut:
        """RS-VI.9: a minor lack of conformity: the withdrawal refused, the lines kept."""
        return presenters.conformity_claim(await conformity.refuse_withdrawal(  # type: ignore[return-value]
            ctx, claim_id, reason=data.reason, actor=request.user.actor))

    @post("/{claim_id:str}/receive-return", status_code=200, responses=problems(*OPS_PROBLEMS, 503))
    async def receive_return(self, ctx: Ctx, request: Request[Principal, Any, Any], claim_id: FromPath[str],
                             data: JSONBody[NoteIn | None] = None) -> ConformityClaimOut:
        """RS-VI.10: the goods or proof of their return are back: their price refunded within 14 days."""
        return presenters.conformity_claim(await conformity.receive_return(  # type: ignore[return-value]
            ctx, claim_id, note=data.note if data else None, actor=request.user.actor))
