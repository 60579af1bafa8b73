"""What the hot paths send to the database, counted, not timed (the speed itself is `make bench`'s):
placing a card order, applying its payment (alone, or with others that arrive together), and
expire-payments, whose batches cost the same statements for one expired order as for many (RS-V.1:
its cost follows the expired orders). A change that adds a statement per order (an ORM flush, a
read-back, a query per row) fails here first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from shop.services import checkout
from shop.services.expiry import expire_unpaid_orders
from tests.bench.capture import kinds, recording
from tests.support import order_body
from tests.test_complaints import body as complaint_body
from tests.test_order_after_sale import CASES, after_sale

PLACED = "2026-11-20T08:00:00Z"
AFTER_DUE = datetime(2026, 11, 20, 10, 0, 1, tzinfo=UTC)


INSERTS = "INSERT×5"
"""An order's rows: one INSERT a table (orders, lines, timeline, ledger, outbox) on either database."""


def shop_statements(statements: list[str]) -> str:
    """The summary without the test clock's reads (SHOP_ENV=test only; production reads no clock)."""
    return kinds([statement for statement in statements if "test_clock" not in statement])


def transactions(statements: list[str]) -> list[list[str]]:
    """The statements between each BEGIN and its COMMIT, with both (the test clock's reads left out)."""
    found: list[list[str]] = []
    current: list[str] | None = None
    for statement in statements:
        if statement == "BEGIN":
            current = []
        if current is not None and "test_clock" not in statement:
            current.append(statement)
        if statement == "COMMIT" and current is not None:
            found.append(current)
            current = None
    return found


async def test_placing_a_card_order_reads_twice_then_writes_once_RS_V_1(shop):
    customer = await shop.customer()
    await shop.place(customer)  # the first order compiles and caches the statements
    await shop.ctx.background.drain()
    with recording() as statements:
        await shop.place(customer)
        await shop.ctx.background.drain()  # the e-mail, sent after the answer
    # Read (the product with the customer's earlier units of it and the account behind the token:
    # shop.web.auth.ACCOUNT_READ_BY_USE_CASE), ask Stripe, then one transaction: lock the customer,
    # re-check, order, line, timeline, ledger fact, e-mail (one INSERT each), stock; once answered,
    # the e-mail marked sent.
    assert shop_statements(statements) == (
        f"SELECT, BEGIN, SELECT×2, {INSERTS}, UPDATE, COMMIT, BEGIN, UPDATE, COMMIT")


async def test_a_keyed_order_reads_its_key_with_its_product_and_a_replay_reads_once_RS_V_1(shop):
    customer = await shop.customer()
    await shop.http.post("/api/v1/orders", json=order_body(), headers={**customer, "Idempotency-Key": "warm"})
    await shop.ctx.background.drain()
    keyed = {**customer, "Idempotency-Key": "budget-1"}
    with recording() as statements:
        placed = await shop.http.post("/api/v1/orders", json=order_body(), headers=keyed)
        await shop.ctx.background.drain()
    assert placed.status_code == 201
    # The key's earlier answer comes with the product (shop.adapters.stores.offers): one read, and the
    # key's answer kept with the order (one INSERT more)
    assert shop_statements(statements) == "SELECT, BEGIN, SELECT×2, INSERT×6, UPDATE, COMMIT, BEGIN, UPDATE, COMMIT"
    with recording() as statements:
        replayed = await shop.http.post("/api/v1/orders", json=order_body(), headers=keyed)
    assert (replayed.status_code, replayed.json()) == (201, placed.json())
    assert shop_statements(statements) == "SELECT"


async def test_orders_arriving_together_are_written_by_the_statements_of_one_RS_V_5_5_RS_V_5_6(shop, monkeypatch):
    customers = [await shop.customer() for _ in range(8)]
    await shop.place(customers[0])  # compiles and caches the statements
    await shop.ctx.background.drain()
    monkeypatch.setattr(shop.ctx.db.group_commit, "at_once", 1)  # one write transaction at a time: their statements apart
    # The first orders' e-mails would be marked sent (BEGIN, UPDATE, COMMIT on another connection) while
    # later batches are written, their statements interleaved with a batch's: they stay queued here.
    monkeypatch.setattr(checkout, "send_after_answer", lambda ctx, emails: None)
    with recording() as statements:
        answers = await asyncio.gather(*(shop.http.post("/api/v1/orders", json=order_body(), headers=customer)
                                         for customer in customers))
    assert [answer.status_code for answer in answers] == [201] * 8
    reads_before = "SELECT products."  # each order's own, outside the transaction (its product and the
    # account behind its token), on connections of their own
    writes = [kinds(transaction) for transaction in transactions(
        [statement for statement in statements if not statement.startswith(reads_before)])
              if any(statement.startswith("INSERT INTO orders") for statement in transaction)]
    # Customers locked, their units recounted; orders, lines, timeline, ledger facts, e-mails; stock:
    # one statement each, however many orders share the transaction.
    assert 1 <= len(writes) < 8
    assert set(writes) == {f"BEGIN, SELECT×2, {INSERTS}, UPDATE, COMMIT"}


