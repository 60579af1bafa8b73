"""RS-V.1: card orders not paid within 2 hours are cancelled by `make expire-payments`; a payment
made within the window whose news comes after the job is honoured; any other payment for a cancelled
order goes back automatically."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from shop.adapters.tables import OutboxEmail, StripeCommand, TimelineEntry, table_of
from shop.services.expiry import expire_unpaid_orders, send_queued_cancellations
from tests.support import event, order_body, run_task, sign

ROOT = Path(__file__).resolve().parents[1]
PLACED = "2026-11-20T08:00:00Z"
BEFORE_DUE = "2026-11-20T09:59:59Z"
AFTER_DUE = "2026-11-20T10:00:01Z"


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def stock_of(shop, sku: str) -> dict:
    response = await shop.http.put(f"/api/v1/ops/products/{sku}/stock", json={"in_stock": 50},
                                   headers=await shop.ops())
    return response.json()


async def run_job(shop, now: str):
    report = await expire_unpaid_orders(shop.ctx, instant(now))
    await send_queued_cancellations(shop.ctx, instant(now), report)
    return report


async def place_at(shop, when: str, customer=None, **body):
    await shop.http.put("/api/v1/test/clock", json={"now": when})
    return await shop.place(customer or await shop.customer(), order_body(**body) if body else None)


async def send_success(shop, intent: dict, created: str):
    """Stripe's signed `payment_intent.succeeded`, created at the instant Stripe recorded it."""
    body = event("payment_intent.succeeded", intent)
    body["created"] = int(instant(created).timestamp())
    payload = json.dumps(body).encode()
    return await shop.http.post("/api/v1/webhooks/stripe", content=payload,
                                headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"})


async def test_unpaid_card_order_is_cancelled_after_two_hours_RS_V_1(shop):
    customer = await shop.customer()
    order = await place_at(shop, PLACED, customer)
    instalments = await place_at(shop, PLACED, customer, payment_method="installments",
                                 lines=[("rs-charger-67w", 1)])

    assert (await run_job(shop, BEFORE_DUE)).cancelled == []
    report = await run_job(shop, AFTER_DUE)

    assert [order_id for order_id, _, _ in report.cancelled] == [order["id"]]
    assert report.intents_cancelled == 1
    cancelled = await shop.order(customer, order["id"])
    assert cancelled["state"] == "cancelled"
    assert [line["state"] for line in cancelled["lines"]] == ["cancelled"]  # a line follows its order
    assert cancelled["timeline"][-1] | {"at": None} == {
        "at": None, "from_state": "awaiting_payment", "to_state": "cancelled", "event": "expire_payment",
        "actor": "system:expire-payments", "reason": "not paid by 2026-11-20T10:00:00Z", "clause": "RS-V.1"}
    assert (await shop.order(customer, instalments["id"]))["state"] == "awaiting_installment_approval"
    intent = await shop.stripe.v1.payment_intents.retrieve_async(order["payment"]["payment_intent_id"])
    assert intent.status == "canceled"
    assert (await stock_of(shop, "rs-15t-12-256"))["reserved"] == 0


async def test_expiry_job_is_safe_to_run_twice_RS_V_1(shop):
    await place_at(shop, PLACED)
    assert len((await run_job(shop, AFTER_DUE)).cancelled) == 1
    again = await run_job(shop, AFTER_DUE)
    assert again.cancelled == [] and again.intents_cancelled == 0


async def test_batches_written_at_once_cancel_each_order_once_RS_V_1(shop):
    """Several batches at once (the job's default on PostgreSQL): every expired order cancelled once,
    with one timeline entry, one e-mail and one Stripe cancellation each, and its units released once."""
    reserved_before = (await stock_of(shop, "rs-15t-12-256"))["reserved"]
    orders = [await place_at(shop, PLACED, customer) for customer in [await shop.customer() for _ in range(5)]
              for _ in range(2)]  # two each: the per-customer limit (RS-V.5.5)
    ids = {order["id"] for order in orders}

    report = await expire_unpaid_orders(shop.ctx, instant(AFTER_DUE), batch_size=3, workers=3)

    assert sorted(order_id for order_id, _, _ in report.cancelled) == sorted(ids)
    timeline, emails, commands = table_of(TimelineEntry), table_of(OutboxEmail), table_of(StripeCommand)

    def counts(uow):  # each a count per order id
        return [Counter(uow.connection.execute(statement).scalars()) for statement in (
            select(timeline.c.order_id).where(timeline.c.event == "expire_payment", timeline.c.order_id.in_(ids)),
            select(emails.c.order_id).where(emails.c.kind == "order_cancelled", emails.c.order_id.in_(ids)),
            select(commands.c.order_id).where(commands.c.order_id.in_(ids)))]

    expired, mailed, cancels = await shop.ctx.db.read(counts)
    assert expired == mailed == cancels == Counter(ids)
    assert (await stock_of(shop, "rs-15t-12-256"))["reserved"] == reserved_before
    assert (await expire_unpaid_orders(shop.ctx, instant(AFTER_DUE), workers=3)).cancelled == []


async def test_payment_made_in_time_but_reported_after_the_job_is_honoured_RS_V_1(shop):
    customer = await shop.customer()
    order = await place_at(shop, PLACED, customer)
    await shop.http.put("/api/v1/test/clock", json={"now": BEFORE_DUE})
    intent = await shop.pay_at_stripe(order)  # paid within the window …
    await run_job(shop, AFTER_DUE)  # … but the job ran before the webhook came
    assert (await shop.order(customer, order["id"]))["state"] == "cancelled"

    response = await send_success(shop, intent, created=BEFORE_DUE)

    assert response.json()["result"] == "paid"
    honoured = await shop.order(customer, order["id"])
    assert honoured["state"] == "paid"
    assert [line["state"] for line in honoured["lines"]] == ["ordered"]  # ordered again with its order
    assert honoured["timeline"][-1]["event"] == "honour_timely_payment"
    assert honoured["refunds"] == []
    assert (await stock_of(shop, "rs-15t-12-256"))["reserved"] == 1


async def test_payment_after_the_window_for_a_cancelled_order_is_refunded_RS_V_1(shop):
    customer = await shop.customer()
    order = await place_at(shop, PLACED, customer)
    intent = await shop.pay_at_stripe(order)
    await run_job(shop, AFTER_DUE)

    response = await send_success(shop, intent, created=AFTER_DUE)

    assert response.json()["result"] == "refunded"
    refunded = await shop.order(customer, order["id"])
    assert refunded["state"] == "cancelled"
    [refund] = refunded["refunds"]
    assert (refund["amount"]["amount_minor"], refund["state"], refund["clause"]) == (
        order["total"]["amount_minor"], "succeeded", "RS-V.1")
    at_stripe = await shop.stripe.v1.refunds.retrieve_async(refund["stripe_refund_id"])
    assert at_stripe.amount == order["total"]["amount_minor"]


async def test_payment_for_an_order_the_customer_cancelled_is_refunded_RS_IV_5(shop):
    customer = await shop.customer()
    order = await place_at(shop, PLACED, customer)
    intent = await shop.pay_at_stripe(order)
    await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer)

    response = await send_success(shop, intent, created=PLACED)

    assert response.json()["result"] == "refunded"
    assert (await shop.order(customer, order["id"]))["state"] == "cancelled"


