"""Refunds are first-class records backed by the payment ledger (RS-III.4, RS-VII.10): never more
than was paid, a failed one stays visible and staff can send it again without paying twice."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
import re
from datetime import timedelta

from typing import Any

from sqlalchemy import update

from shop.adapters.stripe_gateway import StripeGateway
from shop.adapters.tables import Refund, table_of
from shop.services import orders
from shop.adapters.stores.outbox import LEASE
from shop.services.refunds import open_refund, settle_pending_refunds
from tests.support import run_task
from tests import payment_support
from tests.infra.ports import free_port
from tests.payment_support import paid_minor, refunded_minor



def unreachable_stripe(shop) -> StripeGateway:
    """A real connection failure: Stripe's address points at a closed port on loopback."""
    return StripeGateway(secret_key="sk_test_x", webhook_secret="whsec_x",
                         api_base=f"http://127.0.0.1:{free_port()}")


async def cancel_while_stripe_is_out_of_reach(shop, order: dict) -> None:
    """The customer cancels a paid order; the refund's request to Stripe fails."""
    customer_id = (await shop.ctx.db.read(lambda uow: uow.orders.get(order["id"]))).customer_id
    broken = dataclasses.replace(shop.ctx, stripe=unreachable_stripe(shop))
    try:
        await orders.cancel_by_customer(broken, order["id"], customer_id=customer_id, reason="changed my mind")
    finally:
        await broken.stripe.aclose()


async def ledger(shop, order_id: str) -> list[tuple[str, int | None]]:
    return [(row.kind, row.amount_minor) for row in await payment_support.facts_of(shop, order_id)]


async def set_stripe_refund_id(shop, refund_id: str, stripe_refund_id: str) -> None:
    refunds = table_of(Refund)
    await shop.ctx.db.transaction(lambda uow: uow.connection.execute(
        update(refunds).where(refunds.c.id == refund_id).values(stripe_refund_id=stripe_refund_id)))


async def test_failed_refund_stays_visible_and_staff_retry_pays_once_RS_III_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    total = order["total"]["amount_minor"]
    await cancel_while_stripe_is_out_of_reach(shop, order)

    [failed] = (await shop.order(customer, order["id"]))["refunds"]
    assert failed["state"] == "failed" and failed["failure"]
    assert failed["amount"]["amount_minor"] == total

    response = await shop.ops_post(f"/refunds/{failed['id']}/retry")
    assert response.status_code == 200, response.text
    [refund] = response.json()["refunds"]
    assert refund["state"] == "succeeded"
    at_stripe = await shop.stripe.v1.refunds.retrieve_async(refund["stripe_refund_id"])
    assert (at_stripe.amount, at_stripe.metadata.to_dict()) == (total, {"refund_id": failed["id"], "attempt": "2"})

    again = await shop.ops_post(f"/refunds/{failed['id']}/retry")
    assert (again.status_code, again.json()["code"]) == (409, "refund_not_failed")
    assert [kind for kind, _ in await ledger(shop, order["id"])] == [
        "payment_intent.created", "payment_intent.succeeded", "refund.requested", "refund.failed",
        "refund.requested", "refund.succeeded"]
    assert await paid_minor(shop, order["id"]) == total
    assert await refunded_minor(shop, order["id"]) == total


async def test_second_success_event_for_one_payment_counts_once(shop):
    """Stripe may report one PaymentIntent's success twice, with two event ids."""
    customer = await shop.customer()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)
    for _ in range(2):
        await shop.send_event("payment_intent.succeeded", intent)

    assert await paid_minor(shop, order["id"]) == order["total"]["amount_minor"]
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


# --- refunds whose request, or Stripe's answer to it, was lost ---------------------------------------

async def refund_left_unsent(shop, order_id: str) -> Any:
    """What a process leaves when it stops between committing a refund and asking Stripe for it:
    the refund pending, leased to that process for LEASE, with no Stripe id."""
    return await shop.ctx.db.transaction(lambda uow: open_refund(
        uow, uow.orders.get(order_id), amount_minor=None, reason="the customer withdrew",
        clause="RS-VII.10", now=uow.now()))


