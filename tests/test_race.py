"""Concurrent orders on PostgreSQL (SQLite has one writer and cannot race): the last unit goes to
exactly one buyer (RS-V.5.6) and one customer's racing orders never pass the per-customer limit
(RS-V.5.5). Only PostgreSQL, where the requests really run side by side."""

from __future__ import annotations

import asyncio

import pytest

from tests.ops_support import set_stock, stock_of
from tests.support import order_body

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

PHONE = "rs-15t-12-256"
ROUNDS = 10


async def place_at_once(shop, customers, body):
    return await asyncio.gather(*(shop.http.post("/api/v1/orders", json=body, headers=customer)
                                  for customer in customers))


async def test_two_buyers_racing_for_the_last_unit_one_wins_RS_V_5_6(shop):
    body = order_body(lines=[(PHONE, 1)])
    for round_ in range(ROUNDS):
        _, reserved = await stock_of(shop, PHONE)
        await set_stock(shop, PHONE, reserved + 1)  # one free unit left
        buyers = [await shop.customer(), await shop.customer()]

        answers = await place_at_once(shop, buyers, body)

        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        [lost] = [a for a in answers if a.status_code == 409]
        assert (lost.json()["code"], lost.json()["clause"]) == ("out_of_stock", "RS-V.5.6")
        on_hand, reserved = await stock_of(shop, PHONE)
        assert (on_hand, reserved) == (round_ + 1, round_ + 1)


async def test_one_customer_racing_orders_never_passes_the_limit_RS_V_5_5(shop):
    await set_stock(shop, PHONE, 1_000)
    body = order_body(lines=[(PHONE, 1)])
    limit = next(p for p in (await shop.http.get("/api/v1/products?market=RS")).json()
                 if p["sku"] == PHONE)["max_per_customer"]
    assert limit == 2
    for _ in range(ROUNDS):
        customer = await shop.customer()

        answers = await place_at_once(shop, [customer] * (limit + 1), body)

        assert sorted(a.status_code for a in answers) == [201] * limit + [409], [a.text for a in answers]
        [refused] = [a for a in answers if a.status_code == 409]
        assert (refused.json()["code"], refused.json()["clause"]) == ("per_customer_limit_exceeded", "RS-V.5.5")
        mine = (await shop.http.get("/api/v1/orders", headers=customer)).json()
        assert sum(line["quantity"] for order in mine for line in order["lines"]) == limit
