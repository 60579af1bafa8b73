

async def test_card_order_reaches_paid(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    assert order["state"] == "paid"
