"""What the routes answer about what follows a sale: a conformity claim (RS-VI), a complaint (RS-X) and
the take-back of an old device (RS-V.5.4), each the same whether its own routes answer it or an order
lists it (`conformity_claims`, `complaints`, `take_backs`)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from shop.web.out import AddressOut, Instant, Money, Out

ClaimStateName = Literal["claimed", "remedying", "remedied", "rejected", "remedy_refused", "reduction_requested",
                         "reduced", "withdrawal_requested", "withdrawn"]
TakeBackStateName = Literal["requested", "collected", "refused", "cancelled"]
AboutName = Annotated[Literal["product", "contract", "service"], msgspec.Meta(
    description="RS-X.1: a product, the contract or the service")]
AnswerByName = Annotated[Literal["email", "post"], msgspec.Meta(
    description="RS-X.2: an electronic answer to the e-mail address, or a written one to the postal address")]


class ConformityClaimOut(Out):
    id: str
    order_id: str
    line_ids: list[int]
    defect: str
    remedy: Literal["repair", "replacement"]
    state: Annotated[ClaimStateName, msgspec.Meta(description="docs/lifecycle-conformity-claim.md")]
    claimed_at: Instant
    updated_at: Instant
    reason: Annotated[str | None, msgspec.Meta(description="staff's, for a rejection or a refusal")]
    statement_at: Annotated[Instant | None, msgspec.Meta(
        description="RS-VI.8: when the customer asked for a reduction or withdrew")]
    reduction: Money | None
    goods_back_at: Instant | None
    refund_id: str | None


class ComplaintOut(Out):
    id: str
    state: Literal["received", "answered"]
    market: Literal["RS", "KZ"]
    channel: Literal["web", "email", "phone", "post"]
    about: AboutName
    order_id: str | None
    name: str
    answer_by: AnswerByName
    email: str | None
    postal_address: str | None
    description: str
    remedy: str
    received_at: Instant
    answer_due_by: Annotated[Instant, msgspec.Meta(description="RS-X.3: 8 days from its receipt (T-1)")]
    answered_at: Instant | None
    answered_late: Annotated[bool, msgspec.Meta(description="RS-X.3: answered after answer_due_by")]
    answer: str | None


class TakeBackOut(Out):
    id: str
    order_id: str
    line_id: int
    sku: Annotated[str, msgspec.Meta(description="the line's product: the new device the old one goes with")]
    description: str
    address: Annotated[AddressOut, msgspec.Meta(description="where it is collected: the order's delivery address")]
    state: Annotated[TakeBackStateName, msgspec.Meta(description="docs/lifecycle-take-back.md")]
    requested_at: Instant
    collected_at: Instant | None
    reason: Annotated[str | None, msgspec.Meta(description="staff's, for a refusal")]
    closed_at: Annotated[Instant | None, msgspec.Meta(description="when it was collected, refused or cancelled")]
