"""What the routes answer, as the OpenAPI document shows it: every 2xx body and the problem body.

The routes build their bodies as plain dicts (presenters.py: as fast to build and encode as JSON gets
here, and what an idempotent replay stores and sends back); these Structs are the routes' declared
return types, so the document at /schema/openapi.json states each body's every member and type.
tests/test_api_docs.py converts what the routes send into these Structs (msgspec, strict, unknown
members refused), and the fuzz test (tests/test_fuzz.py) validates every answer against the
document: the two cannot drift apart unnoticed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Operation

from shop.domain.delivery import DeliveryMethod
from shop.domain.markets import Market
from shop.web.out import AddressOut, Decimal, Instant, LocalDate, Money, Out  # the routes take them from here too
from shop.web.after_sale_responses import ComplaintOut, ConformityClaimOut, TakeBackOut
from shop.web.invoice_responses import CorrectedInvoiceOut, InvoiceOut
from shop.web.perk_responses import PerkBundleOut, PerkEligibilityOut, RedeemedPerkOut

class Problem(Out):
    """RFC 9457 problem details, with the shop's `code` and, where a rule decided, its `clause`."""

    type: str
    status: int
    title: str
    detail: str
    code: Annotated[str, msgspec.Meta(description="stable and machine-readable, e.g. validation_error")]
    clause: Annotated[str, msgspec.Meta(description="the contract's rule id, e.g. RS-VII.1")] | None = None
    field: Annotated[str, msgspec.Meta(description="the offending field, e.g. lines[0].quantity")] | None = None
    errors: list[FieldError] | None = None


class FieldError(Out):
    field: str
    message: str


# --- accounts ---------------------------------------------------------------------------------------


class AccountOut(Out):
    id: int
    email: str
    full_name: str
    birth_date: date


class GuardianConsentOut(Out):
    guardian_name: str
    given_at: date


class BlockOut(Out):
    at: Instant
    reason: str
    by: Annotated[str, msgspec.Meta(description="the staff member who blocked the account")]


class StoredAccountOut(Out):
    """An account as stored (GET /account; GET /ops/accounts/{id} adds its block history)."""

    id: int
    email: str
    full_name: str
    birth_date: date
    phone: str | None
    is_ops: bool
    registered_at: Instant
    guardian_consent: GuardianConsentOut | None
    """RS-I.2: the legal representative's consent a minor registered with (null for an adult)."""
    erased_at: Instant | None
    """RS-XII: when the customer erased the account and its personal data (null: never)."""
    blocked: BlockOut | None
    """RS-XIII: blocked from posting reviews and notices for abuse, until the problem is solved (null: not
    blocked); ordering is not blocked."""


class BlockEntryOut(Out):
    """RS-XIII: one block of the account's history."""

    blocked_at: Instant
    blocked_by: Annotated[str, msgspec.Meta(description="the staff member who blocked the account")]
    reason: str
    unblocked_at: Annotated[Instant | None, msgspec.Meta(
        description="when the problem was solved and the block lifted (null: the account's current block)")]
    unblocked_by: Annotated[str | None, msgspec.Meta(description="the staff member who lifted it")]


class OpsAccountOut(StoredAccountOut):
    """An account as stored, for staff (GET /ops/accounts/{id}): with its block history."""

    blocks: Annotated[list[BlockEntryOut], msgspec.Meta(description=(
        "RS-XIII: every block of the account, the first first; the last is `blocked` while it is not lifted"))]


class TokenOut(Out):
    access_token: str
    token_type: Literal["bearer"]


# --- terms and catalogue ----------------------------------------------------------------------------


class TermsOut(Out):
    market: Market
    version: str
    in_force_from: LocalDate
    title: str
    clause: str


class ProductOut(Out):
    sku: str
    name: str
    model: str
    market: Market
    category: str
    price: Money
    vat_rate: Decimal
    in_stock: int
    max_per_customer: int
    returnable: bool
    delivery_methods: list[DeliveryMethod]
    delivery_areas: Annotated[list[str], msgspec.Meta(
        description="RS-V.5.7: a courier delivers it only to postal codes beginning so; empty: anywhere")]
    set_items: list[str]


