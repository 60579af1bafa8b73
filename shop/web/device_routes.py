"""Devices, for staff: a device's activation reported (KZ-1, KZ-4.1 ii, KZ-4.2), which opens the
perks that wait for it, or makes them not available when it was activated outside Kazakhstan."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from shop.domain.perks import PERK_CODES
from shop.services.context import ShopContext
from shop.services.device_activations import Activated, record_activation
from shop.web.auth import Principal, ops_only
from shop.web.perk_routes import PerkCode
from shop.web.presenters import instant
from shop.web.perk_responses import PerkStateName
from shop.web.responses import Instant, Out, problems
from shop.web.schemas import Body, Instant as InstantIn, supported_instant

Ctx = NamedDependency[ShopContext]


class ActivationIn(Body):
    """KZ-1: where and when the device was first activated."""

    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2, e.g. KZ")]
    activated_at: InstantIn

    def __post_init__(self) -> None:
        supported_instant("activated_at", self.activated_at)


class ActivatedPerkOut(Out):
    id: str
    order_id: str
    code: PerkCode
    state: Annotated[PerkStateName, msgspec.Meta(description="as of now (docs/lifecycle-perk.md)")]
    clause: str
    reason: str | None
    opens_at: Annotated[Instant, msgspec.Meta(
        description="00:00 Almaty time after the wait's last day (T-1; KZ-4.1 ii: 14 days, KZ-4.2: 1 day)")] | None
    lapses_at: Instant | None


class ActivationOut(Out):
    imei: str
    country: str
    activated_at: Instant
    recorded_at: Instant
    source: Annotated[str, msgspec.Meta(description="who reported it first: ops:<id>, or feed:<file>")]
    perks: Annotated[list[ActivatedPerkOut], msgspec.Meta(
        description="the device's perks that start from its activation, as they now are; empty for a device "
                    "the shop did not sell or that has not shipped yet (applied when it ships)")]


def activation_json(made: Activated) -> dict[str, Any]:
    a = made.activation
    perks = sorted(made.perks, key=lambda item: PERK_CODES.index(item.row.code))
    return {"imei": a.imei, "country": a.country, "activated_at": instant(a.activated_at),
            "recorded_at": instant(a.recorded_at), "source": a.source,
            "perks": [{"id": item.row.id, "order_id": item.row.order_id, "code": item.row.code,
                       "state": item.state.value, "clause": item.row.clause, "reason": item.row.reason,
                       "opens_at": instant(item.row.opens_at), "lapses_at": instant(item.row.lapses_at)}
                      for item in perks]}


class DeviceController(Controller):
    path = "/ops/devices"
    tags = ["operations"]
    guards = [ops_only]

    @post("/{imei:str}/activation", status_code=200, responses=problems(400, 401, 403, 404, 409, 413, 422))
    async def activation(self, ctx: Ctx, request: Request[Principal, Any, Any], imei: FromPath[str],
                         data: JSONBody[ActivationIn]) -> ActivationOut:
        """KZ-1, KZ-4.1 ii, KZ-4.2: the device's first activation. In Kazakhstan its waiting perks are
        activated, to open at 00:00 Almaty time after their wait; elsewhere they are not available.
        The same report again answers the same; a different one is 409 naming the one recorded. A
        device not (yet) shipped by the shop is recorded too, and answers no perks."""
        return activation_json(await record_activation(  # type: ignore[return-value]
            ctx, imei, country=data.country, activated_at=data.activated_at, source=request.user.actor))
