"""The demo catalogue loaded on first start (STOREFRONT-API.md, Catalogue): per market the Xiaomi 15T
and 15T Pro, another phone, an accessory, a non-returnable product (RS-VII.14), a set (RS-VII.13),
and a product with its own delivery methods (RS-V.2). Prices are gross, VAT included (RS-III.1)."""

from __future__ import annotations

from typing import Any

BOTH = ["courier", "store_pickup"]
INITIAL_STOCK = 50


def _product(market: str, sku: str, name: str, model: str, category: str, price_minor: int, **extra: Any) -> dict[str, Any]:
    return {
        "sku": sku, "market": market, "name": name, "model": model, "category": category,
        "price_minor": price_minor, "currency": {"RS": "RSD", "KZ": "KZT"}[market],
        "on_hand": INITIAL_STOCK, "requires_imei": category == "phone", "delivery_methods": BOTH,
        "max_per_customer": 2 if category == "phone" else 5, "returnable": True, "set_items": [],
        "delivery_areas": [], **extra,
    }


def demo_products() -> list[dict[str, Any]]:
    products = []
    for market, prices in {
        "RS": (8_999_900, 11_999_900, 3_999_900, 349_900, 499_900, 699_900, 5_499_900),
        "KZ": (34_999_000, 45_999_000, 15_999_000, 1_399_000, 1_999_000, 2_799_000, 21_999_000),
    }.items():
        m = market.lower()
        t15, t15pro, note, charger, buds, band_set, tv = prices
        products += [
            _product(market, f"{m}-15t-12-256", "Xiaomi 15T 12GB/256GB", "Xiaomi 15T", "phone", t15),
            _product(market, f"{m}-15t-pro-12-512", "Xiaomi 15T Pro 12GB/512GB", "Xiaomi 15T Pro", "phone", t15pro),
            _product(market, f"{m}-redmi-note-14-pro", "Redmi Note 14 Pro 8GB/256GB", "Redmi Note 14 Pro",
                     "phone", note),
            _product(market, f"{m}-charger-67w", "Xiaomi 67W Charging Combo", "Xiaomi 67W Charger",
                     "accessory", charger),
            # RS-VII.14: sealed for hygiene reasons; not returnable once unsealed.
            _product(market, f"{m}-redmi-buds-6", "Redmi Buds 6 (hygiene-sealed)", "Redmi Buds 6",
                     "accessory", buds, returnable=False),
            # RS-VII.13: withdrawal covers the whole set.
            _product(market, f"{m}-band-9-set", "Xiaomi Smart Band 9 Active Set", "Xiaomi Smart Band 9 Active",
                     "set", band_set, set_items=["Xiaomi Smart Band 9 Active", "Spare strap", "Charging cable"]),
            # RS-V.2: delivery methods may differ by product; RS-V.5.7: so may the areas delivered to
            # (the two largest cities' postal codes)
            _product(market, f"{m}-tv-a-55", "Xiaomi TV A 55 2025", "Xiaomi TV A 55 2025", "tv", tv,
                     delivery_methods=["courier"], max_per_customer=2,
                     delivery_areas={"RS": ["11", "21"], "KZ": ["050", "010"]}[market]),
        ]
    return products
