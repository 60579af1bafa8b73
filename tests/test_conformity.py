"""The legal guarantee of conformity (RS-VI): the rules on their own, then through the API on both
databases: the claim within 2 years of delivery, staff's decision on the remedy, the price reduction
or withdrawal that may follow, and their refunds through Stripe (localstripe on loopback)."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from shop.adapters.tables import TimelineEntry, table_of
from shop.domain.conformity import CONFORMITY_CLAIM, ClaimState, check_claim, check_reduction
from shop.domain.errors import Conflict, InvalidInput, TransitionRefused
from shop.domain.markets import Market
from tests.ops_support import set_clock, stripe_refund
from tests.test_order_messages import outbox_rows, words
from tests.test_withdrawals import CHARGER, DELIVERED_AT, PHONE, delivered_order, line_of, withdraw


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def line(line_id: int, state: str = "confirmed", price: int = 10_000, quantity: int = 1) -> SimpleNamespace:
    return SimpleNamespace(id=line_id, state=state, unit_price_minor=price, quantity=quantity, sku=f"sku-{line_id}",
                           price_corrected_minor=0)


# --- the rules ------------------------------------------------------------------------------------------

def test_a_claim_is_for_delivered_lines_within_2_years_of_delivery_RS_VI_1_T_2():
    lines = [line(1), line(2), line(3, state="withdrawn")]
    claim = dict(delivered_at=at(DELIVERED_AT), market=Market.RS, lines=lines, held=set())
    # 2 years from 1 Oct 2026 end on 1 Oct 2028, a Sunday: rolled to the end of Monday 2 Oct, Belgrade time
    assert [x.id for x in check_claim(claimed_at=at("2028-10-02T21:59:59Z"), line_ids=[2, 1], **claim)] == [1, 2]
    with pytest.raises(Conflict) as late:
        check_claim(claimed_at=at("2028-10-02T22:00:00Z"), line_ids=[1], **claim)
    with pytest.raises(Conflict) as undelivered:
        check_claim(**{**claim, "delivered_at": None}, claimed_at=at(DELIVERED_AT), line_ids=[1])
    with pytest.raises(Conflict) as withdrawn:
        check_claim(claimed_at=at(DELIVERED_AT), line_ids=[3], **claim)
    with pytest.raises(Conflict) as held:
        check_claim(**{**claim, "held": {1}}, claimed_at=at(DELIVERED_AT), line_ids=[1, 2])
    with pytest.raises(InvalidInput) as unknown:
        check_claim(claimed_at=at(DELIVERED_AT), line_ids=[9], **claim)
    assert [(e.value.code, e.value.clause) for e in (late, undelivered, withdrawn, held)] == [
        ("guarantee_expired", "RS-VI.1"), ("order_not_delivered", "RS-VI.1"), ("line_not_claimable", "RS-VI.1"),
        ("line_already_claimed", "RS-VI.1")]
    assert unknown.value.field == "line_ids"


def test_a_reduction_is_more_than_nothing_and_at_most_the_lines_price_RS_VI_8():
    lines = [line(1, price=10_000, quantity=2), line(2, price=5_000)]
    check_reduction(1, lines)
    check_reduction(25_000, lines)
    for amount in (0, 25_001):
        with pytest.raises(InvalidInput) as refused:
            check_reduction(amount, lines)
        assert (refused.value.clause, refused.value.field) == ("RS-VI.8", "amount_minor")


@pytest.mark.parametrize(("state", "event"), [
    (ClaimState.CLAIMED, "ask_reduction"),  # the remedy chosen comes first (RS-VI.4, RS-VI.7)
    (ClaimState.REMEDIED, "withdraw"),
    (ClaimState.REJECTED, "accept"),
    (ClaimState.REDUCED, "grant_reduction"),
])
def test_the_customer_turns_to_a_reduction_or_withdrawal_only_once_the_remedy_failed_or_was_refused(state, event):
    with pytest.raises(TransitionRefused):
        CONFORMITY_CLAIM.fire(state, event)
    assert CONFORMITY_CLAIM.fire(ClaimState.REMEDY_REFUSED, "ask_reduction").clause == "RS-VI.7"
    assert CONFORMITY_CLAIM.fire(ClaimState.REMEDYING, "withdraw").to_state == ClaimState.WITHDRAWAL_REQUESTED


# --- through the API ------------------------------------------------------------------------------------

async def claim(shop, customer, order, *skus, remedy="repair", **headers):
    return await shop.http.post(f"/api/v1/orders/{order['id']}/conformity-claims",
                                json={"line_ids": [line_of(order, sku)["id"] for sku in skus],
                                      "defect": "The screen shows green lines after a week.", "remedy": remedy},
                                headers={**customer, **headers})


def problem(response) -> tuple[int, str, str | None]:
    body = response.json()
    return response.status_code, body["code"], body.get("clause")


async def timeline(shop, order_id: str) -> list[tuple[str, str, str]]:
    entries = table_of(TimelineEntry)
    rows = await shop.ctx.db.read(lambda uow: list(uow.connection.execute(
        select(entries).where(entries.c.order_id == order_id, entries.c.machine == "conformity claim")
        .order_by(entries.c.id))))
    return [(row.event, row.to_state, row.clause) for row in rows]


async def test_a_claim_repaired_at_the_sellers_cost_RS_VI_1_RS_VI_4_RS_VI_6(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2027-03-01T09:00:00Z")

    made = await claim(shop, customer, order, PHONE)
    assert made.status_code == 201, made.text
    claimed = made.json()
    accepted = await shop.ops_post(f"/conformity-claims/{claimed['id']}/accept")
    done = await shop.ops_post(f"/conformity-claims/{claimed['id']}/complete", {"note": "display replaced"})
    again = await shop.ops_post(f"/conformity-claims/{claimed['id']}/accept")

    assert (claimed["state"], claimed["remedy"], claimed["line_ids"], claimed["claimed_at"]) == (
        "claimed", "repair", [line_of(order, PHONE)["id"]], "2027-03-01T09:00:00Z")
    assert (accepted.json()["state"], done.json()["state"]) == ("remedying", "remedied")
    assert problem(again) == (409, "accept_not_allowed", "RS-VI.6")
    assert await timeline(shop, order["id"]) == [("claim", "claimed", "RS-VI.1"), ("accept", "remedying", "RS-VI.6"),
                                                 ("complete", "remedied", "RS-VI.6")]
    mine = (await shop.http.get("/api/v1/conformity-claims", headers=customer)).json()
    assert [(c["id"], c["state"]) for c in mine] == [(claimed["id"], "remedied")]
    view = await shop.order(customer, order["id"])
    assert view["refunds"] == [] and line_of(view, PHONE)["state"] == "confirmed"


async def test_no_claim_for_goods_not_delivered_or_after_2_years_RS_VI_1(shop):
    customer = await shop.customer()
    shipped = await shop.shipped_order(customer)
    refused = await claim(shop, customer, shipped, shipped["lines"][0]["sku"])
    assert problem(refused) == (409, "order_not_delivered", "RS-VI.1")

    customer, order = await delivered_order(shop)
    await set_clock(shop, "2028-10-02T22:00:00Z")  # 3 Oct 2028, 00:00 in Belgrade
    late = await claim(shop, customer, order, PHONE)
    await set_clock(shop, "2028-10-02T21:59:00Z")
    last_minute = await claim(shop, customer, order, PHONE)

    assert problem(late) == (409, "guarantee_expired", "RS-VI.1")
    assert last_minute.status_code == 201, last_minute.text


async def test_a_line_is_in_one_open_claim_and_free_again_once_rejected_RS_VI_3(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    first = (await claim(shop, customer, order, PHONE)).json()

    twice = await claim(shop, customer, order, PHONE, CHARGER)
    blank = await shop.ops_post(f"/conformity-claims/{first['id']}/reject", {"reason": "  "})
    rejected = await shop.ops_post(f"/conformity-claims/{first['id']}/reject",
                                   {"reason": "the dead pixel was shown and accepted in writing at the sale"})
    again = await claim(shop, customer, order, PHONE)

    assert problem(twice) == (409, "line_already_claimed", "RS-VI.1")
    assert blank.status_code == 422 and blank.json()["field"] == "reason"
    assert (rejected.json()["state"], rejected.json()["reason"]) == (
        "rejected", "the dead pixel was shown and accepted in writing at the sale")
    assert again.status_code == 201, again.text


async def test_a_refused_remedy_then_a_proportional_reduction_refunded_RS_VI_5_RS_VI_7_RS_VI_8(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1)])
    made = (await claim(shop, customer, order, PHONE, remedy="replacement")).json()
    await set_clock(shop, "2026-11-02T09:00:00Z")
    refused = await shop.ops_post(f"/conformity-claims/{made['id']}/refuse-remedy",
                                  {"reason": "the model is discontinued and the part is not made any more"})
    asked = await shop.http.post(f"/api/v1/conformity-claims/{made['id']}/price-reduction", headers=customer)
    price = line_of(order, PHONE)["unit_price"]["amount_minor"]
    await set_clock(shop, "2026-11-06T09:00:00Z")

    too_much = await shop.ops_post(f"/conformity-claims/{made['id']}/grant-reduction", {"amount_minor": price + 1})
    granted = await shop.ops_post(f"/conformity-claims/{made['id']}/grant-reduction",
                                  {"amount_minor": price // 10, "note": "10 % for a faint line on the screen"})

    assert (refused.json()["state"], asked.json()["state"]) == ("remedy_refused", "reduction_requested")
    assert asked.json()["statement_at"] == "2026-11-02T09:00:00Z"
    assert (too_much.status_code, too_much.json()["clause"]) == (422, "RS-VI.8")
    body = granted.json()
    assert (body["state"], body["reduction"]["amount_minor"]) == ("reduced", price // 10)
    view = await shop.order(customer, order["id"])
    [refund] = view["refunds"]
    assert (refund["id"], refund["amount"]["amount_minor"], refund["clause"], refund["state"]) == (
        body["refund_id"], price // 10, "RS-VI.8", "succeeded")
    assert refund["due_by"] == "2026-11-16T22:59:59Z"  # 14 days from the customer's statement, Belgrade time
    assert (await stripe_refund(shop, refund)).amount == price // 10
    [_, note] = view["invoices"]  # the refund after the invoice corrects it (RS-IV.10)
    assert (note["kind"], note["total"]["amount_minor"], refund["corrected_invoice"]["number"]) == (
        "credit_note", price // 10, note["number"])


async def test_a_withdrawal_for_non_conformity_refunds_the_lines_once_the_goods_are_back_RS_VI_7_RS_VI_10(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    made = (await claim(shop, customer, order, CHARGER)).json()
    await shop.ops_post(f"/conformity-claims/{made['id']}/accept")
    await set_clock(shop, "2026-10-20T09:00:00Z")  # the repair did not come in reasonable time
    withdrawn = await shop.http.post(f"/api/v1/conformity-claims/{made['id']}/withdrawal", headers=customer)
    view = await shop.order(customer, order["id"])
    statement_again = await withdraw(shop, customer, order, CHARGER)  # RS-VII: the line is withdrawn already
    await set_clock(shop, "2026-10-23T09:00:00Z")

    received = await shop.ops_post(f"/conformity-claims/{made['id']}/receive-return", {"note": "charger back"})

    assert withdrawn.json()["state"] == "withdrawal_requested"
    assert line_of(view, CHARGER)["state"] == "withdrawn"
    assert statement_again.status_code == 409
    assert (received.json()["state"], received.json()["goods_back_at"]) == ("withdrawn", "2026-10-23T09:00:00Z")
    view = await shop.order(customer, order["id"])
    [refund] = view["refunds"]
    assert (refund["amount"], refund["clause"], refund["state"]) == (
        line_of(view, CHARGER)["unit_price"], "RS-VI.10", "succeeded")
    assert refund["due_by"] == "2026-11-06T22:59:59Z"  # 14 days from the goods' receipt
    assert view["state"] == "delivered"  # the phone is kept
    assert await timeline(shop, order["id"]) == [
        ("claim", "claimed", "RS-VI.1"), ("accept", "remedying", "RS-VI.6"),
        ("withdraw", "withdrawal_requested", "RS-VI.7"), ("receive_return", "withdrawn", "RS-VI.10")]


async def test_a_minor_lack_of_conformity_refuses_the_withdrawal_and_keeps_the_lines_RS_VI_9(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1)])
    made = (await claim(shop, customer, order, PHONE)).json()
    await shop.ops_post(f"/conformity-claims/{made['id']}/refuse-remedy", {"reason": "no repair possible"})
    await shop.http.post(f"/api/v1/conformity-claims/{made['id']}/withdrawal", headers=customer)

    refused = await shop.ops_post(f"/conformity-claims/{made['id']}/refuse-withdrawal",
                                  {"reason": "a scratch on the frame, 1 mm: minor"})
    asked = await shop.http.post(f"/api/v1/conformity-claims/{made['id']}/price-reduction", headers=customer)

    assert (refused.json()["state"], refused.json()["reason"]) == ("remedy_refused", "a scratch on the frame, 1 mm: minor")
    assert line_of(await shop.order(customer, order["id"]), PHONE)["state"] == "confirmed"
    assert asked.json()["state"] == "reduction_requested"


async def test_the_same_key_answers_the_same_claim_and_strangers_and_customers_are_kept_out(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1)])
    first = await claim(shop, customer, order, PHONE, **{"Idempotency-Key": "claim-1"})
    again = await claim(shop, customer, order, PHONE, **{"Idempotency-Key": "claim-1"})
    stranger = await shop.customer()

    assert (first.status_code, again.status_code, again.json()) == (201, 201, first.json())
    made = first.json()
    assert (await shop.http.get(f"/api/v1/conformity-claims/{made['id']}", headers=stranger)).status_code == 404
    assert (await shop.http.post(f"/api/v1/conformity-claims/{made['id']}/withdrawal",
                                 headers=stranger)).status_code == 404
    assert (await shop.http.post(f"/api/v1/ops/conformity-claims/{made['id']}/accept",
                                 headers=customer)).status_code == 403
    assert (await claim(shop, stranger, order, PHONE)).status_code == 404


async def test_the_customer_is_told_each_step_in_the_markets_language_RS_VI(shop, smtp):
    customer, order = await delivered_order(shop, [(PHONE, 1)])
    email = shop.last_email
    made = (await claim(shop, customer, order, PHONE)).json()
    await shop.ops_post(f"/conformity-claims/{made['id']}/refuse-remedy", {"reason": "the part is not made any more"})
    await shop.http.post(f"/api/v1/conformity-claims/{made['id']}/price-reduction", headers=customer)
    await shop.ops_post(f"/conformity-claims/{made['id']}/grant-reduction", {"amount_minor": 500_000})
    await shop.ctx.background.drain()

    # the four messages go out from four requests' background sends: pick the claim's own, whatever the order
    message = await smtp.wait_for_async(lambda m: m["To"] == email and "Zakonska garancija" in m["Subject"]
                                        and "Primili smo" in m.get_body(("plain",)).get_content())
    text = words(message.get_body(("plain",)).get_content())
    assert message["Subject"] == (f"Zakonska garancija, porudžbina {order['number']} / "
                                  f"Legal guarantee, order {order['number']}")
    assert f"Zahtev {made['id']}: Primili smo" in words(text) and f"Claim {made['id']}: We have received" in words(text)
    bodies = [words(row.body) for row in await outbox_rows(shop, order["id"]) if row.kind == "conformity_claim"]
    assert len(bodies) == 4 and all(row.accepted_at for row in await outbox_rows(shop, order["id"]))
    received, refused, asked, granted = bodies
    assert "Tražili ste popravku (RS-VI.4)" in received and "You asked for a repair (RS-VI.4)" in received
    assert "(RS-VI.5): the part is not made any more" in refused and "sniženje cene ili raskinuti" in refused
    assert "iznos vraćamo u roku od 14 dana (RS-VI.8)" in asked
    assert "Cena je snižena za 5.000,00 RSD" in granted and "The price is reduced by RSD5,000.00" in granted


async def test_staff_list_the_claims_not_settled_the_longest_waiting_first(shop):
    customer, order = await delivered_order(shop, [(PHONE, 1), (CHARGER, 1)])
    await set_clock(shop, "2026-10-05T09:00:00Z")
    first = (await claim(shop, customer, order, PHONE)).json()
    await set_clock(shop, "2026-10-06T09:00:00Z")
    second = (await claim(shop, customer, order, CHARGER)).json()
    await shop.ops_post(f"/conformity-claims/{second['id']}/reject", {"reason": "accepted at the sale"})

    listed = (await shop.http.get("/api/v1/ops/conformity-claims", headers=await shop.ops())).json()

    assert [(c["id"], c["state"]) for c in listed] == [(first["id"], "claimed")]
    assert (await shop.http.get("/api/v1/ops/conformity-claims", headers=customer)).status_code == 403