class StockOut(Out):
    sku: str
    on_hand: int
    reserved: int
    in_stock: int


# --- quote and orders -------------------------------------------------------------------------------


class QuoteLineOut(Out):
    sku: str
    name: str
    quantity: int
    unit_price: Money
    total: Money
    vat: Money
    available: bool
    perk_terms_version: Annotated[str, msgspec.Meta(
        description="the KZ perk terms edition the line's perks come from; null when it gets none")] | None
    perks: Annotated[list[PerkEligibilityOut], msgspec.Meta(
        description="the perks that would come with each unit of the line, judged for today's local "
                    "date as GET /perks/eligibility judges them; empty outside the bundle (KZ-1, KZ-5.3)")]


class QuoteOut(Out):
    market: Market
    lines: list[QuoteLineOut]
    items: Money
    delivery_charge: Money
    vat: Money
    vat_rate: Decimal
    total: Money
    expected_delivery_on: LocalDate
    expected_delivery_clause: str


class OrderLineOut(Out):
    id: int
    sku: str
    name: str
    model: str
    quantity: int
    unit_price: Money
    vat_rate: Decimal
    state: str
    imeis: list[str]
    returnable: bool
    set_items: list[str]
    market_price: Annotated[Money | None, msgspec.Meta(
        description="RS-III.2: the market unit price staff stated when they cancelled the order for a price error")]
    price_corrected: Annotated[Money, msgspec.Meta(
        description="RS-III.2: refunded of the line's price because it was charged above its correct price")]


class DeliveryOut(Out):
    method: DeliveryMethod
    recipient: str
    phone: str
    store_id: str | None
    address: AddressOut | None


class DeadlineOut(Out):
    name: str
    due_at: Instant
    clause: str


class TimelineEntryOut(Out):
    at: Instant
    from_state: str | None
    to_state: str
    event: str
    actor: str
    reason: str | None
    clause: str | None


class RefundOut(Out):
    id: str
    amount: Money
    reason: str
    clause: str
    state: Literal["pending", "succeeded", "failed"]
    due_by: Instant
    stripe_refund_id: str | None
    failure: str | None
    created_at: Instant
    corrected_invoice: Annotated[CorrectedInvoiceOut | None, msgspec.Meta(
        description="RS-IV.10: the credit note this refund produced, when it came after the invoice")]


class WithdrawnLineOut(Out):
    line_id: int
    sku: str
    name: str
    quantity: int
    set_items: Annotated[list[str], msgspec.Meta(description="every item of a set goes back with it (RS-VII.13)")]
    receipt: ReceiptOut | None


class ChecklistItemOut(Out):
    item: str
    returned: bool


class ReceiptOut(Out):
    """RS-VII.9, RS-VII.13: the line as it came back; only resaleable units went back to stock."""

    condition: Literal["as_new", "used", "damaged"]
    resaleable: bool
    checklist: Annotated[list[ChecklistItemOut], msgspec.Meta(description="what had to come back (RS-VII.9)")]
    missing: list[str]


class WithdrawalOut(Out):
    id: str
    state: Literal["requested", "awaiting_return", "received", "refunded", "rejected"]
    channel: Literal["web", "email", "phone", "chat", "order_centre"]
    sent_at: Instant
    recorded_at: Instant
    refund_due_by: Annotated[datetime, msgspec.Meta(description="RS-VII.10: 14 days from the statement")]
    return_due_by: Annotated[datetime, msgspec.Meta(description="RS-VII.7: 14 days from the label")] | None
    label_issued_at: Instant | None
    received_at: Instant | None
    deduction_minor: int | None
    note: str | None
    refund_id: str | None
    rejected_reason: str | None
    proof_of_return_at: Annotated[datetime, msgspec.Meta(description="RS-VII.11: the refund released on it")] | None
    lines: list[WithdrawnLineOut]
    redeemed_perks: Annotated[list[RedeemedPerkOut], msgspec.Meta(
        description="P-3, RS-VII.9, RS-VII.10 (KZ): perks of the lines' devices already redeemed, for the "
                    "refund decision (diminished value); the unused ones are revoked when it is refunded")]


