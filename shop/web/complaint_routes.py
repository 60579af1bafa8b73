"""Complaints (RS-X): the customer's own on the web (`/complaints`), and staff's (`/ops/complaints`):
those that came by e-mail, phone or post, the open ones by deadline, and the answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody

from shop.domain.accounts import normalised_email
from shop.domain.complaints import About, AnswerBy, Complainant
from shop.domain.markets import Market
from shop.services import complaints
from shop.services.context import ShopContext
from shop.services.idempotency import Kept, claim_for
from shop.services.pages import PAGE
from shop.web.auth import Principal, ops_only
from shop.web import paging, presenters
from shop.web.after_sale_responses import AboutName, AnswerByName, ComplaintOut
from shop.web.responses import problems
from shop.web.schemas import NO_NUL, Body, supported_instant
from shop.web.schemas import Instant as InstantIn

Ctx = NamedDependency[ShopContext]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)]
Description = Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=5000,
                                          description="RS-X.2: a detailed description and justification")]
Remedy = Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=1000,
                                     description="RS-X.2: the remedy wanted")]
Address = Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=500)]
Name = Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=200, description="RS-X.2: name and surname")]
OrderId = Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=36)]
ComplaintsLimit = paging.limit("complaints")
ComplaintsBefore = paging.cursor("complaint")
ComplaintsAfter = paging.cursor("complaint")


# --- requests --------------------------------------------------------------------------------------

class ComplaintIn(Body):
    """The customer's complaint (RS-X.1, RS-X.2): in the account's name (or `name`) and, for an
    electronic answer, to the account's e-mail address."""

    about: AboutName
    description: Description
    remedy: Remedy
    answer_by: AnswerByName = "email"
    postal_address: Address | None = None
    order_id: Annotated[OrderId | None, msgspec.Meta(description="RS-X.2: the order, where there is one")] = None
    market: Annotated[Literal["RS", "KZ"] | None, msgspec.Meta(
        description="without an order: the market the complaint is about")] = None
    name: Name | None = None


class StaffComplaintIn(Body):
    """A complaint that came by e-mail, phone or post (RS-X.1), with the moment it was received."""

    channel: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=32, description=(
        "RS-X.1: email, phone or post (a social network is refused)"))]
    received_at: InstantIn
    about: AboutName
    name: Name
    answer_by: AnswerByName
    description: Description
    remedy: Remedy
    email: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=320)] | None = None
    postal_address: Address | None = None
    order_id: OrderId | None = None
    market: Literal["RS", "KZ"] | None = None

    def __post_init__(self) -> None:
        supported_instant("received_at", self.received_at)


class AnswerIn(Body):
    answer: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=5000)]


def _answer(made: Any) -> Response[ComplaintOut]:
    """A complaint just received (201), or the Idempotency-Key's kept answer."""
    if isinstance(made, Kept):
        return Response(made.body, status_code=made.status_code)
    return Response(presenters.complaint(made), status_code=201)  # type: ignore[arg-type]


def _statement(data: ComplaintIn | StaffComplaintIn) -> complaints.Statement:
    return complaints.Statement(About(data.about), data.description, data.remedy, data.order_id,
                                None if data.market is None else Market(data.market))


