"""The quote and the order (RS-III.3, RS-IV.2, RS-V.1, RS-V.2, RS-V.5.1–V.5.8, RS-XV), and
Idempotency-Key, through the API."""

from __future__ import annotations

from sqlalchemy import func, update
from sqlmodel import select

from shop.adapters.tables import Order, Product
from tests.support import order_body

QUOTE = "/api/v1/checkout/quote"
FRIDAY_MORNING_BELGRADE = "2026-11-06T09:00:00Z"


async def order_count(shop) -> int:
    async with shop.ctx.sessions() as session:
        return (await session.exec(select(func.count()).select_from(Order))).one()


async def product(shop, sku: str) -> Product:
    async with shop.ctx.sessions() as session:
        return await session.get(Product, sku)


async def test_quote_shows_every_charge_and_the_delivery_date_in_working_days_RS_III_3_RS_V_5_2(shop):
    await shop.http.put("/api/v1/test/clock", json={"now": FRIDAY_MORNING_BELGRADE})
    body = order_body(lines=[("rs-charger-67w", 2)])

    quote = (await shop.http.post(QUOTE, json=body)).json()

    assert quote["items"] == {"amount_minor": 2 * 349_900, "currency": "RSD"}
    assert quote["delivery_charge"] == {"amount_minor": 39_000, "currency": "RSD"}  # under the free threshold
    assert quote["total"]["amount_minor"] == 2 * 349_900 + 39_000
    assert quote["vat"]["amount_minor"] == round((2 * 349_900 + 39_000) / 6)  # 20% inside gross prices
    # Mon 9, Tue 10, (Wed 11 Nov is a holiday), Thu 12, Fri 13
    assert quote["expected_delivery_on"] == "2026-11-13"
    assert await order_count(shop) == 0 and (await product(shop, "rs-charger-67w")).reserved == 0


async def test_delivery_only_inside_the_market_RS_V_5_1(shop):
    body = order_body()
    body["delivery"]["address"] = {**body["delivery"]["address"], "country": "HR"}
    response = await shop.http.post(QUOTE, json=body)
    assert (response.status_code, response.json()["clause"], response.json()["field"]) == (
        422, "RS-V.5.1", "delivery.address.country")


async def test_delivery_methods_differ_by_product_RS_V_2(shop):
    body = order_body(lines=[("rs-tv-a-55", 1)])
    body["delivery"] = {**body["delivery"], "method": "store_pickup", "store_id": "rs-bg-knez"}
    response = await shop.http.post(QUOTE, json=body)
    assert (response.status_code, response.json()["clause"]) == (422, "RS-V.2")


async def test_store_pickup_delivers_to_the_store_address_RS_V_5_3(shop):
    body = order_body()
    body["delivery"] = {"method": "store_pickup", "store_id": "rs-bg-knez", "recipient": "Ana Anić",
                        "phone": "+381641234567"}
    order = await shop.place(await shop.customer(), body)
    assert order["delivery"]["address"]["street"] == "Knez Mihailova 21"
    assert order["delivery_charge"]["amount_minor"] == 0


async def test_contact_data_must_be_correct_RS_IV_2(shop):
    body = order_body()
    body["delivery"]["phone"] = "12"
    response = await shop.http.post(QUOTE, json=body)
    assert (response.json()["field"], response.json()["clause"]) == ("delivery.phone", "RS-IV.2")


async def test_bad_lines_are_named(shop):
    unknown = await shop.http.post(QUOTE, json=order_body(lines=[("rs-nothing", 1)]))
    assert (unknown.status_code, unknown.json()["field"]) == (422, "lines[0].sku")
    zero = await shop.http.post(QUOTE, json=order_body(lines=[("rs-charger-67w", 0)]))
    assert zero.json()["field"] == "lines[0].quantity"


async def test_order_must_accept_the_terms_in_force_RS_XV(shop):
    response = await shop.http.post("/api/v1/orders", json=order_body(terms_version="2024-01-01"),
                                    headers=await shop.customer())
    assert (response.status_code, response.json()["clause"]) == (409, "RS-XV")
    order = await shop.place(await shop.customer())
    assert order["terms_version"] == "2025-12-18"


async def test_per_customer_limit_counts_open_orders_RS_V_5_5(shop):
    customer = await shop.customer()
    await shop.place(customer, order_body(lines=[("rs-15t-12-256", 2)]))
    response = await shop.http.post("/api/v1/orders", json=order_body(), headers=customer)
    assert (response.status_code, response.json()["code"], response.json()["clause"]) == (
        409, "per_customer_limit_exceeded", "RS-V.5.5")


async def test_out_of_stock_refuses_and_writes_nothing_RS_V_5_6(shop):
    async with shop.ctx.sessions() as session, session.begin():
        await session.exec(update(Product).where(Product.sku == "rs-charger-67w").values(on_hand=1))
    response = await shop.http.post("/api/v1/orders", json=order_body(lines=[("rs-15t-12-256", 1),
                                                                             ("rs-charger-67w", 2)]),
                                    headers=await shop.customer())
    assert (response.status_code, response.json()["code"], response.json()["clause"]) == (
        409, "out_of_stock", "RS-V.5.6")
    assert await order_count(shop) == 0
    assert (await product(shop, "rs-15t-12-256")).reserved == 0  # the first line's hold rolled back


async def test_order_keeps_its_prices_when_the_catalogue_changes_RS_V_5_8(shop):
    customer = await shop.customer()
    order = await shop.place(customer)
    async with shop.ctx.sessions() as session, session.begin():
        await session.exec(update(Product).where(Product.sku == "rs-15t-12-256").values(price_minor=1))
    again = await shop.order(customer, order["id"])
    assert again["lines"][0]["unit_price"] == order["lines"][0]["unit_price"] == {
        "amount_minor": 8_999_900, "currency": "RSD"}
    assert again["total"] == order["total"]


async def test_card_order_is_due_in_two_hours_instalments_wait_RS_V_1(shop):
    customer = await shop.customer()
    card = await shop.place(customer)
    assert card["state"] == "awaiting_payment" and card["payment"]["client_secret"]
    instalments = await shop.place(customer, order_body(lines=[("rs-charger-67w", 1)], payment_method="installments"))
    assert instalments["state"] == "awaiting_installment_approval"
    assert instalments["payment_due_at"] is None and "payment" not in instalments


async def test_idempotency_key_returns_the_first_answer_and_creates_nothing_new(shop):
    customer = await shop.customer()
    first = await shop.place(customer, None, **{"Idempotency-Key": "k-1"})
    second = await shop.place(customer, None, **{"Idempotency-Key": "k-1"})
    assert second == first
    assert await order_count(shop) == 1
    other = await shop.http.post("/api/v1/orders", json=order_body(lines=[("rs-charger-67w", 1)]),
                                 headers={**customer, "Idempotency-Key": "k-1"})
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")


async def test_idempotency_keys_belong_to_their_customer(shop):
    first = await shop.place(await shop.customer(), None, **{"Idempotency-Key": "same"})
    second = await shop.place(await shop.customer(), None, **{"Idempotency-Key": "same"})
    assert first["id"] != second["id"]