class QueuedWithdrawalOut(WithdrawalOut):
    """A withdrawal in staff's work queue (GET /ops/withdrawals): its routes' body, and its order."""

    order_id: str
    order_number: str
    market: Market


class PaymentOut(Out):
    provider: Literal["stripe"]
    payment_intent_id: str
    client_secret: str | None


class OrderOut(Out):
    id: str
    number: str
    market: Market
    state: str
    payment_method: Literal["card", "installments"]
    terms_version: str
    lines: list[OrderLineOut]
    items: Money
    delivery_charge: Money
    vat: Money
    total: Money
    delivery: DeliveryOut
    placed_at: Instant
    payment_due_at: Instant | None
    expected_delivery_on: LocalDate
    delivered_at: Instant | None
    carrier: str | None
    tracking_number: str | None
    deadlines: list[DeadlineOut]
    timeline: list[TimelineEntryOut]
    refunds: list[RefundOut]
    withdrawals: list[WithdrawalOut]
    invoices: list[InvoiceOut]
    perks: Annotated[list[PerkBundleOut], msgspec.Meta(
        description="KZ: the VIP bundle of each qualifying device (P-1), each perk's state")]
    conformity_claims: Annotated[list[ConformityClaimOut], msgspec.Meta(
        description="RS-VI: the order's conformity claims, oldest first, as GET /conformity-claims/{id} answers each")]
    complaints: Annotated[list[ComplaintOut], msgspec.Meta(
        description="RS-X: the complaints that name the order, oldest received first, as GET /complaints/{id} "
                    "answers each (one without an order is on none)")]
    take_backs: Annotated[list[TakeBackOut], msgspec.Meta(
        description="RS-V.5.4: the take-backs of old devices for the order's lines, oldest first, as GET "
                    "/take-backs lists each")]
    payment: PaymentOut | msgspec.UnsetType = msgspec.UNSET
    """Card orders only."""


class PaymentFactOut(Out):
    id: int
    kind: str
    fact_key: str
    order_id: str | None
    payment_intent_id: str | None
    amount: Money | None
    flagged: str | None
    occurred_at: Instant
    recorded_at: Instant


class LedgerOut(Out):
    paid: Money
    refunded: Money
    facts: list[PaymentFactOut]


class OpsOrderOut(OrderOut, kw_only=True):
    ledger: LedgerOut


class FlaggedPaymentsOut(Out):
    facts: list[PaymentFactOut]
    next_before: int | None


class ClockOut(Out):
    now: Instant
    frozen: bool


class HealthOut(Out):
    status: Literal["ok"]


@dataclass
class PublicOperation(Operation):
    """`operation_class=` of a route anyone may call: `security: []` lifts the document's bearer
    requirement (Litestar leaves an empty `security=` out of the operation, so the global one applied)."""

    def __post_init__(self) -> None:
        self.security = []


# --- the statuses each route answers ----------------------------------------------------------------

WHY = {
    400: "The request is malformed: not JSON, a wrong type, a missing or unknown field (named in `field`).",
    401: "No valid bearer token, or the e-mail and password do not match.",
    403: "The token's account may not do this (an operations endpoint, or staff placing an order).",
    404: "No such resource, or not one of the caller's.",
    409: "The request clashes with the present state (a transition not allowed now, stock, an e-mail "
         "taken, an Idempotency-Key reused with another body).",
    413: "The body is too large.",
    422: "Well-formed but refused by a rule of the contract (its `clause`) or the shop (its `code`).",
    429: "Too many attempts (failed logins, wrong passwords, notices of illegal content); `Retry-After` says "
         "when to try again.",
    503: "Stripe could not be reached, or the market is in an announced technical interruption (RS-IV.4, "
         "`Retry-After` says when it ends); nothing was changed.",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """`responses=` of a route: each status it may answer with a problem body."""
    return {status: ResponseSpec(Problem, description=WHY[status], media_type="application/problem+json",
                                 generate_examples=False)
            for status in statuses}