class ComplaintController(Controller):
    path = "/complaints"
    tags = ["complaints"]

    @post("/", status_code=201, responses=problems(400, 401, 404, 409, 413, 422))
    async def complain(self, ctx: Ctx, request: Request[Principal, Any, Any], idempotency_key: IdempotencyKey,
                       data: JSONBody[ComplaintIn]) -> Response[ComplaintOut]:
        """RS-X.1–X.3: a complaint about a product, the contract or the service, received now and
        answered within 8 days. With an Idempotency-Key, the same key answers the same complaint."""
        claim = claim_for(f"{request.user.id} POST /complaints", idempotency_key, data)
        made = await complaints.complain(ctx, _statement(data), customer_id=request.user.id,
                                         answer_by=AnswerBy(data.answer_by), postal_address=data.postal_address,
                                         name=data.name, claim=claim, present=presenters.complaint)
        return _answer(made)

    @get("/", responses=problems(400, 401, 422),
         response_headers=paging.link_header("/api/v1/complaints?limit=20&before=…"))
    async def mine(self, ctx: Ctx, request: Request[Principal, Any, Any], limit: ComplaintsLimit = PAGE,
                   before: ComplaintsBefore = None) -> Response[list[ComplaintOut]]:
        """The customer's complaints, newest first, a page at a time; the next page's address in `Link`."""
        found, more = await complaints.of_customer(ctx, request.user.id, limit=limit, before=before)
        return paging.page([presenters.complaint(row) for row in found], path="/api/v1/complaints",  # type: ignore[misc]
                           query={"limit": limit}, after=found[-1].id if more else None, cursor="before")

    @get("/{complaint_id:str}", responses=problems(400, 401, 404))
    async def show(self, ctx: Ctx, request: Request[Principal, Any, Any], complaint_id: FromPath[str]) -> ComplaintOut:
        return presenters.complaint(  # type: ignore[return-value]
            await complaints.one(ctx, complaint_id, customer_id=request.user.id))


class OpsComplaintController(Controller):
    path = "/ops/complaints"
    tags = ["operations"]
    guards = [ops_only]

    @post("/", status_code=201, responses=problems(400, 401, 403, 404, 409, 413, 422))
    async def record(self, ctx: Ctx, request: Request[Principal, Any, Any], idempotency_key: IdempotencyKey,
                     data: JSONBody[StaffComplaintIn]) -> Response[ComplaintOut]:
        """RS-X.1: staff record a complaint that came by e-mail, phone or post, with the moment it was
        received (its 8 days run from then, RS-X.3); a social network is no channel (422 RS-X.1).
        With an Idempotency-Key, the same key answers the same complaint."""
        email = None if data.email is None else normalised_email(data.email)
        who = Complainant(data.name, AnswerBy(data.answer_by), email, data.postal_address)
        claim = claim_for(f"{request.user.id} POST /ops/complaints", idempotency_key, data)
        made = await complaints.record(ctx, _statement(data), who, channel=data.channel,
                                       received_at=data.received_at, actor=request.user.actor, claim=claim,
                                       present=presenters.complaint)
        return _answer(made)

    @get("/", responses=problems(400, 401, 403, 422),
         response_headers=paging.link_header("/api/v1/ops/complaints?limit=20&after=…"))
    async def open(self, ctx: Ctx, limit: ComplaintsLimit = PAGE, after: ComplaintsAfter = None
                   ) -> Response[list[ComplaintOut]]:
        """Complaints not yet answered, the earliest due first (RS-X.3), a page at a time; the next
        page's address in `Link`."""
        found, more = await complaints.open_complaints(ctx, limit=limit, after=after)
        return paging.page([presenters.complaint(row) for row in found],  # type: ignore[misc]
                           path="/api/v1/ops/complaints", query={"limit": limit},
                           after=found[-1].id if more else None)

    @get("/{complaint_id:str}", responses=problems(400, 401, 403, 404))
    async def show(self, ctx: Ctx, complaint_id: FromPath[str]) -> ComplaintOut:
        return presenters.complaint(await complaints.one(ctx, complaint_id))  # type: ignore[return-value]

    @post("/{complaint_id:str}/answer", status_code=200, responses=problems(400, 401, 403, 404, 409, 413, 422))
    async def answer(self, ctx: Ctx, request: Request[Principal, Any, Any], complaint_id: FromPath[str],
                     data: JSONBody[AnswerIn]) -> ComplaintOut:
        """RS-X.3: the answer, due within 8 days of receipt (a late one is recorded as late); e-mailed
        when the complainant asked for an electronic answer, posted by staff otherwise (RS-X.2)."""
        return presenters.complaint(await complaints.answer(  # type: ignore[return-value]
            ctx, complaint_id, text=data.answer, actor=request.user.actor))
