"""Request bodies as msgspec Structs: Litestar validates them and names the offending field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from shop.domain.accounts import GuardianConsent
from shop.domain.checkout import Address, DeliveryRequest, LineRequest, OrderRequest
from shop.domain.delivery import DeliveryMethod
from shop.domain.markets import Market

NO_NUL = r"^[^\x00]*$"
"""No text holds U+0000: PostgreSQL cannot store it, so it is refused here on every database."""
Instant = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 instant with offset, e.g. 2026-11-22T10:15:00Z")]
Text = Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=200)]
ShortText = Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=64)]


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


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
    quantity: int


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
    line_id: int
    available: bool


class ConfirmIn(Body):
    lines: list[LineAvailabilityIn]


class DeviceIn(Body):
    line_id: int
    imeis: list[Annotated[str, msgspec.Meta(pattern=NO_NUL, max_length=32)]]


class ShipIn(Body):
    carrier: ShortText
    tracking_number: ShortText
    devices: list[DeviceIn] = []


class DeliverIn(Body):
    delivered_at: Instant


class DeliveryFailedIn(Body):
    reason: Literal["bad_address", "unreachable", "absent", "force_majeure"]


class InstallmentDecisionIn(Body):
    approved: bool


class StockIn(Body):
    in_stock: int


class ClockIn(Body):
    now: Instant
