"""Staff's lists of open complaints (RS-X.3), open conformity claims (RS-VI), requested take-backs
(RS-V.5.4) and undecided notices of illegal content (RS-XIII 12.5), a page at a time as the work
queues are (tests/test_ops_work_queues.py): `limit` items, the next page's address in a `Link`
header, each page continuing after the previous page's last item by the list's own order, wherever
that item is now. Before, each list stopped at 200 items and staff could not see the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from shop.web.after_sale_responses import ComplaintOut, ConformityClaimOut
from shop.web.review_routes import ReviewedNoticeOut
from shop.web.take_back_routes import OpsTakeBackOut
from tests.ops_support import set_clock
from tests.support import ShopClient, order_body
from tests.test_accounts import assert_problem
from tests.test_complaints import staff_body
from tests.test_conformity import claim
from tests.test_order_list import next_page
from tests.test_reviews import notifier, notify, reviewed
from tests.test_take_backs import TWO_PHONES_SKU, iso, line_of, request
from tests.test_withdrawals import BAND, BUDS, CHARGER, PHONE, delivered_order

COMPLAINTS, CLAIMS = "/api/v1/ops/complaints", "/api/v1/ops/conformity-claims"
TAKE_BACKS, NOTICES = "/api/v1/ops/take-backs", "/api/v1/ops/content-notices"
ITEM = {COMPLAINTS: ComplaintOut, CLAIMS: ConformityClaimOut, TAKE_BACKS: OpsTakeBackOut,
        NOTICES: ReviewedNoticeOut}
ORDERED_BY = {COMPLAINTS: "answer_due_by", CLAIMS: "updated_at", TAKE_BACKS: "requested_at",
              NOTICES: "received_at"}
"""Each list's order: this field, then id (as it was before pages)."""


async def pages(shop: ShopClient, route: str, limit: int = 2) -> list[list[dict[str, Any]]]:
    """Every page of `route` with `limit`, following `Link` to the end, each decoded strictly as its
    document says; every page but the last is full, and the last has no `Link`."""
    staff, found, address = await shop.ops(), [], f"{route}?limit={limit}"
    while address is not None:
        response = await shop.http.get(address, headers=staff)
        assert response.status_code == 200, response.text
        msgspec.json.decode(response.content, type=list[ITEM[route]], strict=True)
        found.append(response.json())
        address = next_page(response)
        if address is not None:
            assert address.startswith(f"{route}?") and f"limit={limit}" in address, address
            assert len(found[-1]) == limit
    return found


async def assert_paged_in_order(shop: ShopClient, route: str, expected: set[str]) -> list[list[str]]:
    """The pages of 2 hold `expected`, each once, in the list's order: the one page of 100 (the order
    it always had), by its field then id; the ids by page."""
    paged = await pages(shop, route)
    items = [item for page in paged for item in page]
    [whole] = await pages(shop, route, limit=100)
    ids = [item["id"] for item in items]
    assert ids == [item["id"] for item in whole]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    by = ORDERED_BY[route]
    assert ids == [item["id"] for item in sorted(items, key=lambda item: (item[by], item["id"]))]
    return [[item["id"] for item in page] for page in paged]


# --- each list, page after page ------------------------------------------------------------------------

async def test_open_complaints_come_a_page_at_a_time_the_earliest_due_first_RS_X_3(shop):
    await set_clock(shop, "2026-11-20T12:00:00Z")
    made = {}
    for name, received_at in (("later", "2026-11-20T09:00:00Z"), ("earlier", "2026-11-18T09:00:00Z"),
                              ("same_day_a", "2026-11-19T08:00:00Z"), ("same_day_b", "2026-11-19T10:00:00Z"),
                              ("answered", "2026-11-17T09:00:00Z")):
        response = await shop.ops_post("/complaints", staff_body(received_at=received_at))
        assert response.status_code == 201, response.text
        made[name] = response.json()["id"]
    await shop.ops_post(f"/complaints/{made['answered']}/answer", {"answer": "Done."})

    found = await assert_paged_in_order(shop, COMPLAINTS, {made[name] for name in made if name != "answered"})

    assert [len(page) for page in found] == [2, 2]
    assert found[0][0] == made["earlier"] and found[-1][-1] == made["later"]


