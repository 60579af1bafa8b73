"""Request bodies as msgspec Structs, decoded strictly from the body's bytes and naming the offending
field (`StrictJsonRequest`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPI

from shop.domain.accounts import GuardianConsent
from shop.domain.checkout import Address, DeliveryRequest, LineRequest, OrderRequest
from shop.domain.delivery import DeliveryMethod
from shop.domain.markets import Market, SUPPORTED_INSTANTS
from shop.domain.withdrawal import Condition, ItemReceipt

NO_NUL = r"^[^\x00]*$"
"""No text holds U+0000: PostgreSQL cannot store it, so it is refused here on every database."""
Instant = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 instant with offset, e.g. 2026-11-22T10:15:00Z")]
Text = Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=200)]
ShortText = Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=64)]
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
"""What an INTEGER column holds on PostgreSQL (and SQLite): a number past it is refused as the request's
fault, not left to fail in the database."""
Count = Annotated[int, msgspec.Meta(ge=INT_MIN, le=INT_MAX)]
RowId = Annotated[int, msgspec.Meta(ge=1, le=INT_MAX)]


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


def close_request_bodies(document: OpenAPI) -> None:
    """Every request body's schema in the document closed (`additionalProperties: false`), as a
    `Body` refuses the fields it does not name (400): each component named after a `Body` class,
    by its name or, where two classes share it, by its module's and its name
    (`service_case_routes_NoteIn`). On the document Litestar built (`Litestar.openapi_schema`, its
    public API), before it is served."""
    names: set[str] = set()
    pending = [Body]
    while pending:
        kind = pending.pop()
        module = kind.__module__.split(".")
        names.update("_".join([*module[start:], kind.__name__]) for start in range(len(module) + 1))
        pending.extend(kind.__subclasses__())
    for name, schema in ((document.components.schemas or {}) if document.components else {}).items():
        if name in names and schema.type is not None:
            schema.additional_properties = False


class GuardianConsentIn(Body):
    guardian_name: Text
    given_at: date

    def to_domain(self) -> GuardianConsent:
        return GuardianConsent(self.guardian_name, self.given_at)


class RegisterIn(Body):
    email: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=320)]
    password: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=200)]
    full_name: Text
    birth_date: date
    phone: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=32)] | None = None
    guardian_consent: GuardianConsentIn | None = None


class LoginIn(Body):
    email: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=320)]
    password: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=200)]


class EraseAccountIn(Body):
    """RS-XII: the account's password confirms its erasure."""

    password: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=200)]


class AddressIn(Body):
    street: Text
    city: Text
    postal_code: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=16)]
    country: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=2, max_length=2)]


class DeliveryIn(Body):
    method: DeliveryMethod
    recipient: Text
    phone: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=32)]
    address: AddressIn | None = None
    store_id: ShortText | None = None


class LineIn(Body):
    sku: ShortText
    quantity: Count  # 1 to MAX_QUANTITY is the contract's rule (invalid_quantity, with its clause)


class QuoteIn(Body):
    market: Market
    lines: list[LineIn]
    delivery: DeliveryIn
    payment_method: Literal["card", "installments"] = "card"
    coupon_code: ShortText | None = None
    f_code: ShortText | None = None
    terms_version: ShortText | None = None

    def to_domain(self) -> OrderRequest:
        delivery = self.delivery
        address = delivery.address
        return OrderRequest(
            market=self.market,
            lines=tuple(LineRequest(line.sku, line.quantity) for line in self.lines),
            delivery=DeliveryRequest(
                method=delivery.method,
                recipient=delivery.recipient,
                phone=delivery.phone,
                address=None if address is None else Address(
                    address.street, address.city, address.postal_code, address.country),
                store_id=delivery.store_id,
            ),
            payment_method=self.payment_method,
            terms_version=self.terms_version,
            coupon_code=self.coupon_code,
            f_code=self.f_code,
        )


class OrderIn(QuoteIn, kw_only=True):
    payment_method: Literal["card", "installments"]
    terms_version: ShortText


class CancelIn(Body):
    reason: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=500)] | None = None


class LineAvailabilityIn(Body):
    line_id: RowId
    available: bool


class ConfirmIn(Body):
    lines: list[LineAvailabilityIn]


class DeviceIn(Body):
    line_id: RowId
    imeis: list[Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=32)]]


class ShipIn(Body):
    carrier: ShortText
    tracking_number: ShortText
    devices: list[DeviceIn] = []


class DeliverIn(Body):
    delivered_at: Instant
    signed_by: Annotated[str, msgspec.Meta(
        pattern=NO_NUL, max_length=200,
        description="RS-V.5.7: who signed for the parcel, as the carrier's proof names them")] | None = None

    def __post_init__(self) -> None:
        supported_instant("delivered_at", self.delivered_at)


class DeliveryFailedIn(Body):
    reason: Literal["bad_address", "unreachable", "absent", "force_majeure"]


PriceErrorReason = Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=200, description=(
    "RS-III.2: the price error and how it was found (not blank)"))]


class MarketPriceIn(Body):
    line_id: RowId
    market_price_minor: Annotated[int, msgspec.Meta(ge=INT_MIN, le=INT_MAX, description=(
        "RS-III.2: the product's market unit price in minor units; the line's unit price must be at least 20 % "
        "below it"))]


