"""The KZ perk bundle's public routes (STOREFRONT-API.md, "Perks (KZ)"): eligibility, no login."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from shop.domain.markets import Market
from shop.domain.perk_eligibility import Eligibility, eligibility
from shop.web.presenters import perk_eligibility
from shop.web.responses import LocalDate, Out, PerkEligibilityOut, PublicOperation, problems

EARLIEST_PURCHASE, LATEST_PURCHASE = date(2000, 1, 1), date(2099, 12, 31)
"""The purchase dates the shop judges (the calendars' range); others are a 400 naming the field."""

class EligibilityOut(Out):
    model: str
    market: Market
    purchased_on: LocalDate
    terms_version: Annotated[str, msgspec.Meta(
        description="the perk terms edition applied (a bundle keeps it); null when none applies")] | None
    perks: list[PerkEligibilityOut]


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
