"""Service cases under the KZ repair perks (KZ-4.5, KZ-4.6, KZ-4.7), for staff only: open one for a
device the shop sold, refuse it for an exclusion of its perk, refer a screen beyond repair to the
standard warranty, estimate, the customer's answer, complete; each answer shows the case, its perk's
state and what is shared with the service centre (KZ-5.1). The cases waiting in a state are staff's
work queue (`GET /ops/service-cases?state=`, shop.services.work_queues)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from shop.domain.service_cases import MOST_MINOR, Estimate, ServiceCaseState, customer_pays
from shop.services import service_cases
from shop.services.context import ShopContext
from shop.services.pages import PAGE
from shop.services.work_queues import service_cases_waiting
from shop.web import paging
from shop.web.auth import Principal, ops_only
from shop.web.presenters import instant, money
from shop.web.responses import Instant, Money, Out, problems
from shop.web.schemas import NO_NUL, Body

Ctx = NamedDependency[ShopContext]
Note = Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=500)]
Minor = Annotated[int, msgspec.Meta(ge=0, le=MOST_MINOR, description="KZT minor units (tiyn)")]
CaseKindName = Literal["extended_warranty", "screen_repair", "free_labour_repair"]
PROBLEMS = (400, 401, 403, 404, 409, 413, 422)
CaseQueue = Annotated[ServiceCaseState, QueryParameter(name="state", description=(
    "the state the cases wait in: opened (for staff: refuse, refer, estimate or repair), estimated (for the "
    "customer's answer, KZ-4.7) or accepted (for the repair)"))]
CasesLimit = paging.limit("service cases")
CasesAfter = paging.cursor("case")


# --- requests --------------------------------------------------------------------------------------

class OpenCaseIn(Body):
    kind: Annotated[CaseKindName, msgspec.Meta(description="the perk the case is under (KZ-4.5, 4.6, 4.7)")]
    fault: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=500)]


class RefuseCaseIn(Body):
    exclusion: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=48, description=(
        "one of the case's perk's exclusions (shop.domain.perk_exclusions), e.g. cosmetic_damage"))]
    note: Note | None = None


class EstimateIn(Body):
    """KZ-4.7: labour is free; parts and logistics are the customer's, and the inspection if declined."""

    parts_minor: Minor
    logistics_minor: Minor
    inspection_minor: Minor


class NoteIn(Body):
    note: Note | None = None


# --- responses -------------------------------------------------------------------------------------

class CasePerkOut(Out):
    id: str
    code: CaseKindName
    state: Annotated[str, msgspec.Meta(description="as of now (docs/lifecycle-perk.md)")]
    use_by: Instant | None
    redeemed_at: Instant | None


class EstimateOut(Out):
    parts: Money
    logistics: Money
    inspection: Money


class SharedCustomerOut(Out):
    name: str
    phone: str | None
    email: str


class SharedDeviceOut(Out):
    model: str
    imei: str


class SharedOut(Out):
    """KZ-5.1: exactly what is passed to the service centre."""

    customer: SharedCustomerOut
    device: SharedDeviceOut


class ServiceCaseOut(Out):
    id: str
    order_id: str
    imei: str
    kind: CaseKindName
    state: Literal["opened", "estimated", "accepted", "declined", "repaired", "refused", "referred"]
    fault: str
    exclusion: Annotated[str, msgspec.Meta(description="the exclusion that refused it")] | None
    note: str | None
    estimate: EstimateOut | None
    customer_pays: Annotated[Money, msgspec.Meta(description=(
        "KZ-4.7: accepted, parts and logistics; declined, the inspection and logistics"))] | None
    opened_at: Instant
    updated_at: Instant
    decided_at: Instant | None
    closed_at: Instant | None
    perk: CasePerkOut
    shared_with_service_centre: SharedOut


def case_json(view: service_cases.CaseView) -> dict[str, Any]:
    c, p = view.case, view.perk
    quoted = c.parts_minor is not None
    pays = customer_pays(c.state, parts_minor=c.parts_minor, logistics_minor=c.logistics_minor,
                         inspection_minor=c.inspection_minor)
    return {
        "id": c.id, "order_id": c.order_id, "imei": c.imei, "kind": c.kind, "state": c.state, "fault": c.fault,
        "exclusion": c.exclusion, "note": c.note,
        "estimate": {"parts": money(c.parts_minor, c.currency), "logistics": money(c.logistics_minor, c.currency),
                     "inspection": money(c.inspection_minor, c.currency)} if quoted else None,
        "customer_pays": None if pays is None else money(pays, c.currency),
        "opened_at": instant(c.opened_at), "updated_at": instant(c.updated_at),
        "decided_at": instant(c.decided_at), "closed_at": instant(c.closed_at),
        "perk": {"id": p.id, "code": p.code, "state": view.perk_state.value, "use_by": instant(p.use_by),
                 "redeemed_at": instant(p.redeemed_at)},
        "shared_with_service_centre": view.shared,
    }


