"""Staff's work queues of withdrawals and service cases, beside the orders' (tests/test_ops_queues.py):
`GET /ops/withdrawals?state=` lists the statements waiting for their return label (RS-VII.7) by the
refund's deadline, which runs from the statement (RS-VII.10), and the goods awaited by their return
deadline (RS-VII.7); `GET /ops/service-cases?state=` the KZ repair cases not closed (KZ-4.5, KZ-4.6,
KZ-4.7), the oldest opened first. A page at a time, the next page in a `Link` header, continuing
after the previous page's last item wherever staff have moved it since. Without them staff had no
way to find the labels to issue before the refund falls due, nor the cases to act on.

Each list is read `after` the test's first item (its marker), as a page continues from the one
before: on the test clock in 2099 for withdrawals, and for service cases within the perks' purchase
window (KZ-4.6: purchases until 25 Sep 2026)."""

from __future__ import annotations

from typing import Any

import msgspec

from shop.domain.perk_exclusions import SCREEN_REPAIR_EXCLUSIONS
from shop.web.responses import QueuedWithdrawalOut
from shop.web.service_case_routes import ServiceCaseOut
from tests.bench.capture import kinds, recording
from tests.ops_support import set_clock
from tests.support import ShopClient, fresh_imeis, order_body
from tests.test_accounts import assert_problem
from tests.test_order_list import next_page

WITHDRAWALS, CASES = "/api/v1/ops/withdrawals", "/api/v1/ops/service-cases"
ORDER_FIELDS = ("order_id", "order_number", "market")
"""What a withdrawal of the queue carries besides its routes' body."""


async def pages(shop: ShopClient, address: str | None) -> list[list[dict[str, Any]]]:
    """Every page from `address` on, following `Link`, each decoded strictly as its document says."""
    staff, found = await shop.ops(), []
    while address is not None:
        response = await shop.http.get(address, headers=staff)
        assert response.status_code == 200, response.text
        item = QueuedWithdrawalOut if address.startswith(WITHDRAWALS) else ServiceCaseOut
        msgspec.json.decode(response.content, type=list[item], strict=True)
        found.append(response.json())
        address = next_page(response)
    return found


async def listed(shop: ShopClient, address: str) -> list[list[str]]:
    """The ids of every page from `address` on."""
    return [[item["id"] for item in page] for page in await pages(shop, address)]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def flat(found: list[list[str]]) -> list[str]:
    return [item for page in found for item in page]


# --- withdrawals: RS-VII.7, RS-VII.10 ---------------------------------------------------------------

RS_LINES = [("rs-charger-67w", 1), ("rs-band-9-set", 1), ("rs-15t-12-256", 1), ("rs-tv-a-55", 1),
            ("rs-15t-pro-12-512", 1)]
SENT = {  # the statements, by staff (RS-VII.3), each for one line, judged by when sent (T-6)
    "marker": ("RS", "rs-charger-67w", "2099-06-01T13:00:00Z"),  # refund due 15 Jun: before all the others
    "first": ("RS", "rs-band-9-set", "2099-06-02T08:00:00Z"),  # 16 Jun
    "same_day_a": ("RS", "rs-15t-12-256", "2099-06-03T08:00:00Z"),  # 17 Jun 23:59:59 in Belgrade
    "same_day_b": ("RS", "rs-tv-a-55", "2099-06-03T09:00:00Z"),  # the same deadline
    "last": ("RS", "rs-15t-pro-12-512", "2099-06-04T08:00:00Z"),  # 18 Jun
    "kz": ("KZ", "kz-charger-67w", "2099-06-03T10:00:00Z"),  # 17 Jun 23:59:59 in Almaty: before Belgrade's
}


async def statements(shop: ShopClient) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """A delivered RS order of five lines and a KZ one of a charger, and a statement of withdrawal
    for each line of SENT, recorded by staff in another order than their deadlines': the withdrawals
    and the orders, by name and by market."""
    await set_clock(shop, "2099-06-01T08:00:00Z")
    customer = await shop.customer()
    shipped = {"RS": await shop.shipped_order(customer, order_body("RS", RS_LINES)),
               "KZ": await shop.shipped_order(customer, order_body("KZ", [("kz-charger-67w", 1)]))}
    await set_clock(shop, "2099-06-01T12:30:00Z")
    orders = {}
    for market, order in shipped.items():
        delivered = await shop.ops_post(f"/orders/{order['id']}/deliver", {"delivered_at": "2099-06-01T12:00:00Z"})
        assert delivered.status_code == 200, delivered.text
        orders[market] = delivered.json()
    await set_clock(shop, "2099-06-05T07:00:00Z")
    made = {}
    for name in ("last", "same_day_b", "marker", "kz", "first", "same_day_a"):
        market, sku, sent_at = SENT[name]
        [line] = [line for line in orders[market]["lines"] if line["sku"] == sku]
        response = await shop.ops_post(f"/orders/{orders[market]['id']}/withdrawals",
                                       {"channel": "email", "sent_at": sent_at, "line_ids": [line["id"]]})
        assert response.status_code == 201, response.text
        made[name] = response.json()
    return made, orders


