"""The customer's order list comes a page at a time, newest first, the next page's address in a
`Link` header (RFC 8288): a customer's orders (expired ones included) pile up, and one answer with
all of them, each with its lines, timeline, refunds and invoices, grows without bound."""

from __future__ import annotations

from shop.services.pages import PAGE, PAGE_MOST
from tests.ops_support import set_clock
from tests.support import order_body
from tests.test_accounts import assert_problem

ORDERS = "/api/v1/orders"


def next_page(response) -> str | None:
    """The address of the `Link` header's next page, or None."""
    link = response.headers.get("link")
    if link is None:
        return None
    target, relation = link.split(";")
    assert relation.strip() == 'rel="next"' and target.startswith("<") and target.endswith(">"), link
    return target[1:-1]


async def place_five(shop, customer, minutes: tuple[int, ...] = (0, 1, 2, 2, 3)) -> list[str]:
    """The ids of five orders of one customer (within RS-V.5.5's per-customer limit), placed these
    minutes after 08:00 on the test clock; newest first: by when placed, then by id (the shop's
    order, which the cursor follows)."""
    placed = []
    for minute in minutes:
        await set_clock(shop, f"2026-11-10T08:{minute:02d}:00Z")
        placed.append((minute, (await shop.place(customer, order_body(lines=[("rs-charger-67w", 1)])))["id"]))
    return [order_id for _, order_id in sorted(placed, reverse=True)]


async def test_orders_come_a_page_at_a_time_newest_first_each_once(shop):
    customer = await shop.customer()
    placed = await place_five(shop, customer)  # two at 08:02, on either side of the first page's end

    pages, address = [], f"{ORDERS}?limit=2"
    while address is not None:
        response = await shop.http.get(address, headers=customer)
        assert response.status_code == 200, response.text
        pages.append([order["id"] for order in response.json()])
        address = next_page(response)

    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [order_id for page in pages for order_id in page]
    assert sorted(listed) == sorted(placed)  # each once, none left out
    assert listed == placed


async def test_a_list_that_fits_one_page_has_no_next_page(shop):
    customer = await shop.customer()
    placed = await place_five(shop, customer)

    whole = await shop.http.get(ORDERS, headers=customer)
    exact = await shop.http.get(f"{ORDERS}?limit=5", headers=customer)

    assert (whole.status_code, len(whole.json()), next_page(whole)) == (200, 5, None)
    assert (len(exact.json()), next_page(exact)) == (5, None)
    assert PAGE >= 5 and {order["id"] for order in whole.json()} == set(placed)


async def test_a_page_continues_only_from_an_order_of_ones_own(shop):
    mine, theirs = await shop.customer(), await shop.customer()
    [their_order, *_] = await place_five(shop, theirs)

    for before in (their_order, "no-such-order"):
        assert_problem(await shop.http.get(f"{ORDERS}?before={before}", headers=mine), 422,
                       code="unknown_cursor", field="before")


async def test_a_page_size_out_of_bounds_is_a_400_naming_limit(shop):
    customer = await shop.customer()

    for limit in ("0", str(PAGE_MOST + 1), "x", "9223372036854775808"):
        assert_problem(await shop.http.get(f"{ORDERS}?limit={limit}", headers=customer), 400, field="limit")
    assert_problem(await shop.http.get(f"{ORDERS}?before={'a' * 37}", headers=customer), 400, field="before")
