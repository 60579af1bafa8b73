"""Group commit (shop.adapters.group_commit): Stripe's payments, and the storefront's orders, that
arrive together share one transaction, and each is still applied as if it had come alone: a payment
counted once, paid once, flagged or refunded as on its own (RS-V.1); an order with its own answer,
held units and limits (RS-IV.1, RS-V.5.5, RS-V.5.6), and one that does not fit refused alone."""

from __future__ import annotations

import asyncio

from shop.adapters.group_commit import GroupCommit
from shop.services import checkout
from tests import payment_support
from tests.bench.capture import recording
from tests.ops_support import assert_refunded_at_stripe, events, set_stock, stock_of
from tests.support import order_body

# --- the queue itself ----------------------------------------------------------------------------


class Recorder:
    """An `apply` that records its batches and waits for the test to let the first one finish."""

    def __init__(self, *, fails_on: object = None) -> None:
        self.batches: list[list[object]] = []
        self.release = asyncio.Event()
        self.fails_on = fails_on

    async def __call__(self, items: list[object]) -> list[object]:
        self.batches.append(list(items))
        await self.release.wait()
        if self.fails_on in items:
            raise ValueError(f"cannot apply {self.fails_on}")
        return [f"done {item}" for item in items]


async def test_one_request_alone_goes_at_once():
    apply = Recorder()
    apply.release.set()
    assert await GroupCommit().submit("k", apply, 1) == "done 1"
    assert apply.batches == [[1]]


async def test_requests_arriving_during_a_batch_go_together_in_the_next_in_arrival_order():
    group, apply = GroupCommit(), Recorder()
    first = asyncio.create_task(group.submit("k", apply, 1))
    await asyncio.sleep(0.01)  # the first batch is in the database
    later = [asyncio.create_task(group.submit("k", apply, item)) for item in (2, 3, 4)]
    await asyncio.sleep(0.01)
    apply.release.set()
    assert await asyncio.gather(first, *later) == ["done 1", "done 2", "done 3", "done 4"]
    assert apply.batches == [[1], [2, 3, 4]]


async def test_a_batch_holds_at_most_its_limit():
    group, apply = GroupCommit(most=2), Recorder()
    tasks = [asyncio.create_task(group.submit("k", apply, item)) for item in range(5)]
    await asyncio.sleep(0.01)
    apply.release.set()
    await asyncio.gather(*tasks)
    assert apply.batches == [[0, 1], [2, 3], [4]]


async def test_a_kind_of_work_may_ask_for_smaller_batches_than_the_default():
    group, apply = GroupCommit(), Recorder()
    tasks = [asyncio.create_task(group.submit("k", apply, item, most=2)) for item in range(5)]
    await asyncio.sleep(0.01)
    apply.release.set()
    await asyncio.gather(*tasks)
    assert apply.batches == [[0, 1], [2, 3], [4]]


async def test_a_failed_batch_is_run_again_one_at_a_time_and_only_the_bad_item_fails():
    group, apply = GroupCommit(), Recorder(fails_on=2)
    tasks = [asyncio.create_task(group.submit("k", apply, item)) for item in (1, 2, 3)]
    await asyncio.sleep(0.01)
    apply.release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == "done 1" and results[2] == "done 3"
    assert isinstance(results[1], ValueError)
    assert apply.batches == [[1, 2, 3], [1], [2], [3]]


async def test_a_request_that_goes_away_does_not_stop_the_others():
    group, apply = GroupCommit(), Recorder()
    leaving = asyncio.create_task(group.submit("k", apply, 1))
    staying = asyncio.create_task(group.submit("k", apply, 2))
    await asyncio.sleep(0.01)
    leaving.cancel()
    apply.release.set()
    assert await staying == "done 2"
    assert apply.batches == [[1, 2]]  # its work is done anyway: Stripe's retry finds it recorded


