"""The KZ perk bundle's routes (STOREFRONT-API.md, "Perks (KZ)"): eligibility (no login); a perk's
redemption and its service code (the customer who bought the device)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from shop.domain.markets import Market
from shop.domain.perk_eligibility import Eligibility, eligibility
from shop.domain.perk_redemption import PurchaseChannel, RedemptionForm
from shop.services import perk_redemption
from shop.services.context import ShopContext
from shop.web.auth import Principal
from shop.web.presenters import instant, perk_eligibility
from shop.web.perk_responses import PerkCode, PerkEligibilityOut
from shop.web.responses import Instant, LocalDate, Out, PublicOperation, problems
from shop.web.schemas import NO_NUL, Body

EARLIEST_PURCHASE, LATEST_PURCHASE = date(2000, 1, 1), date(2099, 12, 31)
"""The purchase dates the shop judges (the calendars' range); others are a 400 naming the field."""

class EligibilityOut(Out):
    model: str
    market: Market
    purchased_on: LocalDate
    terms_version: Annotated[str, msgspec.Meta(
        description="the perk terms edition applied (a bundle keeps it); null when none applies")] | None
    perks: list[PerkEligibilityOut]


Ctx = NamedDependency[ShopContext]
IgnoredIdempotencyKey = Annotated[str | None, HeaderParameter(
    name="Idempotency-Key", required=False, max_length=255,
    description="accepted and ignored: a redemption is idempotent by the perk's own state (P-4), and its "
                "answer (the code) is never kept in the idempotency records")]


class RedeemIn(Body):
    """The IMEI redemption form: KZ-4.1 (name, e-mail, device data), KZ-4.2 (device type, purchase
    channel, IMEI, e-mail, confirmation code), and the partner's conditions the customer declares.
    Partner-app and service-case perks take no body."""

    imei: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{15}$", description="the device's IMEI (15 digits)")]
    email: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=320, description=(
        "where the link to the code is sent (KZ-4.1 iii: the seller is not answerable for a mistyped one)"))]
    device_type: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=120, description="e.g. Xiaomi 15T")]
    name: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=200,
                                      description="the lounge guest: the buyer (KZ-4.1, required)")] | None = None
    phone: Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9 ()-]{5,32}$")] | None = None
    purchase_channel: Annotated[PurchaseChannel, msgspec.Meta(
        description="KZ-4.2 (required for spotify): mi_com for a device bought in this shop")] | None = None
    confirmation_code: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=64, description=(
        "KZ-4.2 (required for spotify): the order number from the seller's confirmation of the order (RS-IV.6)"))
    ] | None = None
    new_partner_user: Annotated[bool, msgspec.Meta(
        description="KZ-4.2: the customer declares being a new Spotify Premium user (must be true)")] | None = None
    individual_plan: Annotated[bool, msgspec.Meta(
        description="KZ-4.2: the customer declares the individual plan (must be true)")] | None = None

    def to_domain(self) -> RedemptionForm:
        return RedemptionForm(imei=self.imei, email=self.email, device_type=self.device_type, name=self.name,
                              phone=self.phone, purchase_channel=self.purchase_channel,
                              confirmation_code=self.confirmation_code, new_partner_user=self.new_partner_user,
                              individual_plan=self.individual_plan)


class RedeemedOut(Out):
    perk_id: str
    perk: PerkCode
    clause: str
    state: Literal["open", "redeemed"]
    redemption: Literal["service_code", "partner_app"]
    service_code: Annotated[str, msgspec.Meta(
        description="the one-time code (service_code perks): the same on every request (P-4)")] | None
    code_hint: Annotated[str, msgspec.Meta(description="the code's last characters, for support")] | None
    redeemed_at: Instant | None
    how: str
    activate_by: Instant | None
    use_by: Instant | None
    conditions: list[str]


def redeemed_json(redeemed: perk_redemption.Redeemed) -> dict[str, Any]:
    row, terms = redeemed.row, redeemed.terms
    return {"perk_id": row.id, "perk": row.code, "clause": terms.clause, "state": redeemed.state.value,
            "redemption": terms.redemption.value, "service_code": redeemed.service_code,
            "code_hint": row.code_hint, "redeemed_at": instant(row.redeemed_at), "how": terms.how,
            "activate_by": instant(row.activate_by), "use_by": instant(row.use_by),
            "conditions": [condition.value for condition in terms.conditions]}


def eligibility_json(model: str, market: Market, purchased_on: date, judged: Eligibility) -> dict:
    return {
        "model": model, "market": market.value, "purchased_on": purchased_on.isoformat(),
        "terms_version": judged.terms.version if judged.terms else None,
        "perks": [perk_eligibility(item) for item in judged.perks],
    }


class PerkController(Controller):
    path = "/perks"
    tags = ["perks"]

    @get("/eligibility", operation_class=PublicOperation, responses=problems(400))
    async def eligibility(
        self,
        model: Annotated[str, QueryParameter(min_length=1, max_length=100, description="e.g. Xiaomi 15T Pro")],
        market: Annotated[Market, QueryParameter(description="RS or KZ; the bundle is KZ only (KZ-1)")],
        purchased_on: Annotated[date, QueryParameter(description="local purchase date (Almaty), YYYY-MM-DD")],
    ) -> EligibilityOut:
        """KZ-1, KZ-5.3, KZ-4.1, KZ-4.6, P-2: every perk of the bundle, whether it qualifies, its
        deadlines, and the reason and clause when it does not."""
        if not EARLIEST_PURCHASE <= purchased_on <= LATEST_PURCHASE:
            raise ValidationException("purchased_on out of range", extra=[{
                "key": "purchased_on", "source": "query",
                "message": f"must be between {EARLIEST_PURCHASE} and {LATEST_PURCHASE}"}])
        return eligibility_json(model, market, purchased_on,  # type: ignore[return-value]
                                eligibility(model, market, purchased_on))

    @post("/{perk_id:str}/redeem", status_code=200, responses=problems(400, 401, 404, 409, 413, 422))
    async def redeem(self, ctx: Ctx, request: Request[Principal, Any, Any], perk_id: FromPath[str],
                     idempotency_key: IgnoredIdempotencyKey,
                     data: JSONBody[RedeemIn | None] = None) -> RedeemedOut:
        """KZ-4.1, KZ-4.2: the IMEI form checked (the device, the perk open now, 18+, the partner's
        conditions) → a one-time service code, and an e-mail with a link to it; asked again, the same
        code and no second e-mail (P-4). KZ-4.3, KZ-4.4: how and until when (no code). KZ-4.5 … 4.7:
        409, used through a service case. Not yet open: 409 naming when it opens; expired, revoked
        (P-3), not available: 409 with the clause. Another customer's perk: 404."""
        del idempotency_key  # documented as ignored: the perk's state makes the request idempotent
        redeemed = await perk_redemption.redeem(ctx, perk_id, customer_id=request.user.id,
                                                form=data.to_domain() if data else None)
        return redeemed_json(redeemed)  # type: ignore[return-value]

    @get("/{perk_id:str}/code", responses=problems(400, 401, 404, 409))
    async def service_code(self, ctx: Ctx, request: Request[Principal, Any, Any],
                           perk_id: FromPath[str]) -> RedeemedOut:
        """KZ-4.1 iii: the e-mail's link: the service code a redeemed perk was given, the same one (P-4)."""
        return redeemed_json(await perk_redemption.service_code(  # type: ignore[return-value]
            ctx, perk_id, customer_id=request.user.id))