def by_refund_deadline(made: dict[str, dict[str, Any]], *names: str) -> list[str]:
    return [item["id"] for item in sorted((made[name] for name in names),
                                          key=lambda item: (item["refund_due_by"], item["id"]))]


async def test_statements_wait_for_their_label_the_earliest_refund_deadline_first_RS_VII_7_RS_VII_10(shop):
    made, orders = await statements(shop)
    after = f"after={made['marker']['id']}"

    both = await pages(shop, f"{WITHDRAWALS}?state=requested&{after}&limit=2")
    of_rs = await listed(shop, f"{WITHDRAWALS}?state=requested&market=RS&{after}&limit=2")
    of_kz = await listed(shop, f"{WITHDRAWALS}?state=requested&market=KZ&{after}")

    assert [ids(page) for page in both] == [[made["first"]["id"], made["kz"]["id"]],
                                            by_refund_deadline(made, "same_day_a", "same_day_b"),
                                            [made["last"]["id"]]]
    assert flat(of_rs) == by_refund_deadline(made, "first", "same_day_a", "same_day_b", "last")
    assert [len(page) for page in of_rs] == [2, 2]  # the two due on 17 Jun on either side of a page's end
    assert of_kz == [[made["kz"]["id"]]]
    views = {market: (await shop.http.get(f"/api/v1/ops/orders/{order['id']}", headers=await shop.ops())).json()
             for market, order in orders.items()}
    for item in [item for page in both for item in page]:
        order = views[item["market"]]
        [as_its_order_shows_it] = [w for w in order["withdrawals"] if w["id"] == item["id"]]
        assert {name: value for name, value in item.items() if name not in ORDER_FIELDS} == as_its_order_shows_it
        assert (item["order_id"], item["order_number"]) == (order["id"], order["number"])
        assert item["state"] == "requested"


async def test_a_statement_given_its_return_label_leaves_for_the_goods_awaited_queue_RS_VII_7(shop):
    made, _ = await statements(shop)
    for at, names in (("2099-06-05T07:00:00Z", ("marker",)), ("2099-06-05T08:00:00Z", ("last", "first")),
                      ("2099-06-05T09:00:00Z", ("kz",))):
        await set_clock(shop, at)
        for name in names:
            labelled = await shop.ops_post(f"/withdrawals/{made[name]['id']}/return-label")
            assert labelled.status_code == 200, labelled.text
            made[name] = labelled.json()
    after = f"after={made['marker']['id']}"

    waiting_label = flat(await listed(shop, f"{WITHDRAWALS}?state=requested&{after}"))
    awaited = await pages(shop, f"{WITHDRAWALS}?state=awaiting_return&{after}&limit=1")

    assert waiting_label == by_refund_deadline(made, "same_day_a", "same_day_b")
    by_return_deadline = sorted((made[name] for name in ("last", "first")), key=lambda item: item["id"])
    assert [ids(page) for page in awaited] == [[by_return_deadline[0]["id"]], [by_return_deadline[1]["id"]],
                                               [made["kz"]["id"]]]
    assert by_return_deadline[0]["return_due_by"] == by_return_deadline[1]["return_due_by"] == "2099-06-19T08:00:00Z"
    assert [page[0]["state"] for page in awaited] == ["awaiting_return"] * 3
    assert awaited[-1][0]["return_due_by"] == "2099-06-19T09:00:00Z"
    never_labelled = made["same_day_a"]["id"]  # no place in the goods' order: from another queue
    assert_problem(await shop.http.get(f"{WITHDRAWALS}?state=awaiting_return&after={never_labelled}",
                                       headers=await shop.ops()), 422, code="unknown_cursor", field="after")


async def test_a_page_of_withdrawals_goes_on_after_its_last_even_when_staff_labelled_it_meanwhile_RS_VII_7(shop):
    made, _ = await statements(shop)
    staff = await shop.ops()
    first_page = await shop.http.get(f"{WITHDRAWALS}?state=requested&market=RS&after={made['marker']['id']}"
                                     f"&limit=1", headers=staff)
    [shown] = first_page.json()
    labelled = await shop.ops_post(f"/withdrawals/{shown['id']}/return-label")
    assert labelled.status_code == 200, labelled.text

    rest = await listed(shop, next_page(first_page))

    assert shown["id"] == made["first"]["id"]
    assert next_page(first_page) == (f"{WITHDRAWALS}?state=requested&market=RS&limit=1&after={shown['id']}")
    assert flat(rest) == by_refund_deadline(made, "same_day_a", "same_day_b", "last")


