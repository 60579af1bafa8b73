"""What an accepted order writes: its row, its lines, its first timeline entry, its first ledger fact
and its e-mail, each built from the offer as checked and priced (shop.services.checkout)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shop.adapters.stores import timeline
from shop.adapters.stripe_gateway import CreatedIntent
from shop.domain import notices
from shop.domain.calendar import local_date
from shop.domain.checkout import OrderRequest, Quote, order_number
from shop.domain.deadlines import payment_due_at
from shop.domain.lifecycle import ORDER, OrderState
from shop.domain.machine import Transition
from shop.domain.markets import Market
from shop.domain.money import Money
from shop.domain.payment_facts import PAYMENT_INTENT_CREATED, PaymentFact, fact_key
from shop.services.idempotency import IdempotencyClaim
from shop.services.orders_common import OrderAggregate

Present = Callable[[OrderAggregate], dict[str, Any]]
"""The answer's body for an order as written (the web layer's presenter)."""


@dataclass(frozen=True)
class Offer:
    """The customer's offer, checked and priced, its PaymentIntent created: what is left to write."""

    order_id: str
    request: OrderRequest
    priced: Quote
    customer_id: int
    intent: CreatedIntent | None
    now: datetime
    claim: IdempotencyClaim | None
    present: Present | None


def order_row(offer: Offer) -> dict[str, Any]:
    request, priced, now, intent = offer.request, offer.priced, offer.now, offer.intent
    delivery = priced.delivery
    return {
        "id": offer.order_id,
        "number": order_number(request.market, local_date(now, request.market)),
        "customer_id": offer.customer_id,
        "market": request.market.value,
        "state": first_state(offer).value,
        "payment_method": request.payment_method,
        "currency": priced.total.currency,
        "items_minor": priced.items.amount_minor,
        "delivery_minor": priced.delivery_charge.amount_minor,
        "total_minor": priced.total.amount_minor,
        "vat_minor": priced.vat.amount_minor,
        "terms_version": request.terms_version or "",
        "delivery": {
            "method": delivery.method.value,
            "recipient": delivery.recipient,
            "phone": delivery.phone,
            "store_id": delivery.store_id,
            "address": None if delivery.address is None else {
                "street": delivery.address.street, "city": delivery.address.city,
                "postal_code": delivery.address.postal_code, "country": delivery.address.country.upper(),
            },
        },
        "placed_at": now,
        "payment_due_at": payment_due_at(now) if intent is not None else None,
        "expected_delivery_on": priced.expected_delivery_on,
        "payment_intent_id": intent.id if intent else None,
        "client_secret": intent.client_secret if intent else None,
    }


def first_state(offer: Offer) -> OrderState:
    return OrderState.AWAITING_PAYMENT if offer.intent is not None else OrderState.AWAITING_INSTALLMENT_APPROVAL


def line_row(offer: Offer, line: Any) -> dict[str, Any]:
    return {
        "order_id": offer.order_id, "customer_id": offer.customer_id,  # RS-V.5.5, the count of open units
        "sku": line.product.sku, "name": line.product.name, "model": line.product.model,
        "category": line.product.category, "quantity": line.quantity,
        "unit_price_minor": line.unit_price.amount_minor, "vat_rate": str(offer.priced.vat_rate),
        "requires_imei": line.product.requires_imei, "returnable": line.product.returnable,
        "set_items": list(line.product.set_items),
    }


def placed(offer: Offer) -> Transition[OrderState]:
    """The order's first transition: the customer's offer creates it (RS-IV.1), awaiting its card
    payment or the instalment provider's decision (RS-V.1)."""
    return ORDER.start("place", first_state(offer))


def placed_entry(offer: Offer) -> dict[str, Any]:
    """The timeline row of the order's first transition."""
    return timeline.entry(offer.order_id, placed(offer), actor=f"customer:{offer.customer_id}", now=offer.now,
                          reason=f"terms {offer.request.terms_version or ''} accepted")


def intent_created(offer: Offer) -> PaymentFact:
    """The ledger's first fact of a card order."""
    assert offer.intent is not None
    return PaymentFact(key=fact_key(offer.intent.id, "created"), kind=PAYMENT_INTENT_CREATED,
                       order_id=offer.order_id, payment_intent_id=offer.intent.id,
                       amount_minor=offer.priced.total.amount_minor, currency=offer.priced.total.currency,
                       occurred_at=offer.now, recorded_at=offer.now)


def order_received(order: dict[str, Any]) -> notices.Notice:
    return notices.order_received(Market(order["market"]), order["number"],
                                  Money(order["total_minor"], order["currency"]), order["payment_due_at"])