async def test_a_page_of_complaints_goes_on_after_its_last_even_when_answered_meanwhile_RS_X_3(shop):
    await set_clock(shop, "2026-11-20T12:00:00Z")
    made = [(await shop.ops_post("/complaints", staff_body(received_at=f"2026-11-{day}T09:00:00Z"))).json()["id"]
            for day in (16, 17, 18, 19)]
    staff = await shop.ops()
    first = await shop.http.get(f"{COMPLAINTS}?limit=2", headers=staff)
    assert [item["id"] for item in first.json()] == made[:2]

    await shop.ops_post(f"/complaints/{made[1]}/answer", {"answer": "Done."})
    rest = await shop.http.get(next_page(first), headers=staff)

    assert [item["id"] for item in rest.json()] == made[2:] and next_page(rest) is None


async def test_open_conformity_claims_come_a_page_at_a_time_the_longest_waiting_first_RS_VI(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1), (BUDS, 1), (BAND, 1)])
    made = {}
    for name, sku, moment in (("rejected", CHARGER, "2026-10-04T09:00:00Z"), ("first", BUDS, "2026-10-05T09:00:00Z"),
                              ("second", PHONE, "2026-10-06T09:00:00Z"), ("third", BAND, "2026-10-07T09:00:00Z")):
        await set_clock(shop, moment)
        response = await claim(shop, customer, order, sku)
        assert response.status_code == 201, response.text
        made[name] = response.json()["id"]
    await shop.ops_post(f"/conformity-claims/{made['rejected']}/reject", {"reason": "accepted at the sale"})

    found = await assert_paged_in_order(shop, CLAIMS, {made["first"], made["second"], made["third"]})

    assert found == [[made["first"], made["second"]], [made["third"]]]


async def test_requested_take_backs_come_a_page_at_a_time_the_oldest_first_RS_V_5_4(shop):
    customer = await shop.customer()
    order = await shop.paid_order(customer, order_body(lines=[(TWO_PHONES_SKU, 2), (PHONE, 2)]))
    start = datetime.now(UTC) + timedelta(hours=1)
    made = []
    for sku, hours in ((TWO_PHONES_SKU, 0), (TWO_PHONES_SKU, 0), (PHONE, 1), (PHONE, 2)):  # two at one instant
        await set_clock(shop, iso(start + timedelta(hours=hours)))
        response = await request(shop, customer, order, line_of(order, sku))
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    await shop.ops_post(f"/take-backs/{made[2]}/refuse", {"reason": "an old laptop, not a phone"})

    found = await assert_paged_in_order(shop, TAKE_BACKS, {made[0], made[1], made[3]})

    assert [len(page) for page in found] == [2, 1] and found[-1] == [made[3]]


async def test_undecided_notices_come_a_page_at_a_time_the_oldest_first_RS_XIII(shop):
    _, _, review = await reviewed(shop)
    made = []
    for moment in ("2027-06-01T08:00:00Z", "2027-06-01T08:00:00Z", "2027-06-01T09:00:00Z",
                   "2027-06-01T10:00:00Z", "2027-06-01T11:00:00Z"):
        await set_clock(shop, moment)
        response = await notify(shop, review["id"], notifier())
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    decided = await shop.ops_post(f"/content-notices/{made[2]}/decide",
                                  {"decision": "keep", "reasons": "An opinion; nothing in it is illegal."})
    assert decided.status_code == 200, decided.text

    found = await assert_paged_in_order(shop, NOTICES, {made[0], made[1], made[3], made[4]})

    assert [len(page) for page in found] == [2, 2] and found[-1] == [made[3], made[4]]


# --- what a page refuses ------------------------------------------------------------------------------

@pytest.mark.parametrize("route", [COMPLAINTS, CLAIMS, TAKE_BACKS, NOTICES])
async def test_a_list_refuses_an_unknown_cursor_and_a_limit_out_of_range(shop, route):
    staff = await shop.ops()

    assert_problem(await shop.http.get(f"{route}?after=no-such-item", headers=staff), 422,
                   code="unknown_cursor", field="after")
    for query, field in (("limit=0", "limit"), ("limit=101", "limit"), (f"after={'x' * 37}", "after")):
        assert_problem(await shop.http.get(f"{route}?{query}", headers=staff), 400, field=field)
    empty = await shop.http.get(route, headers=staff)
    assert (empty.status_code, empty.json(), empty.headers.get("link")) == (200, [], None)