async def test_make_task_reads_the_same_test_clock_as_the_server_RS_V_1(shop, settings):
    customer = await shop.customer()
    order = await place_at(shop, PLACED, customer)
    await shop.http.put("/api/v1/test/clock", json={"now": AFTER_DUE})

    done = run_task(settings, "expire-payments")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith(f"cancelled {order['number']} ({order['id']}): not paid by 2026-11-20T10:00:00Z")
    assert lines[-1].startswith("expire-payments as of 2026-11-20T10:00:01Z: 1 orders cancelled")
    assert lines[-1].endswith("; 0 Idempotency-Keys older than 24 hours forgotten")  # the job forgets them
    assert (await shop.order(customer, order["id"]))["state"] == "cancelled"


def test_now_later_than_the_real_clock_is_refused_outside_test(settings):
    env = {**os.environ, "DATABASE_URL": settings.database_url, "SHOP_ENV": "development"}
    done = subprocess.run([sys.executable, "-m", "shop.jobs", "expire-payments", "--now", "2999-01-01T00:00:00Z"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "NOW may not be later than the real clock" in done.stderr


async def test_expired_order_customer_is_told_why_RS_V_1(shop, smtp):
    order = await place_at(shop, PLACED)
    email = shop.last_email
    report = await expire_unpaid_orders(shop.ctx, instant(AFTER_DUE))
    assert len(report.cancelled) == 1
    from shop.services.mail import send_queued_emails

    assert await send_queued_emails(shop.ctx, instant(AFTER_DUE)) >= 1
    message = await smtp.wait_for_async(lambda m: m["To"] == email and "cancelled" in m["Subject"])
    assert message["Subject"] == f"Porudžbina {order['number']} je otkazana / Order {order['number']} cancelled"
    body = message.get_body(("plain",)).get_content()
    assert f"Vaša porudžbina {order['number']} je otkazana: nije plaćena u roku od 2 sata (RS-V.1)" in body
    assert f"Your order {order['number']} was cancelled: it was not paid within 2 hours (RS-V.1)" in body