async def stripe_refunds_of(shop, order: dict) -> list:
    listed = await shop.stripe.v1.refunds.list_async({"payment_intent": order["payment"]["payment_intent_id"]})
    return list(listed.data)


async def test_a_refund_never_sent_is_sent_once_its_senders_lease_has_passed_RS_VII_10(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    refund = await refund_left_unsent(shop, order["id"])
    now = await shop.ctx.now()

    assert await settle_pending_refunds(shop.ctx, now) == Counter()
    assert await stripe_refunds_of(shop, order) == []  # still the stopped process's to send

    later = now + LEASE + timedelta(seconds=1)
    report, again = await settle_pending_refunds(shop.ctx, later), await settle_pending_refunds(shop.ctx, later)
    assert (report, again) == (Counter(succeeded=1), Counter())
    [made] = await stripe_refunds_of(shop, order)
    [shown] = (await shop.order(customer, order["id"]))["refunds"]
    assert (shown["id"], shown["state"], shown["stripe_refund_id"]) == (refund.id, "succeeded", made.id)
    assert (made.amount, made.metadata.to_dict()) == (order["total"]["amount_minor"], {"refund_id": refund.id,
                                                                                  "attempt": "1"})
    assert [kind for kind, _ in await ledger(shop, order["id"])][-2:] == ["refund.requested", "refund.succeeded"]


async def test_a_refund_stripe_made_but_whose_answer_was_lost_is_not_made_again_RS_VII_10(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    refund = await refund_left_unsent(shop, order["id"])
    lost = await shop.ctx.stripe.refund(  # the request reached Stripe; its answer never came back
        payment_intent_id=order["payment"]["payment_intent_id"], amount_minor=refund.amount_minor,
        idempotency_key=f"refund:{refund.id}:1", refund_id=refund.id, attempt=1)

    report = await settle_pending_refunds(shop.ctx, await shop.ctx.now() + LEASE + timedelta(seconds=1))

    assert report == Counter(succeeded=1)
    assert [each.id for each in await stripe_refunds_of(shop, order)] == [lost.stripe_refund_id]
    [shown] = (await shop.order(customer, order["id"]))["refunds"]
    assert (shown["state"], shown["stripe_refund_id"]) == ("succeeded", lost.stripe_refund_id)


async def test_stripes_event_settles_a_refund_whose_answer_was_lost_RS_VII_10(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    refund = await refund_left_unsent(shop, order["id"])
    intent_id = order["payment"]["payment_intent_id"]
    lost = await shop.ctx.stripe.refund(payment_intent_id=intent_id, amount_minor=refund.amount_minor,
                                        idempotency_key=f"refund:{refund.id}:1", refund_id=refund.id, attempt=1)

    def stripe_refund(attempt: str) -> dict:
        return {"id": lost.stripe_refund_id, "object": "refund", "status": "succeeded", "amount": refund.amount_minor,
                "payment_intent": intent_id, "metadata": {"refund_id": refund.id, "attempt": attempt}}

    await shop.send_event("refund.updated", stripe_refund("7"))  # another attempt's: not this one
    assert (await shop.order(customer, order["id"]))["refunds"][0]["state"] == "pending"

    response = await shop.send_event("refund.updated", stripe_refund("1"))
    assert response.status_code == 200, response.text
    [shown] = (await shop.order(customer, order["id"]))["refunds"]
    assert (shown["state"], shown["stripe_refund_id"]) == ("succeeded", lost.stripe_refund_id)
    assert await refunded_minor(shop, order["id"]) == order["total"]["amount_minor"]
    assert await settle_pending_refunds(shop.ctx, await shop.ctx.now() + 2 * LEASE) == Counter()


async def test_a_refund_stripe_answered_pending_is_asked_about_once_its_lease_has_passed_RS_VII_10(shop):
    """Stripe answered `pending` and the event of its outcome never came: the job asks Stripe."""
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    refund = await refund_left_unsent(shop, order["id"])
    made = await shop.ctx.stripe.refund(
        payment_intent_id=order["payment"]["payment_intent_id"], amount_minor=refund.amount_minor,
        idempotency_key=f"refund:{refund.id}:1", refund_id=refund.id, attempt=1)
    await set_stripe_refund_id(shop, refund.id, made.stripe_refund_id)  # the answer, as if it had said pending
    now = await shop.ctx.now()

    assert await settle_pending_refunds(shop.ctx, now) == Counter()
    assert await settle_pending_refunds(shop.ctx, now + LEASE + timedelta(seconds=1)) == Counter(succeeded=1)

    [shown] = (await shop.order(customer, order["id"]))["refunds"]
    assert (shown["state"], shown["stripe_refund_id"]) == ("succeeded", made.stripe_refund_id)
    assert [each.id for each in await stripe_refunds_of(shop, order)] == [made.stripe_refund_id]


async def test_a_pending_refund_stripe_does_not_know_is_failed_for_staff_RS_VII_10(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    refund = await refund_left_unsent(shop, order["id"])
    await set_stripe_refund_id(shop, refund.id, "re_never_made")

    report = await settle_pending_refunds(shop.ctx, await shop.ctx.now() + LEASE + timedelta(seconds=1))

    assert report == Counter(failed=1)
    [shown] = (await shop.order(customer, order["id"]))["refunds"]
    assert shown["state"] == "failed" and shown["failure"]
    response = await shop.ops_post(f"/refunds/{refund.id}/retry")
    assert response.status_code == 200, response.text
    assert response.json()["refunds"][0]["state"] == "succeeded"
    assert len(await stripe_refunds_of(shop, order)) == 1


async def test_a_staff_retry_takes_the_refund_a_failed_attempt_made_after_all_RS_VII_10(shop):
    """The attempt failed for the shop (no answer) but reached Stripe: the retry pays nothing twice."""
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    await cancel_while_stripe_is_out_of_reach(shop, order)
    [failed] = (await shop.order(customer, order["id"]))["refunds"]
    made = await shop.ctx.stripe.refund(
        payment_intent_id=order["payment"]["payment_intent_id"], amount_minor=failed["amount"]["amount_minor"],
        idempotency_key=f"refund:{failed['id']}:1", refund_id=failed["id"], attempt=1)

    response = await shop.ops_post(f"/refunds/{failed['id']}/retry")

    assert response.status_code == 200, response.text
    [refund] = response.json()["refunds"]
    assert (refund["state"], refund["stripe_refund_id"]) == ("succeeded", made.stripe_refund_id)
    assert [each.id for each in await stripe_refunds_of(shop, order)] == [made.stripe_refund_id]
    assert await refunded_minor(shop, order["id"]) == order["total"]["amount_minor"]


async def test_two_senders_at_once_send_an_owed_refund_once_RS_VII_10(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    await refund_left_unsent(shop, order["id"])
    later = await shop.ctx.now() + LEASE + timedelta(seconds=1)

    reports = await asyncio.gather(settle_pending_refunds(shop.ctx, later), settle_pending_refunds(shop.ctx, later))

    assert sorted(reports, key=len) == [Counter(), Counter(succeeded=1)]
    assert len(await stripe_refunds_of(shop, order)) == 1


async def test_make_expire_payments_sends_the_refunds_owed_RS_VII_10(shop, settings):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    refund = await refund_left_unsent(shop, order["id"])
    later = await shop.ctx.now() + LEASE + timedelta(seconds=1)

    done = run_task(settings, "expire-payments", "--now", f"{later:%Y-%m-%dT%H:%M:%SZ}")

    assert done.returncode == 0, done.stderr
    *lines, summary = done.stdout.strip().splitlines()
    [line] = [line for line in lines if line.startswith(f"refund {refund.id} ")]
    assert re.fullmatch(rf"refund {refund.id} of {order['number']} \({order['id']}\), Stripe's re_\w+: succeeded "
                        r"\[RS-VII\.10\]", line), line
    assert re.search(r"; refunds taken up [1-9]\d*: succeeded [1-9]\d*, still pending 0, failed 0 \(for staff to "
                     r"retry\); ", summary), done.stdout
    [shown] = (await shop.order(customer, order["id"]))["refunds"]
    assert (shown["id"], shown["state"]) == (refund.id, "succeeded")
