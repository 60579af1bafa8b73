"""The customer is told, by e-mail over a real SMTP server on loopback: the order information after
ordering (RS-IV.5), that delivery has started (RS-IV.5), and why an order was cancelled (RS-V.1)."""

from __future__ import annotations

from tests.support import order_body


async def registered(shop) -> tuple[dict, str]:
    headers = await shop.customer()
    return headers, shop.last_email


async def test_order_information_message_after_ordering_RS_IV_5(shop, smtp):
    customer, email = await registered(shop)
    order = await shop.place(customer)

    message = await smtp.wait_for_async(lambda m: m["To"] == email)
    assert message["Subject"] == f"Order {order['number']} received"
    body = message.get_body(("plain",)).get_content()
    assert "cancel it until we tell you that delivery has started (RS-IV.5)" in body
    assert f"{order['total']['amount_minor'] / 100:.2f} RSD" in body


async def test_delivery_started_message_when_shipped_RS_IV_5(shop, smtp):
    customer, email = await registered(shop)
    order = await shop.shipped_order(customer)

    message = await smtp.wait_for_async(lambda m: m["To"] == email and "on its way" in m["Subject"])
    assert "DE123456" in message.get_body(("plain",)).get_content()
    assert order["state"] == "shipped"


async def test_declined_instalments_cancel_and_tell_the_customer_why_RS_V_1(shop, smtp):
    customer, email = await registered(shop)
    order = await shop.place(customer, order_body(payment_method="installments"))

    response = await shop.ops_post(f"/orders/{order['id']}/installment-decision", {"approved": False})

    assert response.json()["state"] == "cancelled"
    message = await smtp.wait_for_async(lambda m: m["To"] == email and "cancelled" in m["Subject"])
    assert "the instalment provider declined the payment (RS-V.1)" in message.get_body(("plain",)).get_content()
