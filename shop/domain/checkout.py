"""The quote: every line, every charge, VAT, the total and the expected delivery date, computed
before anything is reserved (RS-III.1, RS-III.3, RS-V.2, RS-V.5.1, RS-V.5.2, RS-V.5.5, RS-V.5.7, RS-XV)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

import phonenumbers

from shop.domain.calendar import add_working_days, local_date
from shop.domain.delivery import STORES, DeliveryMethod, delivery_charge
from shop.domain.errors import Conflict, InvalidInput
from shop.domain.markets import Market, market_info
from shop.domain.money import vat_part, Money

MAX_LINES = 50
MAX_QUANTITY = 99


class ProductFacts(Protocol):
    sku: str
    market: str
    name: str
    model: str
    category: str
    price_minor: int
    currency: str
    max_per_customer: int
    requires_imei: bool
    returnable: bool
    delivery_methods: list[str]
    delivery_areas: list[str]  # RS-V.5.7: postal code prefixes a courier delivers it to; [] everywhere
    set_items: list[str]

    @property
    def available(self) -> int: ...


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    postal_code: str
    country: str


@dataclass(frozen=True)
class DeliveryRequest:
    method: DeliveryMethod
    recipient: str
    phone: str
    address: Address | None
    store_id: str | None = None


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int


@dataclass(frozen=True)
class OrderRequest:
    market: Market
    lines: tuple[LineRequest, ...]
    delivery: DeliveryRequest
    payment_method: str
    terms_version: str | None = None
    coupon_code: str | None = None
    f_code: str | None = None


@dataclass(frozen=True)
class QuoteLine:
    product: ProductFacts
    quantity: int
    unit_price: Money
    total: Money
    vat: Money
    available: bool


@dataclass(frozen=True)
class Quote:
    market: Market
    lines: tuple[QuoteLine, ...]
    items: Money
    delivery_charge: Money
    vat: Money
    total: Money
    vat_rate: Decimal
    expected_delivery_on: date
    delivery: DeliveryRequest
    """The delivery as it will be recorded: for store pickup, the store's own address (RS-V.5.3)."""
    quoted_on: date
    """The market's local date of the quote: the purchase date if ordered now (P-1 Decision)."""


def merged_lines(lines: Sequence[LineRequest]) -> dict[str, int]:
    """Quantities per SKU; a SKU named twice counts once with both quantities."""
    if not lines:
        raise InvalidInput("no_lines", "an order needs at least one line", field="lines")
    if len(lines) > MAX_LINES:
        raise InvalidInput("too_many_lines", f"at most {MAX_LINES} lines", field="lines")
    quantities: dict[str, int] = {}
    for index, line in enumerate(lines):
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise InvalidInput(
                "invalid_quantity", f"quantity must be 1 to {MAX_QUANTITY}",
                field=f"lines[{index}].quantity",
            )
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    return quantities


def check_delivery_area(product: ProductFacts, delivery: DeliveryRequest) -> None:
    """RS-V.5.7: some products are delivered only to some areas, as the catalogue says of each
    (`delivery_areas`: postal code prefixes; none: anywhere in the market, RS-V.5.1). A courier
    delivery of such a product goes to an address whose postal code begins with one of them; a
    pickup at a store is the customer's collection, wherever the store is."""
    if not product.delivery_areas or delivery.method is DeliveryMethod.STORE_PICKUP or delivery.address is None:
        return
    postal_code = delivery.address.postal_code.strip()
    if not any(postal_code.startswith(area) for area in product.delivery_areas):
        raise InvalidInput(
            "outside_delivery_area",
            f"{product.name} is delivered only to postal codes beginning {', '.join(product.delivery_areas)}",
            clause="RS-V.5.7", field="delivery.address.postal_code",
        )


def checked_delivery(market: Market, delivery: DeliveryRequest) -> DeliveryRequest:
    """RS-IV.2 complete and correct contact data; RS-V.5.1 only inside the market's country;
    RS-V.5.3 a pickup is delivered to the store's address."""
    if not delivery.recipient.strip():
        raise InvalidInput("recipient_missing", "the recipient's name is required",
                           clause="RS-IV.2", field="delivery.recipient")
    _check_phone(delivery.phone, market)
    if delivery.method is DeliveryMethod.STORE_PICKUP:
        store = STORES.get(delivery.store_id or "")
        if store is None or store.market != market:
            raise InvalidInput("unknown_store", "store_id must name a store of this market",
                               clause="RS-V.5.3", field="delivery.store_id")
        address = Address(store.street, store.city, store.postal_code, market_info(market).country)
        return DeliveryRequest(delivery.method, delivery.recipient.strip(), delivery.phone, address, store.id)
    address = delivery.address
    if address is None:
        raise InvalidInput("address_missing", "a courier delivery needs an address",
                           clause="RS-IV.2", field="delivery.address")
    for name in ("street", "city", "postal_code"):
        if not getattr(address, name).strip():
            raise InvalidInput("address_incomplete", f"address.{name} is required",
                               clause="RS-IV.2", field=f"delivery.address.{name}")
    if address.country.upper() != market_info(market).country:
        raise InvalidInput(
            "delivery_outside_market",
            f"delivery only to addresses in {market_info(market).country}",
            clause="RS-V.5.1", field="delivery.address.country",
        )
    return delivery