async def test_applying_a_payment_is_one_transaction_of_four_statements_RS_V_1(shop):
    customer = await shop.customer()
    await shop.paid_order(customer)  # warms the statement caches
    await shop.ctx.background.drain()
    order = await shop.place(customer)
    intent = await shop.pay_at_stripe(order)
    await shop.ctx.background.drain()  # the order's e-mail, sent after its answer
    with recording() as statements:
        answer = await shop.send_event("payment_intent.succeeded", intent)
    assert answer.json()["result"] == "paid"
    # The order locked, the fact (unless the ledger holds it), the state, the timeline entry.
    assert shop_statements(statements) == "BEGIN, SELECT, INSERT, UPDATE, INSERT, COMMIT"


async def test_payments_arriving_together_cost_the_statements_of_one_RS_V_1(shop):
    paid = []
    for _ in range(8):
        customer = await shop.customer()
        paid.append(await shop.pay_at_stripe(await shop.place(customer)))
    await shop.ctx.background.drain()
    with recording() as statements:
        answers = await asyncio.gather(*(shop.send_event("payment_intent.succeeded", intent) for intent in paid))
    assert [answer.json()["result"] for answer in answers] == ["paid"] * 8
    # Group commit (shop.adapters.group_commit): the eight orders locked in one statement, their
    # facts in one, their states and timeline entries each sent once for all.
    assert shop_statements(statements) == "BEGIN, SELECT, INSERT, UPDATE, INSERT, COMMIT"


async def place_unpaid(shop, customers: int, each: int) -> None:
    await shop.http.put("/api/v1/test/clock", json={"now": PLACED})
    for _ in range(customers):
        customer = await shop.customer()
        for _ in range(each):
            await shop.place(customer, order_body())


async def expiry_statements(shop) -> list[str]:
    await shop.ctx.background.drain()  # the orders' e-mails, sent after their answers
    with recording() as statements:  # one batch at a time, in a row
        report = await expire_unpaid_orders(shop.ctx, AFTER_DUE, workers=1)
    assert report.cancelled
    return statements


async def test_an_expiry_batch_costs_the_same_statements_for_one_order_or_many_RS_V_1(shop):
    await place_unpaid(shop, customers=1, each=1)
    one = await expiry_statements(shop)
    await place_unpaid(shop, customers=6, each=2)  # two each: the per-customer limit (RS-V.5.5)
    twelve = await expiry_statements(shop)
    # Claim, timeline, units held, the lines cancelled, e-mails, Stripe commands, release per product;
    # then an empty claim.
    assert shop_statements(one) == shop_statements(twelve) == (
        "BEGIN, UPDATE, INSERT, SELECT, UPDATE, INSERT×2, UPDATE, COMMIT, BEGIN, UPDATE, COMMIT")


async def test_the_order_list_costs_the_same_statements_for_one_order_or_many(shop):
    """A page of orders is read in nine statements (the orders, then their lines, timelines, refunds,
    withdrawals, invoices, conformity claims, complaints and take-backs, each for all of them), not
    eight more for each order, nor one more for each claim (RS-VI), complaint (RS-X) or take-back
    (RS-V.5.4) they have."""
    customer = await shop.customer()
    first = await shop.place(customer)
    await shop.ctx.background.drain()

    async def listed() -> list[str]:
        with recording() as statements:
            response = await shop.http.get("/api/v1/orders", headers=customer)
        assert response.status_code == 200
        return [statement for statement in statements if "order" in statement or "refunds" in statement]

    one = await listed()
    shipped = await shop.shipped_order(customer)
    delivered = await shop.ops_post(f"/orders/{shipped['id']}/deliver", {"delivered_at": datetime.now(UTC).isoformat()})
    await after_sale(shop, customer, delivered.json())
    await shop.http.post("/api/v1/complaints", json=complaint_body(order_id=first["id"]), headers=customer)
    await shop.ctx.background.drain()
    two = await listed()
    orders = (await shop.http.get("/api/v1/orders", headers=customer)).json()
    assert [[len(order[kind]) for kind in CASES] for order in orders] == [[1, 1, 1], [0, 1, 0]]
    assert shop_statements(one) == shop_statements(two) == "SELECT×9"


async def test_an_orders_own_page_reads_each_piece_by_its_id_in_nine_statements(shop):
    """GET /orders/{id}, the storefront's most frequent read (polled while a payment goes through):
    the order, then its lines, timeline, refunds, withdrawals, invoices, conformity claims,
    complaints and take-backs, each by `order_id = ?` (shop.adapters.stores.OfIds: compiled once,
    run on the driver), not by an `IN (…)` SQLAlchemy expands again on every call (1.1-1.6 ms of
    server CPU a read against 0.5, tests.bench measured)."""
    customer = await shop.customer()
    order = await shop.place(customer)
    await shop.ctx.background.drain()

    with recording() as statements:
        response = await shop.http.get(f"/api/v1/orders/{order['id']}", headers=customer)

    assert response.status_code == 200
    read = [statement for statement in statements if "order" in statement or "refunds" in statement]
    assert shop_statements(read) == "SELECT×9"
    assert not [statement for statement in read if " IN (" in statement], read
