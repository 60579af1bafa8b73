"""Random interleavings of duplicated, reordered and late Stripe events and expiry runs at one order
(RS-V.1, RS-III.4): the order never keeps money it should not, and never loses money it should keep."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings, strategies as st

from shop.services.expiry import expire_unpaid_orders, send_queued_cancellations
from tests.support import event, sign

PLACED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
DUE = PLACED + timedelta(hours=2)

# One scenario: the customer pays (in time or late) and these things reach the shop in this order.
STEP = st.one_of(
    st.just(("succeeded",)),                                  # Stripe's success event (maybe again)
    st.just(("failed",)),                                     # an earlier failed attempt, reported late
    st.just(("canceled",)),                                   # a stray cancel notice
    st.tuples(st.just("expire"), st.sampled_from([-60, 1, 3600])),  # the job, seconds after the deadline
    st.just(("confirm",)),                                    # staff confirm if they can
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paid_in_time=st.booleans(), steps=st.lists(STEP, min_size=1, max_size=7))
async def test_random_event_orders_keep_the_money_invariants_RS_V_1(shop, paid_in_time, steps):
    await shop.http.put("/api/v1/ops/products/rs-15t-12-256/stock", json={"in_stock": 10_000},
                        headers=await shop.ops())
    await shop.http.put("/api/v1/test/clock", json={"now": PLACED.isoformat()})
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)
    paid_at = DUE - timedelta(seconds=1) if paid_in_time else DUE + timedelta(seconds=30)
    success_id = f"evt_success_{order['id']}"

    for step in steps:
        if step[0] == "succeeded":
            await deliver(shop, "payment_intent.succeeded", intent, success_id, paid_at)
        elif step[0] == "failed":
            await deliver(shop, "payment_intent.payment_failed", intent, f"evt_failed_{order['id']}", PLACED)
        elif step[0] == "canceled":
            await deliver(shop, "payment_intent.canceled", intent, f"evt_cancel_{order['id']}", PLACED)
        elif step[0] == "expire":
            now = DUE + timedelta(seconds=step[1])
            report = await expire_unpaid_orders(shop.ctx, now)
            await send_queued_cancellations(shop.ctx, now, report)
        elif step[0] == "confirm":
            view = await shop.order(customer, order["id"])
            if view["state"] == "paid":
                lines = [{"line_id": line["id"], "available": True} for line in view["lines"]]
                await shop.ops_post(f"/orders/{order['id']}/confirm", {"lines": lines})
        await check_invariants(shop, order, paid_in_time)


async def deliver(shop, event_type: str, intent: dict, event_id: str, created: datetime) -> None:
    body = event(event_type, intent, event_id=event_id)
    body["created"] = int(created.timestamp())
    payload = json.dumps(body).encode()
    response = await shop.http.post("/api/v1/webhooks/stripe", content=payload,
                                    headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text


async def check_invariants(shop, placed: dict, paid_in_time: bool) -> None:
    def read(uow):
        order = uow.orders.get(placed["id"])
        return (order, uow.ledger.paid_minor(order.id), uow.ledger.refunded_minor(order.id),
                [entry.event for entry in uow.timeline.of_order(order.id) if entry.machine == "order"])
    order, paid, refunded, events = await shop.ctx.db.read(read)
    keeps = paid - refunded
    assert 0 <= refunded <= paid <= order.total_minor
    if order.state == "cancelled":
        assert keeps == 0, (events, paid, refunded)
    else:
        assert keeps in (0, order.total_minor)
        if order.state in ("paid", "confirmed"):
            assert keeps == order.total_minor, events
    if "confirm" in events:  # a paid, confirmed order is never cancelled by the job
        assert events.index("confirm") > max((i for i, e in enumerate(events) if e == "expire_payment"), default=-1)
        assert order.state == "confirmed"
    if not paid_in_time and "expire_payment" in events:
        assert "honour_timely_payment" not in events
