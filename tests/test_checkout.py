"""The quote and the order, through the API: every charge before ordering (RS-III.3), the delivery
date in working days (RS-V.5.2), where and how delivery goes (RS-V.2, RS-V.5.1, RS-V.5.3), contact data
(RS-IV.2), the terms accepted (RS-XV), limits and stock (RS-V.5.5, RS-V.5.6), prices kept (RS-V.5.8),
the payment window (RS-V.1) and Idempotency-Key (STOREFRONT-API.md, Conventions)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, String, bindparam, func, select, update

from shop.adapters.stores.interruptions import NOW
from shop.adapters.stores.offers import _FACTS
from shop.adapters.stores.units_ordered import units_ordered_of
from shop.adapters.tables import IdempotencyRecord, Order, OrderLine, Product, table_of
from shop.services.idempotency import KEY_KEPT, forget_old_keys
from tests.support import KZ_ADDRESS, order_body

QUOTE = "/api/v1/checkout/quote"
ORDERS = "/api/v1/orders"
PHONE, PHONE_PRO, TV = "rs-15t-12-256", "rs-15t-pro-12-512", "rs-tv-a-55"
CHARGER, BUDS = "rs-charger-67w", "rs-redmi-buds-6"
KNEZ_MIHAILOVA_STORE = {"street": "Knez Mihailova 21", "city": "Beograd", "postal_code": "11000", "country": "RS"}


# --- helpers ---------------------------------------------------------------------------------------


async def set_clock(shop, now: str) -> None:
    response = await shop.http.put("/api/v1/test/clock", json={"now": now})
    assert response.status_code == 200, response.text


async def rows(shop, table) -> int:
    statement = select(func.count()).select_from(table_of(table))
    return await shop.ctx.db.read(lambda uow: uow.connection.execute(statement).scalar_one())


async def reserved(shop, sku: str) -> int:
    products = table_of(Product)
    statement = select(products.c.reserved).where(products.c.sku == sku)
    return await shop.ctx.db.read(lambda uow: uow.connection.execute(statement).scalar_one())


async def write(shop, *statements) -> None:
    """Change the database as a test's given (in one transaction)."""
    def run(uow):
        for statement in statements:
            uow.connection.execute(statement)
    await shop.ctx.db.transaction(run)


async def set_stock(shop, sku: str, units: int) -> None:
    response = await shop.http.put(f"/api/v1/ops/products/{sku}/stock", json={"in_stock": units},
                                   headers=await shop.ops())
    assert response.status_code == 200, response.text


async def catalogue_prices(shop, market: str = "RS") -> dict[str, int]:
    products = (await shop.http.get("/api/v1/products", params={"market": market})).json()
    return {p["sku"]: p["price"]["amount_minor"] for p in products}