async def test_keys_queue_apart():
    group, one, other = GroupCommit(), Recorder(), Recorder()
    tasks = [asyncio.create_task(group.submit("one", one, 1)), asyncio.create_task(group.submit("other", other, 2))]
    await asyncio.sleep(0.01)
    one.release.set()
    other.release.set()
    assert await asyncio.gather(*tasks) == ["done 1", "done 2"]
    assert (one.batches, other.batches) == ([[1]], [[2]])


# --- payments through the webhook, on both databases -------------------------------------------


async def facts_of(shop, order_id: str) -> list[str]:
    return sorted(fact.kind for fact in await payment_support.facts_of(shop, order_id))


async def placed_orders(shop, count: int) -> list[tuple[dict[str, str], dict]]:
    """(the customer's headers, the order): one order a customer."""
    orders = []
    for _ in range(count):
        customer = await shop.customer()
        orders.append((customer, await shop.place(customer)))
    return orders


async def test_payments_arriving_together_share_transactions_and_each_counts_once_RS_V_1(shop):
    orders = await placed_orders(shop, 12)
    intents = [await shop.pay_at_stripe(order) for _, order in orders]
    await shop.ctx.background.drain()  # the orders' e-mails
    # Every payment, three of them delivered twice at once (Stripe delivers at least once).
    sends = [*intents, *intents[:3]]

    with recording() as statements:
        answers = await asyncio.gather(*(shop.send_event("payment_intent.succeeded", intent,
                                                         event_id=f"evt_{intent['id']}") for intent in sends))

    assert [answer.status_code for answer in answers] == [200] * 15
    assert sorted(answer.json()["result"] for answer in answers) == ["duplicate"] * 3 + ["paid"] * 12
    for customer, order in orders:
        after = await shop.order(customer, order["id"])
        assert after["state"] == "paid" and events(after) == ["place", "pay"]
        assert await facts_of(shop, order["id"]) == ["payment_intent.created", "payment_intent.succeeded"]
    assert 1 <= statements.count("BEGIN") < len(sends)  # fewer transactions than events


async def test_in_one_batch_each_payment_is_paid_flagged_refunded_or_a_duplicate_as_alone_RS_V_1(shop):
    (_, awaiting), (short_owner, short), (cancelled_owner, cancelled) = await placed_orders(shop, 3)
    paid, paid_short, paid_cancelled = [await shop.pay_at_stripe(order) for order in (awaiting, short, cancelled)]
    cancel = await shop.http.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=cancelled_owner)
    assert cancel.json()["state"] == "cancelled"
    wrong_amount = {**paid_short, "amount": paid_short["amount"] - 100, "amount_received": paid_short["amount"] - 100}
    await shop.ctx.background.drain()

    answers = await asyncio.gather(*(shop.send_event("payment_intent.succeeded", intent, event_id=event_id)
                                     for intent, event_id in [(paid, "evt_a"), (wrong_amount, "evt_b"),
                                                              (paid_cancelled, "evt_c"), (paid, "evt_a")]))

    assert [answer.json()["result"] for answer in answers] == ["paid", "flagged", "refunded", "duplicate"]
    assert (await shop.order(short_owner, short["id"]))["state"] == "awaiting_payment"  # RS-III.4: not applied
    after = await shop.order(cancelled_owner, cancelled["id"])
    assert after["state"] == "cancelled" and "pay" not in events(after)
    await assert_refunded_at_stripe(shop, after, cancelled["total"]["amount_minor"])  # RS-V.1


# --- orders through the storefront, on both databases -------------------------------------------

PHONE = "rs-15t-12-256"


