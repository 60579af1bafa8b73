"""Delivery methods, charges and stores (RS-V.2, RS-V.5.1–V.5.3, RS-III.3)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shop.domain.markets import Market


class DeliveryMethod(StrEnum):
    COURIER = "courier"
    STORE_PICKUP = "store_pickup"


@dataclass(frozen=True)
class DeliveryTariff:
    courier_minor: int
    free_courier_from_minor: int  # an order of goods worth this much travels free


# RS-III.3: every charge is shown in the quote before the order is placed.
TARIFFS: dict[Market, DeliveryTariff] = {
    Market.RS: DeliveryTariff(courier_minor=39_000, free_courier_from_minor=1_000_000),
    Market.KZ: DeliveryTariff(courier_minor=150_000, free_courier_from_minor=2_500_000),
}


@dataclass(frozen=True)
class Store:
    id: str
    market: Market
    name: str
    street: str
    city: str
    postal_code: str


# RS-V.5.3: with store pickup, the store's address is the delivery address.
STORES: dict[str, Store] = {
    store.id: store
    for store in (
        Store("rs-bg-knez", Market.RS, "Mi Store Knez Mihailova", "Knez Mihailova 21", "Beograd", "11000"),
        Store("rs-ns-centar", Market.RS, "Mi Store Novi Sad", "Zmaj Jovina 8", "Novi Sad", "21000"),
        Store("kz-ala-dostyk", Market.KZ, "Mi Store Dostyk Plaza", "Samal-2, 111", "Almaty", "050051"),
    )
}


def delivery_charge(market: Market, method: DeliveryMethod, items_minor: int) -> int:
    if method is DeliveryMethod.STORE_PICKUP:
        return 0
    tariff = TARIFFS[market]
    return 0 if items_minor >= tariff.free_courier_from_minor else tariff.courier_minor