async def quote(shop, body: dict) -> dict:
    response = await shop.http.post(QUOTE, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def with_delivery(body: dict, **delivery) -> dict:
    return {**body, "delivery": {**body["delivery"], **delivery}}


def with_address(body: dict, **address) -> dict:
    return with_delivery(body, address={**body["delivery"]["address"], **address})


def refusal(response, status: int | tuple[int, ...], **members) -> dict:
    """`response` is a problem with one of the `status`es and the given members (code, clause, field)."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {name: body.get(name) for name in members} == members, body
    return body


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the quote (RS-III.3, RS-III.1) ----------------------------------------------------------------


async def test_quote_shows_every_line_the_delivery_charge_vat_and_total_RS_III_3(shop):
    prices = await catalogue_prices(shop)
    body = order_body(lines=[(CHARGER, 2), (BUDS, 1)])

    q = await quote(shop, body)

    assert [(line["sku"], line["quantity"]) for line in q["lines"]] == [(CHARGER, 2), (BUDS, 1)]
    for line in q["lines"]:
        assert line["unit_price"] == {"amount_minor": prices[line["sku"]], "currency": "RSD"}
        assert line["total"]["amount_minor"] == prices[line["sku"]] * line["quantity"]
    items = 2 * prices[CHARGER] + prices[BUDS]
    assert q["items"] == {"amount_minor": items, "currency": "RSD"}
    assert q["delivery_charge"]["currency"] == "RSD" and type(q["delivery_charge"]["amount_minor"]) is int
    assert q["total"] == {"amount_minor": items + q["delivery_charge"]["amount_minor"], "currency": "RSD"}
    # RS-III.1: gross prices; the VAT part at 20 % is a sixth of the total (rounded per line and charge)
    assert abs(q["vat"]["amount_minor"] - q["total"]["amount_minor"] / 6) <= 3
    assert q["vat_rate"] == "0.20"


async def test_a_small_order_shows_its_courier_charge_in_the_total_RS_III_3(shop):
    q = await quote(shop, order_body(lines=[(CHARGER, 1)]))

    assert q["delivery_charge"]["amount_minor"] > 0
    assert q["total"]["amount_minor"] == q["items"]["amount_minor"] + q["delivery_charge"]["amount_minor"]


async def test_quote_reserves_and_stores_nothing_RS_III_3(shop):
    before = await shop.http.get("/api/v1/products", params={"market": "RS"})

    await quote(shop, order_body(lines=[(PHONE, 2), (CHARGER, 5)]))

    assert (await rows(shop, Order), await rows(shop, OrderLine), await rows(shop, IdempotencyRecord)) == (0, 0, 0)
    assert (await reserved(shop, PHONE), await reserved(shop, CHARGER)) == (0, 0)
    assert (await shop.http.get("/api/v1/products", params={"market": "RS"})).json() == before.json()


async def test_order_is_priced_as_quoted_RS_III_3(shop):
    body = order_body(lines=[(PHONE, 1), (CHARGER, 1)])
    q = await quote(shop, body)

    order = await shop.place(await shop.customer(), body)

    assert (order["total"], order["delivery_charge"], order["vat"]) == (q["total"], q["delivery_charge"], q["vat"])
    assert order["expected_delivery_on"] == q["expected_delivery_on"]


# --- the expected delivery date in working days (RS-V.5.2, T-3) ------------------------------------


@pytest.mark.parametrize(("now", "market", "expected"), [
    # Friday 6 Nov 2026, 10:00 in Belgrade: Mon 9, Tue 10, (Wed 11 Armistice Day), Thu 12, Fri 13.
    ("2026-11-06T09:00:00Z", "RS", "2026-11-13"),
    # Thursday 23:30 UTC is already Friday 00:30 in Belgrade: the local date counts (T-5).
    ("2026-11-05T23:30:00Z", "RS", "2026-11-13"),
    # Thursday 5 Nov, 10:00 in Belgrade: Fri 6, Mon 9, Tue 10, (Wed 11), Thu 12.
    ("2026-11-05T09:00:00Z", "RS", "2026-11-12"),
    # Friday 23 Oct 2026, 10:00 in Almaty: (Mon 26 Republic Day observed), Tue 27, Wed 28, Thu 29, Fri 30.
    ("2026-10-23T05:00:00Z", "KZ", "2026-10-30"),
    # The same week in Serbia has no holiday: Mon 26, Tue 27, Wed 28, Thu 29.
    ("2026-10-23T08:00:00Z", "RS", "2026-10-29"),
])
async def test_expected_delivery_counts_working_days_in_the_markets_calendar_RS_V_5_2(shop, now, market, expected):
    await set_clock(shop, now)

    q = await quote(shop, order_body(market, lines=[(f"{market.lower()}-charger-67w", 1)]))

    assert q["expected_delivery_on"] == expected


async def test_the_order_shows_its_expected_delivery_as_a_deadline_RS_V_5_2(shop):
    await set_clock(shop, "2026-11-06T09:00:00Z")

    order = await shop.place(await shop.customer())

    assert order["expected_delivery_on"] == "2026-11-13"
    [expected] = [d for d in order["deadlines"] if d["name"] == "expected_delivery"]
    assert (expected["due_at"], expected["clause"]) == ("2026-11-13T22:59:59Z", "RS-V.5.2")  # 23:59:59 CET


# --- where and how delivery goes (RS-V.2, RS-V.5.1, RS-V.5.3) --------------------------------------


@pytest.mark.parametrize("path", [QUOTE, ORDERS])
async def test_delivery_only_inside_the_markets_country_RS_V_5_1(shop, path):
    customer = await shop.customer()
    for body in (with_address(order_body(), country="HR"), with_delivery(order_body(), address=KZ_ADDRESS)):
        response = await shop.http.post(path, json=body, headers=customer)
        refusal(response, 422, clause="RS-V.5.1", field="delivery.address.country")
    assert await rows(shop, Order) == 0


async def test_a_product_is_delivered_only_by_its_own_methods_RS_V_2(shop):
    body = with_delivery(order_body(lines=[(TV, 1)]), method="store_pickup", store_id="rs-bg-knez")

    quoted = await shop.http.post(QUOTE, json=body)
    ordered = await shop.http.post(ORDERS, json=body, headers=await shop.customer())

    refusal(quoted, 422, clause="RS-V.2", field="delivery.method")
    refusal(ordered, 422, clause="RS-V.2")
    assert (await quote(shop, order_body(lines=[(TV, 1)])))["lines"][0]["sku"] == TV  # by courier it goes


async def test_store_pickup_is_delivered_to_the_stores_address_RS_V_5_3(shop):
    customer = await shop.customer()
    body = with_delivery(order_body(), method="store_pickup", store_id="rs-bg-knez")  # home address sent too

    order = await shop.place(customer, body)

    assert order["delivery"]["address"] == KNEZ_MIHAILOVA_STORE
    assert (await shop.order(customer, order["id"]))["delivery"]["address"] == KNEZ_MIHAILOVA_STORE


@pytest.mark.parametrize("store_id", [None, "rs-nowhere", "kz-ala-dostyk"])
async def test_store_pickup_needs_a_store_of_the_market_RS_V_5_3(shop, store_id):
    body = with_delivery(order_body(), method="store_pickup", store_id=store_id)

    refusal(await shop.http.post(QUOTE, json=body), 422, clause="RS-V.5.3", field="delivery.store_id")


# --- the order's data (RS-IV.2) --------------------------------------------------------------------


@pytest.mark.parametrize("phone", ["12", "not a phone", "+381", "+3816412345678901"])
async def test_invalid_phone_is_refused_naming_delivery_phone_RS_IV_2(shop, phone):
    response = await shop.http.post(QUOTE, json=with_delivery(order_body(), phone=phone))

    refusal(response, (400, 422), field="delivery.phone")


@pytest.mark.parametrize("quantity", [0, -1, 100])
async def test_quantity_out_of_range_is_refused_naming_the_line(shop, quantity):
    response = await shop.http.post(QUOTE, json=order_body(lines=[(CHARGER, 1), (BUDS, quantity)]))

    refusal(response, (400, 422), field="lines[1].quantity")


@pytest.mark.parametrize(("lines", "field"), [
    ([("rs-nothing", 1)], "lines[0].sku"),
    ([("kz-charger-67w", 1)], "lines[0].sku"),  # a product of another market
    ([(CHARGER, 1), (CHARGER, 1), ("rs-nothing", 1)], "lines[2].sku"),  # counted in the request as sent
])
async def test_unknown_sku_is_refused_naming_its_line(shop, lines, field):
    for path, headers in ((QUOTE, {}), (ORDERS, await shop.customer())):
        response = await shop.http.post(path, json=order_body(lines=lines), headers=headers)
        refusal(response, 422, field=field)


# --- the terms accepted (RS-XV) --------------------------------------------------------------------


@pytest.mark.parametrize(("market", "version"), [("RS", "2024-01-01"), ("RS", "2025-09-24"), ("KZ", "2025-12-18")])
async def test_an_order_must_accept_the_terms_in_force_for_its_market_RS_XV(shop, market, version):
    body = order_body(market, lines=[(f"{market.lower()}-charger-67w", 1)], terms_version=version)

    response = await shop.http.post(ORDERS, json=body, headers=await shop.customer())

    refusal(response, (409, 422), clause="RS-XV")
    assert await rows(shop, Order) == 0


@pytest.mark.parametrize(("market", "version"), [("RS", "2025-12-18"), ("KZ", "2025-09-24")])
async def test_the_order_records_the_terms_version_it_accepted_RS_XV(shop, market, version):
    customer = await shop.customer()

    order = await shop.place(customer, order_body(market))

    assert order["terms_version"] == version
    assert (await shop.order(customer, order["id"]))["terms_version"] == version
    orders = table_of(Order)
    stored = select(orders.c.terms_version).where(orders.c.id == order["id"])
    assert await shop.ctx.db.read(lambda uow: uow.connection.execute(stored).scalar_one()) == version


# --- per-customer limits (RS-V.5.5) ----------------------------------------------------------------


async def test_per_customer_limit_counts_every_open_order_RS_V_5_5(shop):
    customer = await shop.customer()
    await shop.place(customer, order_body(lines=[(PHONE, 1)]))
    await shop.place(customer, order_body(lines=[(PHONE, 1)]))

    third = await shop.http.post(ORDERS, json=order_body(lines=[(PHONE, 1)]), headers=customer)

    refusal(third, 409, code="per_customer_limit_exceeded", clause="RS-V.5.5")
    assert await rows(shop, Order) == 2 and await reserved(shop, PHONE) == 2


async def test_per_customer_limit_cannot_be_split_over_lines_RS_V_5_5(shop):
    response = await shop.http.post(ORDERS, json=order_body(lines=[(PHONE, 2), (PHONE, 1)]),
                                    headers=await shop.customer())

    refusal(response, 409, clause="RS-V.5.5")


async def test_per_customer_limit_is_per_product_and_per_customer_RS_V_5_5(shop):
    customer = await shop.customer()
    await shop.place(customer, order_body(lines=[(PHONE, 2)]))

    await shop.place(customer, order_body(lines=[(PHONE_PRO, 2)]))  # another product
    await shop.place(await shop.customer(), order_body(lines=[(PHONE, 2)]))  # another customer

    assert await rows(shop, Order) == 3


async def test_a_cancelled_order_no_longer_counts_towards_the_limit_RS_V_5_5(shop):
    customer = await shop.customer()
    first = await shop.place(customer, order_body(lines=[(PHONE, 2)]))
    cancelled = await shop.http.post(f"{ORDERS}/{first['id']}/cancel", headers=customer)
    assert cancelled.status_code == 200, cancelled.text

    again = await shop.place(customer, order_body(lines=[(PHONE, 2)]))

    assert again["state"] == "awaiting_payment"


async def test_the_count_leaves_out_cancelled_orders_cancelled_lines_and_other_customers_RS_V_5_5(shop):
    customer = await shop.customer()
    kept = await shop.place(customer, order_body(lines=[(PHONE, 1), (PHONE_PRO, 1)]))
    dropped = await shop.place(customer, order_body(lines=[(PHONE, 1)]))
    await shop.place(await shop.customer(), order_body(lines=[(PHONE, 2)]))
    assert (await shop.http.post(f"{ORDERS}/{dropped['id']}/cancel", headers=customer)).status_code == 200
    orders, lines = table_of(Order), table_of(OrderLine)
    await write(shop,  # a line left out of an order kept, as the seller's partial confirmation does (RS-IV.6)
                update(lines).where(lines.c.order_id == kept["id"], lines.c.sku == PHONE_PRO).values(state="cancelled"))
    whose = select(orders.c.customer_id).where(orders.c.id == kept["id"])
    customer_id = await shop.ctx.db.read(lambda uow: uow.connection.execute(whose).scalar_one())

    counted = await shop.ctx.db.read(
        lambda uow: uow.offers.facts([PHONE, PHONE_PRO, TV], customer_id=customer_id, now=uow.now())[0])

    assert {sku: product.ordered for sku, product in counted.items()} == {PHONE: 1, PHONE_PRO: 0, TV: 0}


async def test_the_count_reads_the_index_of_open_lines_alone_not_the_customers_orders_RS_V_5_5(shop):
    """Before, the count went through every order of the customer and looked up its lines, so each
    order cost more the more the customer had ever ordered. SQLite's plan of the statement that reads
    an order's offer: the customer's open lines of the product, from the partial index. PostgreSQL's
    generic plan of the count (one made for any values, as a prepared statement comes to use), with
    sequential scans priced out (on a few rows it would rather read the table): the same index, its
    condition not filtered again; with the state as a bound parameter it read the SKU's lines of the
    order index and filtered them."""
    if shop.ctx.db.sqlite_file is None:
        await _postgresql_plans_the_count_on_the_index_of_open_lines(shop)
        return
    params = {"sku": PHONE, "customer_id": 1, NOW.key: datetime.now(UTC)}

    def plan(uow):  # type: ignore[no-untyped-def]
        state = _FACTS.compile(dialect=uow.connection.dialect).construct_expanded_state(params)  # as fast.py
        args = tuple(str(state.parameters[name]) for name in state.positiontup or ())
        return [row[-1] for row in uow.connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {state.statement}",
                                                                   args).all()]

    steps = await shop.ctx.db.transaction(plan)  # a read runs SELECTs only

    assert "SEARCH order_lines USING COVERING INDEX ix_order_lines_open_units (customer_id=? AND sku=?)" in steps
    assert not any("orders" in step.split(" USING")[0].split() for step in steps), steps


async def _postgresql_plans_the_count_on_the_index_of_open_lines(shop) -> None:  # type: ignore[no-untyped-def]
    count = units_ordered_of(bindparam("customer", type_=Integer), bindparam("sku", type_=String))

    def plan(uow):  # type: ignore[no-untyped-def]
        state = count.compile(dialect=uow.connection.dialect).construct_expanded_state(  # $1, $2, … (asyncpg's)
            {"customer": 1, "sku": PHONE})
        arguments = ", ".join(repr(state.parameters[name]) for name in state.positiontup or ())  # ints, a SKU
        for setting in ("enable_seqscan = off", "enable_bitmapscan = off", "plan_cache_mode = force_generic_plan"):
            uow.connection.exec_driver_sql(f"SET LOCAL {setting}")
        uow.connection.exec_driver_sql(f"PREPARE open_units AS {state.statement}")
        try:
            return [row[0] for row in uow.connection.exec_driver_sql(
                f"EXPLAIN EXECUTE open_units({arguments})").all()]
        finally:
            uow.connection.exec_driver_sql("DEALLOCATE open_units")

    steps = await shop.ctx.db.transaction(plan)

    assert any("Index Only Scan using ix_order_lines_open_units on order_lines" in step for step in steps), steps
    assert not any("Filter" in step for step in steps), steps  # the index's condition is the statement's


# --- stock (RS-V.5.6) ------------------------------------------------------------------------------


async def test_out_of_stock_is_refused_and_nothing_is_half_written_RS_V_5_6(shop):
    await set_stock(shop, CHARGER, 1)

    response = await shop.http.post(ORDERS, json=order_body(lines=[(PHONE, 1), (CHARGER, 2)]),
                                    headers=await shop.customer())

    refusal(response, 409, code="out_of_stock", clause="RS-V.5.6")
    assert (await rows(shop, Order), await rows(shop, OrderLine)) == (0, 0)
    assert (await reserved(shop, PHONE), await reserved(shop, CHARGER)) == (0, 0)


async def test_an_order_losing_the_last_unit_on_its_second_line_keeps_nothing_RS_V_5_6(shop):
    """Two buyers, one free charger: both orders pass the first look at stock; the one that loses it
    while reserving (usually the phone + charger order, whose phone is already held then) keeps
    nothing: its other lines' holds roll back with it."""
    await set_stock(shop, CHARGER, 1)
    small, big = order_body(lines=[(CHARGER, 1)]), order_body(lines=[(PHONE, 1), (CHARGER, 1)])
    buyers = [await shop.customer(), await shop.customer()]

    small_answer, big_answer = await asyncio.gather(*(shop.http.post(ORDERS, json=body, headers=buyer)
                                                      for body, buyer in zip((small, big), buyers)))

    assert sorted([small_answer.status_code, big_answer.status_code]) == [201, 409], big_answer.text
    big_won = big_answer.status_code == 201
    refusal(small_answer if big_won else big_answer, 409, clause="RS-V.5.6")
    assert (await reserved(shop, CHARGER), await reserved(shop, PHONE)) == (1, 1 if big_won else 0)
    assert (await rows(shop, Order), await rows(shop, OrderLine)) == (1, 2 if big_won else 1)


# --- prices kept (RS-V.5.8) ------------------------------------------------------------------------


async def test_order_keeps_its_prices_when_the_catalogue_price_changes_RS_V_5_8(shop):
    customer = await shop.customer()
    order = await shop.place(customer, order_body(lines=[(PHONE, 1), (CHARGER, 1)]))
    products = table_of(Product)
    await write(shop, update(products).where(products.c.sku.in_([PHONE, CHARGER])).values(price_minor=100))

    again = await shop.order(customer, order["id"])

    assert (await catalogue_prices(shop))[PHONE] == 100  # the catalogue did change
    assert [line["unit_price"] for line in again["lines"]] == [line["unit_price"] for line in order["lines"]]
    assert (again["items"], again["total"], again["vat"]) == (order["items"], order["total"], order["vat"])


# --- the payment window (RS-V.1) -------------------------------------------------------------------


async def test_card_order_is_due_exactly_two_hours_after_placing_RS_V_1(shop):
    await set_clock(shop, "2026-03-29T00:30:17Z")  # Belgrade moves its clocks at 01:00 UTC that night
    customer = await shop.customer()

    order = await shop.place(customer)

    assert order["state"] == "awaiting_payment" and order["payment"]["client_secret"]
    assert order["placed_at"] == "2026-03-29T00:30:17Z"
    assert instant(order["payment_due_at"]) - instant(order["placed_at"]) == timedelta(hours=2)
    [due] = [d for d in (await shop.order(customer, order["id"]))["deadlines"] if d["name"] == "payment_due"]
    assert (due["due_at"], due["clause"]) == ("2026-03-29T02:30:17Z", "RS-V.1")


async def test_instalment_order_waits_for_the_provider_without_a_payment_window_RS_V_1(shop):
    customer = await shop.customer()

    order = await shop.place(customer, order_body(payment_method="installments"))

    assert order["state"] == "awaiting_installment_approval"
    assert order.get("payment_due_at") is None and "payment" not in order
    assert "payment_due" not in [d["name"] for d in (await shop.order(customer, order["id"]))["deadlines"]]


# --- Idempotency-Key -------------------------------------------------------------------------------


async def test_same_idempotency_key_and_body_returns_the_first_order(shop):
    customer = {**await shop.customer(), "Idempotency-Key": "checkout-7f3a"}

    first = await shop.http.post(ORDERS, json=order_body(), headers=customer)
    second = await shop.http.post(ORDERS, json=order_body(), headers=customer)

    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert second.json()["id"] == first.json()["id"] and second.json() == first.json()
    assert await rows(shop, Order) == 1 and await reserved(shop, PHONE) == 1


async def test_same_idempotency_key_with_another_body_is_refused(shop):
    customer = {**await shop.customer(), "Idempotency-Key": "checkout-7f3a"}
    first = await shop.http.post(ORDERS, json=order_body(), headers=customer)

    other = await shop.http.post(ORDERS, json=order_body(lines=[(CHARGER, 1)]), headers=customer)

    assert first.status_code == 201, first.text
    refusal(other, (409, 422), code="idempotency_key_reused")
    assert await rows(shop, Order) == 1 and await reserved(shop, CHARGER) == 0


async def test_idempotency_keys_belong_to_their_customer(shop):
    first = await shop.place(await shop.customer(), None, **{"Idempotency-Key": "same"})
    second = await shop.place(await shop.customer(), None, **{"Idempotency-Key": "same"})
    assert first["id"] != second["id"]


async def keyed(shop, headers: dict, key: str, body: dict):
    return await shop.http.post(ORDERS, json=body, headers={**headers, "Idempotency-Key": key})


async def test_a_keyed_order_refused_out_of_stock_keeps_its_refusal_for_the_key_RS_V_5_6(shop):
    """A failed first attempt no longer leaves the key free to create an order (Stripe's semantics):
    once it started, its refusal is the key's answer, even after the stock came back."""
    customer = await shop.customer()
    await set_stock(shop, PHONE, 0)
    first = await keyed(shop, customer, "k-stock", order_body())
    await set_stock(shop, PHONE, 10)

    again = await keyed(shop, customer, "k-stock", order_body())
    other = await keyed(shop, customer, "k-stock", order_body(lines=[(CHARGER, 1)]))

    refusal(first, 409, code="out_of_stock", clause="RS-V.5.6")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["content-type"].startswith("application/problem+json")
    refusal(other, 409, code="idempotency_key_reused")
    assert await rows(shop, Order) == 0 and await reserved(shop, PHONE) == 0


async def test_a_keyed_order_of_an_unknown_product_keeps_its_refusal_and_a_reused_key_is_refused(shop):
    """The key's answer is read with the order's first product (shop.adapters.stores.offers); when no
    such product exists, it is read on its own: the kept refusal, or 409 for another body."""
    customer = await shop.customer()
    unknown = order_body(lines=[("rs-no-such-phone", 1)])
    first = await keyed(shop, customer, "k-unknown", unknown)

    again = await keyed(shop, customer, "k-unknown", unknown)
    other = await keyed(shop, customer, "k-unknown", order_body(lines=[("rs-another-unknown", 1)]))
    known = await keyed(shop, customer, "k-unknown", order_body())

    refusal(first, 422, code="unknown_product")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    refusal(other, 409, code="idempotency_key_reused")
    refusal(known, 409, code="idempotency_key_reused")
    assert await rows(shop, Order) == 0


async def test_a_keyed_order_refused_at_the_per_customer_limit_keeps_its_refusal_RS_V_5_5(shop):
    customer = await shop.customer()
    first_order = await shop.place(customer, order_body(lines=[(PHONE, 2)]))
    over = await keyed(shop, customer, "k-limit", order_body(lines=[(PHONE, 1)]))
    cancelled = await shop.http.post(f"{ORDERS}/{first_order['id']}/cancel", json={}, headers=customer)
    assert cancelled.status_code == 200, cancelled.text

    again = await keyed(shop, customer, "k-limit", order_body(lines=[(PHONE, 1)]))

    refusal(over, 409, code="per_customer_limit_exceeded", clause="RS-V.5.5")
    assert (again.status_code, again.json()) == (over.status_code, over.json())
    assert await rows(shop, Order) == 1


async def test_a_keyed_order_with_wrong_terms_keeps_its_refusal_RS_XV(shop):
    customer = await shop.customer()
    stale = order_body(terms_version="2020-01-01")
    first = await keyed(shop, customer, "k-terms", stale)

    again = await keyed(shop, customer, "k-terms", stale)
    corrected = await keyed(shop, customer, "k-terms", order_body())

    assert first.status_code in (409, 422) and first.json()["clause"] == "RS-XV", first.text
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    refusal(corrected, 409, code="idempotency_key_reused")
    assert await rows(shop, Order) == 0


async def test_a_keyed_order_while_stripe_is_unreachable_leaves_the_key_free_to_retry(shop, monkeypatch):
    """Decided: a 503 is not kept (nothing was ordered; retrying with the same key is the point)."""
    from shop.adapters.stripe_gateway import StripeGateway
    from tests.infra.ports import free_port

    customer = await shop.customer()
    unreachable = StripeGateway(secret_key="sk_test_x", webhook_secret="whsec_x",
                                api_base=f"http://127.0.0.1:{free_port()}", timeout_seconds=1)
    real = shop.ctx.stripe.create_payment_intent
    monkeypatch.setattr(shop.ctx.stripe, "create_payment_intent", unreachable.create_payment_intent)
    try:
        down = await keyed(shop, customer, "k-503", order_body())
    finally:
        await unreachable.aclose()
    monkeypatch.setattr(shop.ctx.stripe, "create_payment_intent", real)

    retried = await keyed(shop, customer, "k-503", order_body())

    refusal(down, 503, code="payment_provider_unavailable")
    assert retried.status_code == 201, retried.text
    assert await rows(shop, Order) == 1 and await rows(shop, IdempotencyRecord) == 1


async def test_a_keyed_order_keeps_its_answer_in_the_transaction_that_writes_it(shop):
    """One transaction for the order and its key's answer (not a second one after it)."""
    from tests.bench.capture import recording
    from tests.test_statement_budget import transactions

    customer = await shop.customer()
    await keyed(shop, customer, "k-warm", order_body(lines=[(CHARGER, 1)]))
    await shop.ctx.background.drain()
    with recording() as statements:
        placed = await keyed(shop, customer, "k-once", order_body())
        await shop.ctx.background.drain()

    assert placed.status_code == 201, placed.text
    [order_tx, email_tx] = transactions(statements)
    assert any("idempotency_records" in statement for statement in order_tx)
    assert not any("idempotency_records" in statement for statement in email_tx)
    records = table_of(IdempotencyRecord)
    kept = select(records).where(records.c.key == "k-once")
    record = await shop.ctx.db.read(lambda uow: uow.connection.execute(kept).one())
    assert (record.status_code, record.body, record.resource_id) == (201, placed.json(), placed.json()["id"])


async def test_two_requests_with_one_key_at_once_create_one_order_and_answer_alike(shop):
    """Decided: both run, the first to commit keeps the key; the other gives up its PaymentIntent
    and answers the key's answer (no 409 `idempotency_key_in_use` to retry)."""
    customer = await shop.customer()

    answers = await asyncio.gather(*(keyed(shop, customer, "k-twins", order_body()) for _ in range(4)))

    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert await rows(shop, Order) == 1 and await reserved(shop, PHONE) == 1


async def test_an_ops_account_cannot_place_a_customer_order(shop):
    """Decided: staff order with a customer account; an ops token on POST /orders is a 403."""
    refused = await shop.http.post(ORDERS, json=order_body(), headers=await shop.ops())

    refusal(refused, 403, code="ops_cannot_order")
    assert await rows(shop, Order) == 0


def test_order_numbers_name_market_and_day_and_do_not_repeat():
    """A 6-hex-digit part repeated within a few thousand orders a day (a 500 in the benchmark);
    100,000 numbers of one day must all differ."""
    from datetime import date

    from shop.domain.checkout import order_number
    from shop.domain.markets import Market

    numbers = {order_number(Market.RS, date(2026, 11, 22)) for _ in range(100_000)}

    assert len(numbers) == 100_000
    assert all(re.fullmatch(r"RS261122-[0-9A-HJKMNP-TV-Z]{12}", number) for number in numbers)


# --- RS-V.5.7: some products are delivered only to some areas; delivery is signed for ----------------

async def test_a_product_delivered_only_to_some_areas_says_so_and_is_refused_elsewhere_RS_V_5_7(shop):
    """The TV is delivered by courier only to Belgrade's and Novi Sad's postal codes (the catalogue
    shows them); an order elsewhere is refused naming the postal code; a phone goes anywhere."""
    customer = await shop.customer()
    catalogue = {item["sku"]: item for item in (await shop.http.get("/api/v1/products", params={"market": "RS"})).json()}
    assert (catalogue["rs-tv-a-55"]["delivery_areas"], catalogue["rs-15t-12-256"]["delivery_areas"]) == (["11", "21"], [])
    nis = {"street": "Obrenovićeva 1", "city": "Niš", "postal_code": "18000", "country": "RS"}

    refused = await shop.http.post("/api/v1/orders", headers=customer, json=order_body(
        lines=[("rs-tv-a-55", 1)], delivery={**order_body()["delivery"], "address": nis}))
    phone = await shop.http.post("/api/v1/orders", headers=customer, json=order_body(
        delivery={**order_body()["delivery"], "address": nis}))
    novi_sad = await shop.http.post("/api/v1/orders", headers=customer, json=order_body(
        lines=[("rs-tv-a-55", 1)], delivery={**order_body()["delivery"], "address": {**nis, "postal_code": "21000"}}))

    assert refused.status_code == 422, refused.text
    assert (refused.json()["code"], refused.json()["clause"], refused.json()["field"]) == (
        "outside_delivery_area", "RS-V.5.7", "delivery.address.postal_code")
    assert phone.status_code == 201 and novi_sad.status_code == 201, (phone.text, novi_sad.text)


async def test_who_signed_for_the_parcel_is_kept_with_the_delivery_RS_V_5_7(shop):
    customer = await shop.customer()
    shipped = await shop.shipped_order(customer, order_body(lines=[("rs-charger-67w", 1)]))
    delivered_at = datetime.now(UTC).isoformat()  # after the shipment, not in the future

    response = await shop.ops_post(f"/orders/{shipped['id']}/deliver",
                                   {"delivered_at": delivered_at, "signed_by": "Ana Anić"})

    assert response.status_code == 200, response.text
    assert response.json()["timeline"][-1]["reason"].endswith(", signed for by Ana Anić")


async def test_keys_are_kept_24_hours_then_forgotten_in_batches_and_a_forgotten_key_starts_anew(shop):
    """As Stripe keeps its own: a key's answer is kept at least 24 hours, then `make expire-payments`
    forgets it (each record holds a whole order's answer: kept for ever, they would only pile up)."""
    await shop.http.put("/api/v1/test/clock", json={"now": "2026-11-10T08:00:00Z"})
    placed_at = datetime(2026, 11, 10, 8, tzinfo=UTC)
    customer = await shop.customer()
    first = [await keyed(shop, customer, f"key-{n}", order_body(lines=[(CHARGER, 1)])) for n in range(3)]

    kept = await forget_old_keys(shop.ctx, placed_at + KEY_KEPT)  # 24 hours to the second: still kept
    replayed = await keyed(shop, customer, "key-0", order_body(lines=[(CHARGER, 1)]))
    forgotten = await forget_old_keys(shop.ctx, placed_at + KEY_KEPT + timedelta(seconds=1), at_once=2)
    anew = await keyed(shop, customer, "key-0", order_body(lines=[(CHARGER, 1)]))

    assert [response.status_code for response in first] == [201] * 3
    assert (kept, replayed.json()["id"]) == (0, first[0].json()["id"])
    assert forgotten == 3 and await rows(shop, IdempotencyRecord) == 1  # anew's own
    assert anew.status_code == 201 and anew.json()["id"] not in {response.json()["id"] for response in first}