async def test_orders_arriving_together_share_transactions_and_each_gets_its_own_answer_RS_IV_1(shop):
    await set_stock(shop, PHONE, 1_000)
    customers = [await shop.customer() for _ in range(8)]
    bodies = [order_body(lines=[(PHONE, 1 + i % 2)]) for i in range(8)]
    _, reserved_before = await stock_of(shop, PHONE)

    with recording() as statements:
        answers = await asyncio.gather(*(shop.http.post("/api/v1/orders", json=body, headers=customer)
                                         for customer, body in zip(customers, bodies)))

    assert [answer.status_code for answer in answers] == [201] * 8, [answer.text for answer in answers]
    for customer, body, answer in zip(customers, bodies, answers):
        placed = answer.json()
        assert [line["quantity"] for line in placed["lines"]] == [body["lines"][0]["quantity"]]
        stored = await shop.order(customer, placed["id"])
        assert {key: placed[key] for key in ("number", "lines", "timeline", "total", "payment")} == {
            key: stored[key] for key in ("number", "lines", "timeline", "total", "payment")}
    assert len({answer.json()["number"] for answer in answers}) == 8
    assert (await stock_of(shop, PHONE))[1] == reserved_before + 12  # RS-V.5.6: each unit held once
    writes = [statement for statement in statements if statement.startswith(("INSERT INTO orders", "WITH part_0"))]
    assert 1 <= len(writes) < 8, writes  # fewer write transactions than orders (the e-mails' own not counted)


async def test_orders_go_at_most_ORDERS_AT_ONCE_a_transaction(shop, monkeypatch):
    """A batch holds its row locks, and on SQLite the event loop, for every order in it: orders go
    in batches of at most checkout.ORDERS_AT_ONCE (its docstring has the measurements)."""
    await set_stock(shop, PHONE, 1_000)
    customers = [await shop.customer() for _ in range(12)]
    batches: list[int] = []
    write_orders = checkout.write_orders

    def counted(uow, offers):
        batches.append(len(offers))
        return write_orders(uow, offers)
    monkeypatch.setattr(checkout, "write_orders", counted)

    answers = await asyncio.gather(*(shop.http.post("/api/v1/orders", json=order_body(lines=[(PHONE, 1)]),
                                                    headers=customer) for customer in customers))

    assert [answer.status_code for answer in answers] == [201] * 12
    assert sum(batches) == 12 and max(batches) <= checkout.ORDERS_AT_ONCE < 12
    assert len(batches) < 12, batches  # still together: fewer transactions than orders


async def test_an_order_that_does_not_fit_fails_alone_and_its_batch_is_written_RS_V_5_5_RS_V_5_6(shop):
    _, reserved = await stock_of(shop, PHONE)
    await set_stock(shop, PHONE, reserved + 2)  # two free units
    over_limit = await shop.customer()
    buyers = [await shop.customer() for _ in range(3)]
    sends = [(over_limit, order_body(lines=[(PHONE, 1)]))] * 3 + [
        (buyer, order_body(lines=[(PHONE, 1)])) for buyer in buyers]

    answers = await asyncio.gather(*(shop.http.post("/api/v1/orders", json=body, headers=customer)
                                     for customer, body in sends))

    codes = [answer.status_code for answer in answers]
    assert codes.count(201) == 2, [answer.text for answer in answers]  # the two free units, whoever got them
    refusals = {answer.json()["code"] for answer in answers if answer.status_code == 409}
    assert refusals <= {"out_of_stock", "per_customer_limit_exceeded"} and "out_of_stock" in refusals
    assert codes.count(409) == 4
    assert (await stock_of(shop, PHONE))[1] == reserved + 2
    for customer in {id(c): c for c, _ in sends}.values():
        mine = (await shop.http.get("/api/v1/orders", headers=customer)).json()
        assert sum(line["quantity"] for order in mine for line in order["lines"]) <= 2  # RS-V.5.5


async def test_two_payments_for_one_order_in_one_batch_pay_it_once_RS_V_1(shop):
    (customer, order), = await placed_orders(shop, 1)
    intent = await shop.pay_at_stripe(order)
    second = {**intent, "id": "pi_second_for_the_same_order"}  # another fact, the same order and amount

    answers = await asyncio.gather(*(shop.send_event("payment_intent.succeeded", paid) for paid in (intent, second)))

    assert [answer.json()["result"] for answer in answers] == ["paid", "recorded"]
    after = await shop.order(customer, order["id"])
    assert after["state"] == "paid" and events(after) == ["place", "pay"]
    assert await facts_of(shop, order["id"]) == [
        "payment_intent.created", "payment_intent.succeeded", "payment_intent.succeeded"]
