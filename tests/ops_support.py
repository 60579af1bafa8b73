"""Helpers of the lifecycle, operations, payment and race tests (beside tests/support.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shop.adapters.tables import Product, table_of
from tests.support import ShopClient


async def set_clock(shop: ShopClient, now: str) -> None:
    response = await shop.http.put("/api/v1/test/clock", json={"now": now})
    assert response.status_code == 200, response.text


async def set_stock(shop: ShopClient, sku: str, in_stock: int) -> None:
    response = await shop.http.put(f"/api/v1/ops/products/{sku}/stock", json={"in_stock": in_stock},
                                   headers=await shop.ops())
    assert response.status_code == 200, response.text


async def stock_of(shop: ShopClient, sku: str) -> tuple[int, int]:
    """(on_hand, reserved) as the database holds them."""
    products = table_of(Product)
    row = await shop.ctx.db.read(lambda uow: uow.connection.execute(
        select(products.c.on_hand, products.c.reserved).where(products.c.sku == sku)).one())
    return row.on_hand, row.reserved


def all_available(order: dict[str, Any]) -> dict[str, Any]:
    return {"lines": [{"line_id": line["id"], "available": True} for line in order["lines"]]}


def events(order: dict[str, Any]) -> list[str]:
    return [entry["event"] for entry in order["timeline"]]


def deadline(order: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [d for d in order["deadlines"] if d["name"] == name]
    return found


async def stripe_refund(shop: ShopClient, refund: dict[str, Any]) -> Any:
    """The refund as localstripe holds it."""
    assert refund["stripe_refund_id"], refund
    return await shop.stripe.v1.refunds.retrieve_async(refund["stripe_refund_id"])


async def assert_refunded_at_stripe(shop: ShopClient, order: dict[str, Any], amount_minor: int) -> None:
    """Exactly one refund of `amount_minor`, succeeded here and at localstripe."""
    [refund] = order["refunds"]
    assert (refund["state"], refund["amount"]["amount_minor"]) == ("succeeded", amount_minor)
    at_stripe = await stripe_refund(shop, refund)
    assert (at_stripe.status, at_stripe.amount) == ("succeeded", amount_minor)
    assert at_stripe.payment_intent == order["payment"]["payment_intent_id"]