async def test_a_kz_statement_in_the_queue_lists_the_perks_already_redeemed_as_its_routes_do_P_3_RS_VII_10(shop):
    await set_clock(shop, "2025-10-03T05:00:00Z")
    customer = await shop.customer(phone="+77010000003")
    order = await shop.confirmed_order(customer, order_body("KZ", [("kz-15t-12-256", 1)]))
    [imei] = fresh_imeis(1)
    shipped = await shop.ops_post(f"/orders/{order['id']}/ship", {
        "carrier": "Kazpost", "tracking_number": "KP3", "devices": [{"line_id": order["lines"][0]["id"],
                                                                     "imeis": [imei]}]})
    assert shipped.status_code == 200, shipped.text
    await set_clock(shop, "2025-10-04T07:00:00Z")
    assert (await shop.ops_post(f"/orders/{order['id']}/deliver",
                                {"delivered_at": "2025-10-04T06:00:00Z"})).status_code == 200
    case = (await shop.ops_post(f"/devices/{imei}/service-cases", {"kind": "screen_repair", "fault": "cracked"})).json()
    assert (await shop.ops_post(f"/service-cases/{case['id']}/complete")).json()["perk"]["state"] == "redeemed"
    statement = await shop.http.post(f"/api/v1/orders/{order['id']}/withdrawals", json={}, headers=customer)
    assert statement.status_code == 201, statement.text

    [queued] = [item for page in await pages(shop, f"{WITHDRAWALS}?state=requested&market=KZ&limit=100")
                for item in page if item["id"] == statement.json()["id"]]

    assert [perk["code"] for perk in queued["redeemed_perks"]] == ["screen_repair"]
    assert {name: value for name, value in queued.items() if name not in ORDER_FIELDS} == statement.json()
    view = (await shop.http.get(f"/api/v1/ops/orders/{order['id']}", headers=await shop.ops())).json()
    assert view["withdrawals"] == [statement.json()]


# --- service cases: KZ-4.5, KZ-4.6, KZ-4.7 ------------------------------------------------------------

PURCHASED = "2025-10-02T05:00:00Z"  # 10:00 in Almaty: the screen perk runs to 2 Apr 2026 (KZ-4.6)
OPENED = {  # the cases, by name: (device, perk, when opened)
    "marker": (0, "extended_warranty", "2026-02-03T06:00:00Z"),
    "first": (0, "screen_repair", "2026-02-03T07:00:00Z"),
    "together_a": (0, "free_labour_repair", "2026-02-03T08:00:00Z"),
    "together_b": (1, "extended_warranty", "2026-02-03T08:00:00Z"),
    "last": (1, "free_labour_repair", "2026-02-03T09:00:00Z"),
}


async def opened_cases(shop: ShopClient) -> dict[str, dict[str, Any]]:
    """Two 15T of one KZ order, shipped, and the cases of OPENED opened under their perks: by name."""
    await set_clock(shop, PURCHASED)
    customer = await shop.customer(phone="+77010000002")
    order = await shop.confirmed_order(customer, order_body("KZ", [("kz-15t-12-256", 2)]))
    imeis = fresh_imeis(2)
    shipped = await shop.ops_post(f"/orders/{order['id']}/ship", {
        "carrier": "Kazpost", "tracking_number": "KP2", "devices": [{"line_id": order["lines"][0]["id"],
                                                                     "imeis": imeis}]})
    assert shipped.status_code == 200, shipped.text
    cases = {}
    for name, (device, kind, at) in OPENED.items():
        await set_clock(shop, at)
        opened = await shop.ops_post(f"/devices/{imeis[device]}/service-cases", {"kind": kind, "fault": "no sound"})
        assert opened.status_code == 201, opened.text
        cases[name] = opened.json()
    return cases


def by_opening(cases: dict[str, dict[str, Any]], *names: str) -> list[str]:
    return [case["id"] for case in sorted((cases[name] for name in names),
                                          key=lambda case: (case["opened_at"], case["id"]))]


async def test_staff_list_the_service_cases_waiting_the_oldest_opened_first_KZ_4_5_KZ_4_6_KZ_4_7(shop):
    cases = await opened_cases(shop)

    found = await pages(shop, f"{CASES}?state=opened&after={cases['marker']['id']}&limit=2")

    assert [ids(page) for page in found] == [
        [cases["first"]["id"], by_opening(cases, "together_a", "together_b")[0]],
        [by_opening(cases, "together_a", "together_b")[1], cases["last"]["id"]]]  # opened together: a page apart
    staff = await shop.ops()
    for case in [case for page in found for case in page]:
        assert case == (await shop.http.get(f"{CASES}/{case['id']}", headers=staff)).json()