def _check_phone(phone: str, market: Market) -> None:
    if not _is_valid_phone(phone, market_info(market).country):
        raise InvalidInput("invalid_phone", "delivery.phone is not a valid phone number",
                           clause="RS-IV.2", field="delivery.phone")


@lru_cache(maxsize=4096)
def _is_valid_phone(phone: str, country: str) -> bool:
    """phonenumbers' verdict, kept for the numbers seen lately: a customer orders with the same
    number again and again, and parsing one takes about 0.1 ms."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(phone, country))
    except phonenumbers.NumberParseException:
        return False


def check_terms(market: Market, terms_version: str | None) -> None:
    """RS-XV: an order accepts the terms edition in force for its market."""
    expected = market_info(market).terms_version
    if terms_version != expected:
        raise Conflict(
            "terms_version_mismatch",
            f"the terms in force for {market} are version {expected}; accept them to order",
            clause="RS-XV",
        )


def quote(
    request: OrderRequest,
    products: Mapping[str, ProductFacts],
    *,
    now: datetime,
) -> Quote:
    """Price the request. `products` are the market's products named by the request."""
    market = request.market
    info = market_info(market)
    delivery = checked_delivery(market, request.delivery)
    if request.coupon_code:
        # RS-III.5: coupons follow their campaign; no campaign is running.
        raise InvalidInput("unknown_coupon", "no campaign accepts this coupon code",
                           clause="RS-III.5", field="coupon_code")
    if request.f_code:
        raise InvalidInput("unknown_f_code", "this F-code is not valid", clause="RS-V.5.9",
                           field="f_code")
    today = local_date(now, market)
    vat_rate = info.vat_rate_on(today)
    lines = []
    first_line: dict[str, int] = {}  # a refused SKU is named at its first line as sent
    for index, line_request in enumerate(request.lines):
        first_line.setdefault(line_request.sku, index)
    for sku, quantity in merged_lines(request.lines).items():
        product = products.get(sku)
        if product is None or product.market != market:
            raise InvalidInput("unknown_product", f"no product {sku!r} in market {market}",
                               field=f"lines[{first_line[sku]}].sku")
        if delivery.method.value not in product.delivery_methods:
            raise InvalidInput(
                "delivery_method_not_offered",
                f"{product.name} is not delivered by {delivery.method.value}",
                clause="RS-V.2", field="delivery.method",
            )
        check_delivery_area(product, delivery)
        unit = Money(product.price_minor, product.currency)
        total = unit * quantity
        lines.append(QuoteLine(product, quantity, unit, total, vat_part(total, vat_rate),
                               product.available >= quantity))
    items = sum((line.total for line in lines), Money.zero(info.currency))
    charge = Money(delivery_charge(market, delivery.method, items.amount_minor), info.currency)
    vat = sum((line.vat for line in lines), vat_part(charge, vat_rate))
    return Quote(
        market=market,
        lines=tuple(lines),
        items=items,
        delivery_charge=charge,
        vat=vat,
        total=items + charge,
        vat_rate=vat_rate,
        expected_delivery_on=add_working_days(today, info.delivery_working_days, market),
        delivery=delivery,
        quoted_on=today,
    )


def order_vat(line_totals: Iterable[Money], delivery_charge: Money, rate: Decimal) -> Money:
    """RS-III.1: an order's VAT as `quote` computes it, each line's part of its total and the delivery
    charge's, each rounded to the minor unit; for a partial confirmation (RS-IV.6), of the lines kept."""
    return sum((vat_part(total, rate) for total in line_totals), vat_part(delivery_charge, rate))


def check_orderable(quote: Quote, already_ordered: Mapping[str, int]) -> None:
    """RS-V.5.5 per-customer limits; RS-V.5.6 stock (reservation itself is atomic in the database)."""
    for line in quote.lines:
        product = line.product
        if already_ordered.get(product.sku, 0) + line.quantity > product.max_per_customer:
            raise Conflict(
                "per_customer_limit_exceeded",
                f"at most {product.max_per_customer} of {product.name} per customer "
                f"(you have {already_ordered.get(product.sku, 0)} in open orders)",
                clause="RS-V.5.5",
            )
        if not line.available:
            raise Conflict("out_of_stock", f"{product.name} is out of stock", clause="RS-V.5.6")


ORDER_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U
ORDER_NUMBER_RANDOM_CHARACTERS = 12  # 60 bits: a million orders a day collide about once in 2 million days


def order_number(market: Market, placed_on: date) -> str:
    """What the customer quotes to staff: the market, the local day it was placed and a random part
    long enough that numbers never repeat in practice (a 24-bit part repeated within a few thousand
    orders a day, and the second order failed)."""
    bits = secrets.randbits(5 * ORDER_NUMBER_RANDOM_CHARACTERS)  # one call: 5 bits a character
    suffix = "".join(ORDER_NUMBER_ALPHABET[(bits >> shift) & 31]
                     for shift in range(0, 5 * ORDER_NUMBER_RANDOM_CHARACTERS, 5))
    return f"{market.value}{placed_on:%y%m%d}-{suffix}"
