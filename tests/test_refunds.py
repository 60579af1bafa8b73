"""Refunds are first-class records backed by the payment ledger (RS-III.4, RS-VII.10): never more
than was paid, a failed one stays visible and staff can send it again without paying twice."""

from __future__ import annotations

import dataclasses

from sqlmodel import select

from shop.adapters.stripe_gateway import StripeGateway
from shop.adapters.tables import Order, PaymentEvent
from shop.services import orders
from shop.services.refunds import paid_minor, refunded_minor
from tests.infra.ports import free_port


def unreachable_stripe(shop) -> StripeGateway:
    """A real connection failure: Stripe's address points at a closed port on loopback."""
    return StripeGateway(secret_key="sk_test_x", webhook_secret="whsec_x",
                         api_base=f"http://127.0.0.1:{free_port()}")


async def ledger(shop, order_id: str) -> list[tuple[str, int | None]]:
    async with shop.ctx.sessions() as session:
        rows = await session.exec(select(PaymentEvent).where(PaymentEvent.order_id == order_id)
                                  .order_by(PaymentEvent.id))
        return [(row.kind, row.amount_minor) for row in rows]


async def test_failed_refund_stays_visible_and_staff_retry_pays_once_RS_III_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    total = order["total"]["amount_minor"]
    async with shop.ctx.sessions() as session:
        customer_id = (await session.get(Order, order["id"])).customer_id
    broken = dataclasses.replace(shop.ctx, stripe=unreachable_stripe(shop))
    try:
        await orders.cancel_by_customer(broken, order["id"], customer_id=customer_id, reason="changed my mind")
    finally:
        await broken.stripe.aclose()

    [failed] = (await shop.order(customer, order["id"]))["refunds"]
    assert failed["state"] == "failed" and failed["failure"]
    assert failed["amount"]["amount_minor"] == total

    response = await shop.ops_post(f"/refunds/{failed['id']}/retry")
    assert response.status_code == 200, response.text
    [refund] = response.json()["refunds"]
    assert refund["state"] == "succeeded"
    assert (await shop.stripe.v1.refunds.retrieve_async(refund["stripe_refund_id"])).amount == total

    again = await shop.ops_post(f"/refunds/{failed['id']}/retry")
    assert (again.status_code, again.json()["code"]) == (409, "refund_not_failed")
    assert [kind for kind, _ in await ledger(shop, order["id"])] == [
        "payment_intent.created", "payment_intent.succeeded", "refund.requested", "refund.failed",
        "refund.requested", "refund.succeeded"]
    async with shop.ctx.sessions() as session:
        assert await paid_minor(session, order["id"]) == total
        assert await refunded_minor(session, order["id"]) == total


async def test_second_success_event_for_one_payment_counts_once(shop):
    """Stripe may report one PaymentIntent's success twice, with two event ids."""
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)
    for _ in range(2):
        await shop.send_event("payment_intent.succeeded", intent)

    async with shop.ctx.sessions() as session:
        assert await paid_minor(session, order["id"]) == order["total"]["amount_minor"]
    assert [e["event"] for e in (await shop.order(customer, order["id"]))["timeline"]] == ["place", "pay"]


async def test_refund_is_never_more_than_was_paid_RS_III_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer, None)
    lines = [{"line_id": line["id"], "available": False} for line in order["lines"]]
    response = await shop.ops_post(f"/orders/{order['id']}/confirm", {"lines": lines})
    assert response.json()["state"] == "cancelled"
    await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer)

    refunds = (await shop.order(customer, order["id"]))["refunds"]
    assert sum(r["amount"]["amount_minor"] for r in refunds) == order["total"]["amount_minor"]


async def test_signed_event_of_an_unexpected_shape_is_refused_not_a_500(shop):
    import json

    from tests.support import sign

    for body in ({"type": "payment_intent.succeeded"}, {"id": "evt_1", "type": 3, "data": {}},
                 {"id": "evt_2", "type": "payment_intent.succeeded", "data": {"object": {"amount": "ten"}}}):
        payload = json.dumps(body).encode()
        response = await shop.http.post("/api/v1/webhooks/stripe", content=payload,
                                        headers={"Stripe-Signature": sign(payload)})
        assert (response.status_code, response.json()["code"]) == (422, "invalid_event")


async def test_instalment_refund_is_recorded_when_the_provider_pays_back_RS_III_4(shop):
    from tests.support import order_body

    customer = await shop.customer()
    order = await shop.place(customer, order_body(payment_method="installments"))
    await shop.ops_post(f"/orders/{order['id']}/installment-decision", {"approved": True})
    await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer)
    [refund] = (await shop.order(customer, order["id"]))["refunds"]
    assert refund["state"] == "pending"

    response = await shop.ops_post(f"/refunds/{refund['id']}/provider-paid")

    assert response.status_code == 200, response.text
    assert response.json()["refunds"][0]["state"] == "succeeded"
    again = await shop.ops_post(f"/refunds/{refund['id']}/provider-paid")
    assert (again.status_code, again.json()["code"]) == (409, "refund_not_pending")