class ServiceCaseController(Controller):
    path = "/ops"
    tags = ["operations"]
    guards = [ops_only]

    @post("/devices/{imei:str}/service-cases", status_code=201, responses=problems(*PROBLEMS))
    async def open_case(self, ctx: Ctx, request: Request[Principal, Any, Any], imei: FromPath[str],
                        data: JSONBody[OpenCaseIn]) -> ServiceCaseOut:
        """KZ-4.5, KZ-4.6, KZ-4.7: a case under the device's perk, open now; one open case a perk."""
        return case_json(await service_cases.open_case(  # type: ignore[return-value]
            ctx, imei, kind=data.kind, fault=data.fault, actor=request.user.actor))

    @post("/service-cases/{case_id:str}/refuse", status_code=200, responses=problems(*PROBLEMS))
    async def refuse(self, ctx: Ctx, request: Request[Principal, Any, Any], case_id: FromPath[str],
                     data: JSONBody[RefuseCaseIn]) -> ServiceCaseOut:
        """An exclusion of the case's own perk applies (KZ-4.5, KZ-4.6, KZ-4.7); the perk stays open."""
        return case_json(await service_cases.refuse(  # type: ignore[return-value]
            ctx, case_id, exclusion=data.exclusion, note=data.note, actor=request.user.actor))

    @post("/service-cases/{case_id:str}/refer", status_code=200, responses=problems(*PROBLEMS))
    async def refer(self, ctx: Ctx, request: Request[Principal, Any, Any], case_id: FromPath[str],
                    data: JSONBody[NoteIn | None] = None) -> ServiceCaseOut:
        """KZ-4.6: a screen beyond repair, the device to be replaced, goes to the standard warranty."""
        return case_json(await service_cases.refer(  # type: ignore[return-value]
            ctx, case_id, note=data.note if data else None, actor=request.user.actor))

    @post("/service-cases/{case_id:str}/estimate", status_code=200, responses=problems(*PROBLEMS))
    async def estimate(self, ctx: Ctx, request: Request[Principal, Any, Any], case_id: FromPath[str],
                       data: JSONBody[EstimateIn]) -> ServiceCaseOut:
        """KZ-4.7: the estimate after inspection, in the order's currency (minor units)."""
        quote = Estimate(data.parts_minor, data.logistics_minor, data.inspection_minor)
        return case_json(await service_cases.estimate(  # type: ignore[return-value]
            ctx, case_id, quote, actor=request.user.actor))

    @post("/service-cases/{case_id:str}/accept", status_code=200, responses=problems(400, 401, 403, 404, 409))
    async def accept(self, ctx: Ctx, request: Request[Principal, Any, Any], case_id: FromPath[str]) -> ServiceCaseOut:
        """KZ-4.7: the customer accepts the estimate; the perk is redeemed."""
        return case_json(await service_cases.answer(  # type: ignore[return-value]
            ctx, case_id, accepted=True, actor=request.user.actor))

    @post("/service-cases/{case_id:str}/decline", status_code=200, responses=problems(400, 401, 403, 404, 409))
    async def decline(self, ctx: Ctx, request: Request[Principal, Any, Any], case_id: FromPath[str]) -> ServiceCaseOut:
        """KZ-4.7: the customer declines; the device returned, inspection and logistics theirs."""
        return case_json(await service_cases.answer(  # type: ignore[return-value]
            ctx, case_id, accepted=False, actor=request.user.actor))

    @post("/service-cases/{case_id:str}/complete", status_code=200, responses=problems(*PROBLEMS))
    async def complete(self, ctx: Ctx, request: Request[Principal, Any, Any], case_id: FromPath[str],
                       data: JSONBody[NoteIn | None] = None) -> ServiceCaseOut:
        """The repair done: KZ-4.5 under warranty, KZ-4.6 the screen replaced (the perk redeemed),
        KZ-4.7 the accepted repair."""
        return case_json(await service_cases.complete(  # type: ignore[return-value]
            ctx, case_id, note=data.note if data else None, actor=request.user.actor))

    @get("/service-cases", responses=problems(400, 401, 403, 422),
         response_headers=paging.link_header("/api/v1/ops/service-cases?state=opened&limit=20&after=…"))
    async def waiting(self, ctx: Ctx, waiting_in: CaseQueue, limit: CasesLimit = PAGE, after: CasesAfter = None
                      ) -> Response[list[ServiceCaseOut]]:
        """Staff's work queue of service cases (KZ-4.5, KZ-4.6, KZ-4.7): those waiting in `state`, the
        oldest opened first, a page at a time, each as `GET /ops/service-cases/{id}` answers it; the next
        page's address in `Link`. A final state is no queue (422)."""
        found, more = await service_cases_waiting(ctx, waiting_in, limit=limit, after=after)
        return paging.page([case_json(view) for view in found], path="/api/v1/ops/service-cases",
                           query={"state": waiting_in.value, "limit": limit}, after=found[-1].case.id if more else None)

    @get("/service-cases/{case_id:str}", responses=problems(400, 401, 403, 404))
    async def show(self, ctx: Ctx, case_id: FromPath[str]) -> ServiceCaseOut:
        return case_json(await service_cases.show(ctx, case_id))  # type: ignore[return-value]
