"""Staff's work queues: `GET /ops/orders?state=` lists the orders waiting in a state (for payment,
the instalment decision, confirmation, shipment, delivery), of one market or both, the longest
placed first, a page at a time (the next page in a `Link` header). Without it staff had no way to
find the paid orders they must confirm (RS-IV.6), nor the confirmed ones to ship."""

from __future__ import annotations

from tests.ops_support import set_clock
from tests.support import order_body
from tests.test_accounts import assert_problem
from tests.test_order_list import next_page

QUEUE = "/api/v1/ops/orders"
LATER = "2099-06-01T08:{:02d}:00Z"
"""The test clock's minutes the orders are placed at: a page `after` the first of them holds the
others, as a storefront pages on from where it was."""


async def place_at(shop, customer, minute: int, market: str = "RS", **overrides) -> dict:
    await set_clock(shop, LATER.format(minute))
    return await shop.place(customer, order_body(market, [(f"{market.lower()}-charger-67w", 1)], **overrides))


async def listed(shop, address: str) -> list[list[str]]:
    """The ids of every page from `address` on, following `Link`."""
    staff, pages = await shop.ops(), []
    while address is not None:
        response = await shop.http.get(address, headers=staff)
        assert response.status_code == 200, response.text
        pages.append([order["id"] for order in response.json()])
        address = next_page(response)
    return pages


async def test_staff_list_the_orders_waiting_in_a_state_the_longest_placed_first_page_by_page(shop):
    first, second = await shop.customer(), await shop.customer()
    start = await place_at(shop, first, 0)
    rs = [await place_at(shop, first, 1), await place_at(shop, second, 2), await place_at(shop, first, 2),
          await place_at(shop, second, 3)]
    kz = await place_at(shop, second, 2, "KZ")
    instalments = await place_at(shop, second, 4, payment_method="installments")
    after = f"after={start['id']}"

    both = await listed(shop, f"{QUEUE}?state=awaiting_payment&{after}&limit=2")
    of_rs = await listed(shop, f"{QUEUE}?state=awaiting_payment&market=RS&{after}&limit=2")
    of_kz = await listed(shop, f"{QUEUE}?state=awaiting_payment&market=KZ&{after}")
    approval = await listed(shop, f"{QUEUE}?state=awaiting_installment_approval&{after}")

    oldest_first = sorted(rs + [kz], key=lambda order: (order["placed_at"], order["id"]))
    assert [order_id for page in both for order_id in page] == [order["id"] for order in oldest_first]
    assert [len(page) for page in both] == [2, 2, 1]  # the two of 08:02 on either side of a page's end
    assert [order_id for page in of_rs for order_id in page] == [
        order["id"] for order in oldest_first if order["market"] == "RS"]
    assert of_kz == [[kz["id"]]]
    assert approval == [[instalments["id"]]]


async def test_an_order_moves_from_the_paid_queue_to_the_confirmed_one(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer)

    def holds(pages: list[list[str]]) -> bool:
        return any(order["id"] in page for page in pages)

    assert holds(await listed(shop, f"{QUEUE}?state=paid&limit=100"))
    assert not holds(await listed(shop, f"{QUEUE}?state=confirmed&limit=100"))
    lines = [{"line_id": line["id"], "available": True} for line in order["lines"]]
    assert (await shop.ops_post(f"/orders/{order['id']}/confirm", {"lines": lines})).status_code == 200

    assert not holds(await listed(shop, f"{QUEUE}?state=paid&limit=100"))
    assert holds(await listed(shop, f"{QUEUE}?state=confirmed&limit=100"))


async def test_a_page_goes_on_after_its_last_order_even_when_staff_moved_it_on(shop):
    customer = await shop.customer()
    start = await place_at(shop, customer, 10)
    placed = [await place_at(shop, customer, minute, payment_method="installments") for minute in (11, 12, 13)]
    staff = await shop.ops()
    first_page = await shop.http.get(f"{QUEUE}?state=awaiting_installment_approval&after={start['id']}&limit=1",
                                     headers=staff)
    [shown] = first_page.json()
    decided = await shop.http.post(f"/api/v1/ops/orders/{shown['id']}/installment-decision",
                                   json={"approved": False}, headers=staff)
    assert decided.status_code == 200, decided.text

    rest = await listed(shop, next_page(first_page))

    assert shown["id"] == placed[0]["id"]
    assert [order_id for page in rest for order_id in page] == [order["id"] for order in placed[1:]]


async def test_a_final_state_is_no_work_queue_and_bad_queries_name_their_field(shop):
    staff, customer = await shop.ops(), await shop.customer()

    for state in ("delivered", "cancelled", "withdrawn"):
        assert_problem(await shop.http.get(f"{QUEUE}?state={state}", headers=staff), 422,
                       code="not_a_work_queue", field="state")
    assert_problem(await shop.http.get(f"{QUEUE}?state=paid&after=no-such-order", headers=staff), 422,
                   code="unknown_cursor", field="after")
    for query, field in (("state=lost", "state"), ("", "state"), ("state=paid&market=XX", "market"),
                         ("state=paid&limit=0", "limit"), ("state=paid&limit=101", "limit")):
        assert_problem(await shop.http.get(f"{QUEUE}?{query}", headers=staff), 400, field=field)
    assert_problem(await shop.http.get(f"{QUEUE}?state=paid", headers=customer), 403)
    assert_problem(await shop.http.get(f"{QUEUE}?state=paid"), 401)
