"""Service cases under the KZ repair perks (KZ-4.5 extended warranty, KZ-4.6 screen, KZ-4.7 free
labour): staff open a case for a device the shop sold, then refuse it for a recorded exclusion,
estimate, record the customer's answer, and complete it. Each use case reads `now`, locks the order
and the perk first (then the case), takes the clock's due steps (`catch_up`) and fires SERVICE_CASE; every step is
on the order's timeline (machine `service case`, subject the case). The once-only perks are redeemed
by the step that uses them (KZ-4.6 the screen replaced, KZ-4.7 the estimate accepted)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.errors import NotFound
from shop.domain.perk_lifecycle import PERK, PerkState
from shop.domain.service_cases import (
    CLAIM, COMPLETE, ONCE, REDEEMS, SERVICE_CASE, CaseKind, Estimate, ServiceCaseState, check_exclusion,
    check_fault, check_no_open_case, check_perk_open, service_centre_data,
)
from shop.services.context import ShopContext
from shop.services.perks import catch_up, lock_perk, refuse_if_being_returned, state_now


@dataclass(frozen=True)
class CaseView:
    """A case with its perk as of now and the data shared with the service centre (KZ-5.1)."""

    case: Any
    perk: Any
    perk_state: PerkState
    shared: dict[str, dict[str, str | None]]


async def open_case(ctx: ShopContext, imei: str, *, kind: CaseKind | str, fault: str, actor: str) -> CaseView:
    kind = CaseKind(kind)
    fault = check_fault(fault)
    return await ctx.db.transaction(lambda uow: _open(uow, imei, kind, fault, actor))


async def refuse(ctx: ShopContext, case_id: str, *, exclusion: str, note: str | None, actor: str) -> CaseView:
    def work(uow: UnitOfWork) -> CaseView:
        case, perk, now = _locked(uow, case_id)
        check_exclusion(CaseKind(case.kind), exclusion)
        return _step(uow, case, perk, "refuse", actor=actor, now=now, reason=exclusion,
                     exclusion=exclusion, note=note, closed_at=now)
    return await ctx.db.transaction(work)


async def refer(ctx: ShopContext, case_id: str, *, note: str | None, actor: str) -> CaseView:
    """KZ-4.6: a screen beyond repair, the device to be replaced: the standard warranty governs it."""
    def work(uow: UnitOfWork) -> CaseView:
        case, perk, now = _locked(uow, case_id)
        return _step(uow, case, perk, "refer", actor=actor, now=now, reason="to the standard warranty",
                     note=note, closed_at=now)
    return await ctx.db.transaction(work)


async def estimate(ctx: ShopContext, case_id: str, quote: Estimate, *, actor: str) -> CaseView:
    """KZ-4.7: parts and logistics (labour free) and the inspection's price, in the order's currency."""
    def work(uow: UnitOfWork) -> CaseView:
        case, perk, now = _locked(uow, case_id)
        return _step(uow, case, perk, "estimate", actor=actor, now=now,
                     reason=f"parts {quote.parts_minor}, logistics {quote.logistics_minor}, inspection "
                            f"{quote.inspection_minor} {case.currency} (minor units)",
                     parts_minor=quote.parts_minor, logistics_minor=quote.logistics_minor,
                     inspection_minor=quote.inspection_minor)
    return await ctx.db.transaction(work)


async def answer(ctx: ShopContext, case_id: str, *, accepted: bool, actor: str) -> CaseView:
    """KZ-4.7: the customer's answer to the estimate, recorded by staff: accepted redeems the perk;
    declined returns the device, the inspection and logistics the customer's, the perk still open."""
    def work(uow: UnitOfWork) -> CaseView:
        case, perk, now = _locked(uow, case_id)
        if accepted:
            return _step(uow, case, perk, "accept", actor=actor, now=now, decided_at=now)
        return _step(uow, case, perk, "decline", actor=actor, now=now, decided_at=now, closed_at=now)
    return await ctx.db.transaction(work)


async def complete(ctx: ShopContext, case_id: str, *, note: str | None, actor: str) -> CaseView:
    """The repair done: under the warranty (KZ-4.5), the screen replaced (KZ-4.6, redeems the perk),
    or the accepted free-labour repair (KZ-4.7)."""
    def work(uow: UnitOfWork) -> CaseView:
        case, perk, now = _locked(uow, case_id)
        return _step(uow, case, perk, COMPLETE[CaseKind(case.kind)], actor=actor, now=now, note=note,
                     closed_at=now)
    return await ctx.db.transaction(work)


