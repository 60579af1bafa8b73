"""An order shows what followed its sale, on both databases: its conformity claims (RS-VI), the
complaints that name it (RS-X) and the take-backs of old devices for its lines (RS-V.5.4), each as its
own route answers it, in GET /orders/{id}, GET /orders and staff's GET /ops/orders/{id}; their states
follow their steps. Another customer's order, or an order without any, shows none; a complaint
without an order is on no order. What a page of orders costs the database is counted in
tests/test_statement_budget.py."""

from __future__ import annotations

from typing import Any

import msgspec

from shop.web import responses
from tests.ops_support import set_clock
from tests.support import ShopClient, order_body
from tests.test_complaints import body as complaint_body, staff_body
from tests.test_conformity import claim
from tests.test_withdrawals import CHARGER, PHONE, delivered_order, line_of

API = "/api/v1"
CASES = ("conformity_claims", "complaints", "take_backs")


async def after_sale(shop: ShopClient, customer: dict[str, str], order: dict[str, Any]
                     ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A conformity claim of the order's phone, the repair chosen (RS-VI.1, RS-VI.4), the customer's
    complaint naming the order (RS-X.1) and the take-back of an old phone for it (RS-V.5.4), as their
    routes answered them."""
    claimed = await claim(shop, customer, order, PHONE)
    complained = await shop.http.post(f"{API}/complaints", json=complaint_body(order_id=order["id"]),
                                      headers=customer)
    taken = await shop.http.post(f"{API}/orders/{order['id']}/take-backs", headers=customer, json={
        "line_id": line_of(order, PHONE)["id"], "description": "Redmi Note 9, broken screen",
        "same_type_and_function": True})
    for response in (claimed, complained, taken):
        assert response.status_code == 201, response.text
    return claimed.json(), complained.json(), taken.json()


def strictly(response: Any, struct: Any) -> Any:
    """The body as its document declares it (msgspec, strict, unknown members refused), and as JSON."""
    assert response.status_code == 200, response.text
    msgspec.json.decode(response.content, type=struct, strict=True)
    return response.json()


def listed(orders: list[dict[str, Any]], order_id: str) -> dict[str, Any]:
    [found] = [order for order in orders if order["id"] == order_id]
    return found


async def test_an_order_shows_its_claim_complaints_and_take_back_as_their_routes_do_RS_VI_4_RS_X_1_RS_V_5_4(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")
    by_phone = await shop.ops_post("/complaints", staff_body(  # received by phone the day before (RS-X.1)
        order_id=order["id"], market=None, received_at="2026-10-04T15:00:00Z"))
    claimed, complained, taken = await after_sale(shop, customer, order)

    view = strictly(await shop.http.get(f"{API}/orders/{order['id']}", headers=customer), responses.OrderOut)

    assert view["conformity_claims"] == [
        (await shop.http.get(f"{API}/conformity-claims/{claimed['id']}", headers=customer)).json()]
    assert view["complaints"] == [  # oldest first, by receipt: the phone call came first
        (await shop.http.get(f"{API}/complaints/{made['id']}", headers=customer)).json()
        for made in (by_phone.json(), complained)]
    assert view["take_backs"] == (await shop.http.get(f"{API}/take-backs", headers=customer)).json()
    assert (view["conformity_claims"][0]["state"], view["conformity_claims"][0]["remedy"],
            view["conformity_claims"][0]["line_ids"]) == ("claimed", "repair", [line_of(order, PHONE)["id"]])
    assert [(c["state"], c["channel"], c["answer_due_by"]) for c in view["complaints"]] == [
        ("received", "phone", "2026-10-12T21:59:59Z"), ("received", "web", "2026-10-13T21:59:59Z")]  # RS-X.3
    assert (view["take_backs"][0]["state"], view["take_backs"][0]["line_id"]) == (
        "requested", line_of(order, PHONE)["id"])
    assert [view[kind][0]["id"] for kind in CASES] == [claimed["id"], by_phone.json()["id"], taken["id"]]


async def test_each_case_on_the_order_follows_its_steps_RS_VI_6_RS_X_3_RS_V_5_4(shop):
    customer, order = await delivered_order(shop)
    await set_clock(shop, "2026-10-05T09:00:00Z")
    claimed, complained, taken = await after_sale(shop, customer, order)
    await set_clock(shop, "2026-10-06T10:00:00Z")

    accepted = await shop.ops_post(f"/conformity-claims/{claimed['id']}/accept")  # the repair begins, RS-VI.6
    answered = await shop.ops_post(f"/complaints/{complained['id']}/answer", {"answer": "We will repair it."})
    collected = await shop.ops_post(f"/take-backs/{taken['id']}/collect", {"collected_at": "2026-10-06T09:30:00Z"})
    for response in (accepted, answered, collected):
        assert response.status_code == 200, response.text

    mine = strictly(await shop.http.get(f"{API}/orders", headers=customer), list[responses.OrderOut])
    staff = strictly(await shop.http.get(f"{API}/ops/orders/{order['id']}", headers=await shop.ops()),
                     responses.OpsOrderOut)
    for view in (listed(mine, order["id"]), staff):
        assert view["conformity_claims"] == [accepted.json()]
        assert view["complaints"] == [answered.json()]
        assert view["take_backs"] == [{key: value for key, value in collected.json().items()
                                       if key not in ("customer_id", "closed_by")}]  # the customer's shape
    [claim_now], [complaint_now], [take_back_now] = (staff[kind] for kind in CASES)
    assert (claim_now["state"], claim_now["updated_at"]) == ("remedying", "2026-10-06T10:00:00Z")
    assert (complaint_now["state"], complaint_now["answer"], complaint_now["answered_late"]) == (
        "answered", "We will repair it.", False)
    assert (take_back_now["state"], take_back_now["collected_at"]) == ("collected", "2026-10-06T09:30:00Z")


async def test_another_customers_order_and_an_order_without_any_show_none_of_them_RS_VI_RS_X_RS_V_5_4(shop):
    customer, order = await delivered_order(shop)
    claimed, _, _ = await after_sale(shop, customer, order)
    other_order = await shop.place(customer, order_body(lines=[(CHARGER, 1)]))
    no_order = await shop.http.post(f"{API}/complaints", json=complaint_body(about="service", market="RS"),
                                    headers=customer)
    stranger = await shop.customer()
    theirs = await shop.place(stranger)

    mine = strictly(await shop.http.get(f"{API}/orders", headers=customer), list[responses.OrderOut])
    their_list = strictly(await shop.http.get(f"{API}/orders", headers=stranger), list[responses.OrderOut])
    their_view = strictly(await shop.http.get(f"{API}/orders/{theirs['id']}", headers=stranger), responses.OrderOut)
    peeking = await shop.http.get(f"{API}/orders/{order['id']}", headers=stranger)

    assert no_order.status_code == 201, no_order.text  # RS-X.2: about the service, on no order
    assert [len(listed(mine, order["id"])[kind]) for kind in CASES] == [1, 1, 1]
    assert [listed(mine, other_order["id"])[kind] for kind in CASES] == [[], [], []]
    assert [their_view[kind] for kind in CASES] == [[], [], []]
    assert [[o[kind] for kind in CASES] for o in their_list] == [[[], [], []]]
    assert peeking.status_code == 404 and claimed["id"] not in peeking.text
    assert [theirs[kind] for kind in CASES] == [[], [], []]  # as POST /orders answered: nothing followed yet