async def test_a_case_moves_from_queue_to_queue_as_staff_estimate_and_the_customer_accepts_KZ_4_7(shop):
    cases = await opened_cases(shop)
    after = f"after={cases['marker']['id']}"
    case = cases["last"]["id"]

    async def queues() -> list[str]:
        return [state for state in ("opened", "estimated", "accepted")
                if case in flat(await listed(shop, f"{CASES}?state={state}&{after}&limit=100"))]

    assert await queues() == ["opened"]
    estimated = await shop.ops_post(f"/service-cases/{case}/estimate",
                                    {"parts_minor": 1_500_000, "logistics_minor": 200_000, "inspection_minor": 300_000})
    assert estimated.status_code == 200, estimated.text
    assert await queues() == ["estimated"]
    assert (await shop.ops_post(f"/service-cases/{case}/accept")).status_code == 200
    assert await queues() == ["accepted"]
    assert (await shop.ops_post(f"/service-cases/{case}/complete")).status_code == 200
    assert await queues() == []  # repaired: closed, in no queue


async def test_a_page_of_cases_goes_on_after_its_last_even_when_staff_refused_it_meanwhile_KZ_4_6(shop):
    cases = await opened_cases(shop)
    staff = await shop.ops()
    first_page = await shop.http.get(f"{CASES}?state=opened&after={cases['marker']['id']}&limit=1", headers=staff)
    [shown] = first_page.json()
    refused = await shop.ops_post(f"/service-cases/{shown['id']}/refuse", {"exclusion": SCREEN_REPAIR_EXCLUSIONS[0]})
    assert refused.status_code == 200, refused.text

    rest = await listed(shop, next_page(first_page))

    assert shown["id"] == cases["first"]["id"]
    assert flat(rest) == by_opening(cases, "together_a", "together_b", "last")


# --- a page's statements ------------------------------------------------------------------------------

async def statements_of(shop: ShopClient, address: str, count: int) -> str:
    """The kinds of statements one page of `count` items costs (the test clock's reads left out)."""
    staff = await shop.ops()
    await shop.http.get(address, headers=staff)  # compiles and caches the statements
    await shop.ctx.background.drain()  # the e-mails earlier steps left to send: not this page's statements
    with recording() as sent:
        response = await shop.http.get(address, headers=staff)
    assert len(response.json()) == count, response.text
    return kinds([statement for statement in sent if "test_clock" not in statement])


async def test_a_page_costs_the_same_statements_whatever_it_holds(shop):
    made, _ = await statements(shop)
    cases = await opened_cases(shop)
    rs = f"{WITHDRAWALS}?state=requested&market=RS&after={made['marker']['id']}"
    opened = f"{CASES}?state=opened&after={cases['marker']['id']}"

    one, four = await statements_of(shop, f"{rs}&limit=1", 1), await statements_of(shop, f"{rs}&limit=4", 4)
    # the account behind the token, the cursor, the page with its orders, the lines; a KZ one's perks
    assert one == four == "SELECT×4"
    assert await statements_of(shop, f"{WITHDRAWALS}?state=requested&after={made['marker']['id']}", 5) == "SELECT×5"
    # the account, the cursor, the page, the perks with their devices and customers (KZ-5.1)
    assert await statements_of(shop, f"{opened}&limit=1", 1) == await statements_of(shop, f"{opened}&limit=3", 3) \
        == "SELECT×4"


# --- what is no queue, and who may read one ----------------------------------------------------------

async def test_a_final_state_is_no_work_queue_and_bad_queries_name_their_field(shop):
    staff, customer = await shop.ops(), await shop.customer()

    for queue, states in ((WITHDRAWALS, ("received", "refunded", "rejected")),
                          (CASES, ("repaired", "refused", "referred", "declined"))):
        for state in states:
            assert_problem(await shop.http.get(f"{queue}?state={state}", headers=staff), 422,
                           code="not_a_work_queue", field="state")
    for address in (f"{WITHDRAWALS}?state=requested", f"{CASES}?state=opened"):
        assert_problem(await shop.http.get(f"{address}&after=no-such-item", headers=staff), 422,
                       code="unknown_cursor", field="after")
        for query, field in (("limit=0", "limit"), ("limit=101", "limit"), (f"after={'x' * 37}", "after")):
            assert_problem(await shop.http.get(f"{address}&{query}", headers=staff), 400, field=field)
        assert_problem(await shop.http.get(address, headers=customer), 403)
        assert_problem(await shop.http.get(address), 401)
    for queue in (WITHDRAWALS, CASES):
        for query in ("state=lost", "", "state=awaiting_payment"):
            assert_problem(await shop.http.get(f"{queue}?{query}", headers=staff), 400, field="state")
    assert_problem(await shop.http.get(f"{WITHDRAWALS}?state=requested&market=XX", headers=staff), 400,
                   field="market")
