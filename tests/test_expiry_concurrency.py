"""RS-V.1 under real concurrency on one PostgreSQL database: two `expire-payments` processes run at
once while Stripe's success events stream in at the deadline. Every order ends in exactly one
consistent state, and each expired order is cancelled exactly once."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import case, func, select

from shop.adapters.tables import Order, OrderLine, PaymentEvent, Product, TimelineEntry, table_of
from shop.domain.payment_facts import PAID_KINDS, REFUND_FAILED, REFUND_REQUESTED
from tests.support import event, order_body, sign, task_env

ROOT = Path(__file__).resolve().parents[1]
PLACED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
DUE = PLACED + timedelta(hours=2)
PER_KIND = 12  # unpaid, paid in time, paid late


async def job(settings, now: datetime) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shop.jobs", "expire-payments", "--now", now.isoformat(), cwd=ROOT,
        env=task_env(settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    return int(re.search(r": (\d+) orders cancelled", out.decode()).group(1))


async def success(shop, intent: dict, created: datetime) -> None:
    body = event("payment_intent.succeeded", intent)
    body["created"] = int(created.timestamp())
    payload = json.dumps(body).encode()
    response = await shop.http.post("/api/v1/webhooks/stripe", content=payload,
                                    headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_expiry_jobs_and_boundary_payments_end_consistent_RS_V_1(shop, settings):
    await shop.http.put("/api/v1/ops/products/rs-charger-67w/stock", json={"in_stock": 1_000},
                        headers=await shop.ops())
    await shop.http.put("/api/v1/test/clock", json={"now": PLACED.isoformat()})
    body = order_body(lines=[("rs-charger-67w", 1)])
    placed = [await shop.place(await shop.customer(), body) for _ in range(3 * PER_KIND)]
    unpaid, in_time, late = placed[:PER_KIND], placed[PER_KIND:2 * PER_KIND], placed[2 * PER_KIND:]
    intents = {o["id"]: await shop.pay_at_stripe(o) for o in in_time + late}

    after = DUE + timedelta(seconds=5)
    results = await asyncio.gather(
        job(settings, after), job(settings, after),
        *(success(shop, intents[o["id"]], DUE - timedelta(seconds=1)) for o in in_time),
        *(success(shop, intents[o["id"]], DUE + timedelta(seconds=1)) for o in late),
    )
    cancelled_by_jobs = results[0] + results[1]

    expiries, states, keeps, held, reserved = await shop.ctx.db.read(
        lambda uow: what_the_database_holds(uow.connection, placed))

    assert set(expiries.values()) <= {1}, "an order was cancelled twice"
    assert cancelled_by_jobs == len(expiries)
    assert all(states[o["id"]] == "cancelled" and keeps[o["id"]] == 0 for o in unpaid)
    assert all(states[o["id"]] == "paid" and keeps[o["id"]] == o["total"]["amount_minor"] for o in in_time)
    for o in late:  # paid before the job reached it, or cancelled and refunded: never both
        assert (states[o["id"]], keeps[o["id"]]) in {("paid", o["total"]["amount_minor"]), ("cancelled", 0)}
    assert reserved == held


def what_the_database_holds(db, placed):
    """Expiry entries per order, each order's state and what it keeps (paid less refunded, from the
    ledger), the charger's units held by open orders and its reserved count."""
    timeline, orders, lines = table_of(TimelineEntry), table_of(Order), table_of(OrderLine)
    facts, products = table_of(PaymentEvent), table_of(Product)
    expiries = dict(db.execute(select(timeline.c.order_id, func.count()).where(timeline.c.event == "expire_payment")
                               .group_by(timeline.c.order_id)).all())
    states = {o["id"]: db.execute(select(orders.c.state).where(orders.c.id == o["id"])).scalar_one() for o in placed}
    signed = case((facts.c.kind.in_(PAID_KINDS), facts.c.amount_minor),
                  (facts.c.kind == REFUND_REQUESTED, -facts.c.amount_minor),
                  (facts.c.kind == REFUND_FAILED, facts.c.amount_minor), else_=0)
    keeps = {o["id"]: int(db.execute(select(func.coalesce(func.sum(signed), 0)).where(
        facts.c.order_id == o["id"], facts.c.flagged.is_(None))).scalar_one()) for o in placed}
    held = db.execute(select(func.coalesce(func.sum(lines.c.quantity), 0))
                      .join(orders, orders.c.id == lines.c.order_id)
                      .where(orders.c.state != "cancelled", lines.c.sku == "rs-charger-67w")).scalar_one()
    reserved = db.execute(select(products.c.reserved).where(products.c.sku == "rs-charger-67w")).scalar_one()
    return expiries, states, keeps, held, reserved