class PriceErrorIn(Body):
    """RS-III.2: the seller cancels an order placed at an obvious price error: the mispriced lines and
    the market price found for each."""

    reason: PriceErrorReason
    lines: Annotated[list[MarketPriceIn], msgspec.Meta(max_length=100)]


class CorrectPriceIn(Body):
    line_id: RowId
    correct_unit_price_minor: Annotated[int, msgspec.Meta(ge=INT_MIN, le=INT_MAX, description=(
        "RS-III.2: the unit price the line should have been charged, in minor units, below the price charged"))]


class PriceCorrectionIn(Body):
    """RS-III.2: lines charged above their correct price; the difference is refunded."""

    reason: PriceErrorReason
    lines: Annotated[list[CorrectPriceIn], msgspec.Meta(max_length=100)]


class InstallmentDecisionIn(Body):
    approved: bool


class StockIn(Body):
    in_stock: Count  # below zero: invalid_stock, judged by the catalogue


LineIds = Annotated[list[RowId], msgspec.Meta(min_length=1, max_length=100)]


class WithdrawalIn(Body):
    """RS-VII.1: the lines withdrawn; none named: every line that can still be withdrawn."""

    line_ids: LineIds | None = None


class StatementIn(Body):
    """RS-VII.3, T-6: a statement that came by another channel, with the moment it was sent."""

    channel: Literal["email", "phone", "chat", "order_centre"]
    sent_at: Instant
    line_ids: LineIds | None = None

    def __post_init__(self) -> None:
        supported_instant("sent_at", self.sent_at)


class ReceiveIn(Body):
    """RS-VII.8, RS-VII.10: the goods back; the diminished value deducted, with its reason."""

    deduction_minor: Annotated[int, msgspec.Meta(ge=0, le=INT_MAX)] = 0
    note: Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=500)] | None = None
    resaleable: bool = True  # every line, when `items` is not given
    items: Annotated[list[ReceiptItemIn], msgspec.Meta(max_length=100)] | None = None

    def receipts(self) -> list[ItemReceipt] | None:
        """The lines as staff found them; None: every line as new (`resaleable` for all)."""
        return None if self.items is None else [
            ItemReceipt(item.line_id, Condition(item.condition), item.resaleable, tuple(item.missing))
            for item in self.items]


class ReceiptItemIn(Body):
    """RS-VII.9, RS-VII.13: one line as it came back, and what that had to come with it was missing."""

    line_id: Annotated[int, msgspec.Meta(ge=1, le=INT_MAX)]
    condition: Literal["as_new", "used", "damaged"] = "as_new"
    resaleable: bool = True
    missing: Annotated[list[Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=200)]],
                       msgspec.Meta(max_length=30)] = []


class RejectIn(Body):
    """RS-VII.14: why staff refuse the withdrawal (required, not blank)."""

    reason: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=500)]


class ProofIn(Body):
    """RS-VII.11: what proves the goods were sent back (a tracking number, a carrier's receipt)."""

    note: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=500)]


class ClockIn(Body):
    now: Instant

    def __post_init__(self) -> None:
        supported_instant("now", self.now)


def supported_instant(field: str, value: datetime) -> None:
    """An instant the shop's VAT, terms and holiday tables cover (markets.SUPPORTED_INSTANTS)."""
    earliest, latest = SUPPORTED_INSTANTS
    if not earliest <= value < latest:
        raise ValueError(f"`{field}` must be from {earliest.isoformat()} and before {latest.isoformat()}")


_DECODERS: dict[HTTPRouteHandler, msgspec.json.Decoder[Any]] = {}
_UNTYPED = msgspec.json.Decoder()


def _decoder(handler: HTTPRouteHandler) -> msgspec.json.Decoder[Any]:
    """The route's body type's strict decoder, made once per route."""
    if (decoder := _DECODERS.get(handler)) is None:
        data = handler.parsed_fn_signature.parameters.get("data")
        decoder = _DECODERS[handler] = _UNTYPED if data is None else msgspec.json.Decoder(data.annotation)
    return decoder


class StrictJsonRequest(Request[Any, Any, Any]):
    """Decodes a route's JSON body straight into its Struct in msgspec's strict mode.

    Litestar decodes to untyped JSON, then converts in msgspec's lax mode ("1" and 1.0 become 1), and
    its untyped decoder fails with a RecursionError on JSON nested 1,000 deep and a UnicodeDecodeError
    on invalid UTF-8 (both 500s). Decoding to the route's type refuses a wrong type at its first byte
    and names the field; the Struct then passes Litestar's conversion unchanged (0.5 µs). Installed
    with Litestar's documented `request_class`."""

    async def json(self) -> Any:
        """The body, decoded (Litestar asks once a request; the body's bytes it keeps itself). Only
        public API: `body()`, `route_handler` and the handler's parsed signature."""
        decoder = _decoder(self.route_handler)  # type: ignore[arg-type]
        body = await self.body()
        try:
            value = decoder.decode(body or b"null")
        except msgspec.ValidationError as error:
            message, _, at = str(error).partition(" - at `")
            raise ValidationException("Validation failed for request body", extra=[
                {"key": at.rstrip("`") or "$", "message": message, "source": "body"}]) from None
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as error:
            reason = ("nested too deep" if isinstance(error, RecursionError)
                      else "not UTF-8" if isinstance(error, UnicodeDecodeError) else str(error))
            raise ValidationException(f"the body is not JSON the shop reads: {reason}", extra=[
                {"key": "$", "message": f"malformed JSON: {reason}", "source": "body"}]) from None
        return value