async def show(ctx: ShopContext, case_id: str) -> CaseView:
    def work(uow: UnitOfWork) -> CaseView:
        case = uow.service_cases.get(case_id)
        return _view(uow, case, uow.perks.get(case.perk_id), uow.now())
    return await ctx.db.read(work)


# --- in the transaction --------------------------------------------------------------------------

def _open(uow: UnitOfWork, imei: str, kind: CaseKind, fault: str, actor: str) -> CaseView:
    now = uow.now()
    found = uow.perks.of_device(imei, kind.value)
    if found is None:
        raise NotFound("device_not_found", f"the shop sold no device {imei} with a perk bundle")
    order, perk = lock_perk(uow, found.id)  # two staff opening at once make one case
    perk = catch_up(uow, perk, now=now)
    check_perk_open(kind, perk.state, lapses_at=perk.lapses_at, now=now)
    refuse_if_being_returned(uow, perk)  # P-3: not under a perk of a device on its way back
    check_no_open_case(uow.service_cases.open_of_perk(perk.id), kind)
    transition = SERVICE_CASE.start(CLAIM[kind], ServiceCaseState.OPENED)
    case = uow.service_cases.add({
        "id": str(uuid.uuid4()), "perk_id": perk.id, "order_id": perk.order_id, "imei": imei,
        "kind": kind.value, "state": transition.to_state.value, "fault": fault, "opened_at": now,
        "updated_at": now, "currency": order.currency})
    uow.timeline.record(order.id, transition, actor=actor, now=now, subject_id=case.id, reason=fault)
    return _view(uow, case, perk, now, order=order)


def _locked(uow: UnitOfWork, case_id: str) -> tuple[Any, Any, datetime]:
    """The case's order and perk locked (`lock_perk`), then the case: in the order `_open` takes
    them. The perk's clock is caught up as of the case's opening: the claim was judged then (in time,
    as a statement sent in time is, T-6), so a repair claimed on the period's last day is still done
    under it."""
    now = uow.now()
    _, perk = lock_perk(uow, uow.service_cases.get(case_id).perk_id)
    case = uow.service_cases.get(case_id, lock=True)
    return case, catch_up(uow, perk, now=min(now, case.opened_at)), now


def _step(uow: UnitOfWork, case: Any, perk: Any, event: str, *, actor: str, now: datetime,
          reason: str | None = None, **facts: Any) -> CaseView:
    transition = SERVICE_CASE.fire(case.state, event, kind=case.kind)
    if event in REDEEMS and CaseKind(case.kind) in ONCE:  # KZ-4.6, KZ-4.7: the one repair used
        redeemed = PERK.fire(perk.state, "redeem")
        perk = uow.perks.move(perk, redeemed, now=now, redeemed_at=now, redemption={"service_case_id": case.id})
        uow.timeline.record(perk.order_id, redeemed, actor=actor, now=now, subject_id=perk.id,
                            reason=f"service case {case.id}")
    case = uow.service_cases.move(case, transition, now=now, **facts)
    uow.timeline.record(case.order_id, transition, actor=actor, now=now, subject_id=case.id, reason=reason)
    return _view(uow, case, perk, now)


def _view(uow: UnitOfWork, case: Any, perk: Any, now: datetime, *, order: Any = None) -> CaseView:
    order = order if order is not None else uow.orders.get(case.order_id)
    customer = uow.accounts.get(order.customer_id)
    bundle = uow.perks.bundle(perk.bundle_id)
    assert customer is not None  # an order's customer is never deleted (orders.customer_id's key)
    return _as_of(case, perk, now, name=customer.full_name, phone=customer.phone or order.delivery.get("phone"),
                  email=customer.email, model=bundle.model)


def views(uow: UnitOfWork, cases: Sequence[Any], now: datetime) -> list[CaseView]:
    """These cases as `show` answers each, their perks and holders read in one statement whatever
    their number (a page of staff's work queue)."""
    perks = uow.perks.with_holders([case.perk_id for case in cases])
    found = []
    for case in cases:
        perk = perks[case.perk_id]
        found.append(_as_of(case, perk, now, name=perk.full_name, email=perk.email, model=perk.model,
                            phone=perk.customer_phone or perk.delivery.get("phone")))
    return found


def _as_of(case: Any, perk: Any, now: datetime, *, name: str, phone: str | None, email: str, model: str
           ) -> CaseView:
    shared = service_centre_data(name=name, phone=phone, email=email, model=model, imei=case.imei)  # KZ-5.1
    return CaseView(case, perk, state_now(perk, now), shared)
