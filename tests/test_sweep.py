"""`make sweep` on SQLite and PostgreSQL: what the shop owes near or past its deadline, across a month
of test-clock time. "Near" is within 2 working days on the market's calendar (T-3): in Serbia,
11 Nov 2026 (a Wednesday) is Armistice Day, and 14-15 Nov a weekend. Refunds owed (RS-III.4,
RS-VII.10), returns not back in time (RS-VII.7), withdrawals still without a label (RS-VII.10),
complaints not answered (RS-X.3) and notices of illegal content not decided (RS-XIII)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shop.domain.markets import Market
from shop.services.sweep import sweep
from tests.ops_support import set_clock
from tests.test_refunds import cancel_while_stripe_is_out_of_reach
from tests.test_reviews import notifier, notify, reviewed
from tests.support import ShopClient, order_body, run_task

CHARGER = "rs-charger-67w"
TUESDAY_BEFORE_THE_HOLIDAY = "2026-11-10T08:00:00Z"  # 09:00 in Belgrade; +2 working days: Fri 13 Nov
FRIDAY_BEFORE_THE_WEEKEND = "2026-11-13T10:00:00Z"  # +2 working days: Tue 17 Nov


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def refund_owed_from(shop: ShopClient, cancelled_at: str) -> dict[str, Any]:
    """An instalment order cancelled at `cancelled_at`: its refund stays pending until staff record
    the provider's payment, due 14 days on (RS-III.4, T-1). The order."""
    await set_clock(shop, cancelled_at)
    customer = await shop.customer()
    order = await shop.place(customer, order_body(payment_method="installments"))
    assert (await shop.ops_post(f"/orders/{order['id']}/installment-decision", {"approved": True})).status_code == 200
    response = await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer)
    assert response.status_code == 200, response.text
    [refund] = (await shop.order(customer, order["id"]))["refunds"]
    assert refund["state"] == "pending"
    return {**order, "refund": refund}


async def withdrawn_at(shop: ShopClient, delivered_at: str, withdrawn: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """An order delivered at `delivered_at`, its charger withdrawn at `withdrawn` (RS-VII.1)."""
    await set_clock(shop, delivered_at)
    customer = await shop.customer()
    order = await shop.shipped_order(customer, order_body(lines=[(CHARGER, 1)]))
    response = await shop.ops_post(f"/orders/{order['id']}/deliver", {"delivered_at": delivered_at})
    assert response.status_code == 200, response.text
    await set_clock(shop, withdrawn)
    response = await shop.http.post(f"/api/v1/orders/{order['id']}/withdrawals", json={}, headers=customer)
    assert response.status_code == 201, response.text
    return order, response.json()


def listed(report: Any) -> list[tuple[str, str, str, str]]:
    return [(line.status, line.kind, line.order_number, line.clause) for line in report.lines]


async def test_refunds_within_2_working_days_are_near_3_are_not_and_a_holiday_counts_none_T_3_RS_VII_10(shop):
    passed = await refund_owed_from(shop, "2026-10-20T10:00:00Z")  # due Tue 3 Nov
    friday = await refund_owed_from(shop, "2026-10-30T10:00:00Z")  # due Fri 13 Nov
    monday = await refund_owed_from(shop, "2026-11-02T10:00:00Z")  # due Mon 16 Nov
    tuesday = await refund_owed_from(shop, "2026-11-03T10:00:00Z")  # due Tue 17 Nov
    wednesday = await refund_owed_from(shop, "2026-11-04T10:00:00Z")  # due Wed 18 Nov
    assert friday["refund"]["due_by"] == "2026-11-13T22:59:59Z"

    before_holiday = await sweep(shop.ctx, instant(TUESDAY_BEFORE_THE_HOLIDAY))
    before_weekend = await sweep(shop.ctx, instant(FRIDAY_BEFORE_THE_WEEKEND))

    # Tue 10 Nov: Wed 11 is a holiday, so Thu 12 and Fri 13 are the 2 working days; Mon 16 is the 3rd.
    assert [(title, [line.order_number for line in lines]) for title, lines in before_holiday.groups()] == [
        ("passed", [passed["number"]]), ("due 2026-11-13", [friday["number"]])]
    # the clause the refund was recorded with: the cancellation's
    assert {line.clause for line in before_holiday.lines} == {"RS-IV.5"}
    # Fri 13 Nov: across the weekend, Mon 16 and Tue 17 are the 2 working days; Wed 18 is the 3rd.
    assert [(title, [line.order_number for line in lines]) for title, lines in before_weekend.groups()] == [
        ("passed", [passed["number"]]), ("due 2026-11-13", [friday["number"]]),
        ("due 2026-11-16", [monday["number"]]), ("due 2026-11-17", [tuesday["number"]])]
    assert wednesday["number"] not in {line.order_number for line in before_weekend.lines}
    [first] = before_holiday.groups()[0][1]
    assert first.text() == (f"passed 2026-11-03T22:59:59Z refund     {passed['number']} [RS-IV.5] "
                            f"{passed['total']['amount_minor'] / 100:.2f} RSD: refund pending ({first.subject_id})")


async def test_a_failed_refund_is_listed_for_staff_to_send_again_RS_III_4(shop):
    await set_clock(shop, "2026-10-30T10:00:00Z")
    customer = await shop.customer()
    order = await shop.paid_order(customer)
    await cancel_while_stripe_is_out_of_reach(shop, order)

    report = await sweep(shop.ctx, instant(TUESDAY_BEFORE_THE_HOLIDAY))

    [line] = report.lines
    assert (line.status, line.kind, line.order_number, line.due_on.isoformat()) == (
        "near", "refund", order["number"], "2026-11-13")
    assert line.owed_minor == order["total"]["amount_minor"]
    assert line.note.startswith("refund failed after 1 attempt(s), for staff to send again: ")


async def test_a_return_not_back_in_time_is_listed_overdue_for_staff_RS_VII_7(shop):
    overdue_order, overdue = await withdrawn_at(shop, "2026-10-01T12:00:00Z", "2026-10-05T09:00:00Z")
    assert (await shop.ops_post(f"/withdrawals/{overdue['id']}/return-label")).json()["return_due_by"] == \
        "2026-10-19T09:00:00Z"
    back_order, back = await withdrawn_at(shop, "2026-10-01T12:00:00Z", "2026-10-06T09:00:00Z")
    await shop.ops_post(f"/withdrawals/{back['id']}/return-label")
    await set_clock(shop, "2026-10-09T09:00:00Z")
    assert (await shop.ops_post(f"/withdrawals/{back['id']}/receive", {"deduction_minor": 0})).status_code == 200

    report = await sweep(shop.ctx, instant(TUESDAY_BEFORE_THE_HOLIDAY))

    assert listed(report) == [("passed", "return", overdue_order["number"], "RS-VII.7")]
    [line] = report.lines
    assert line.due_by == instant("2026-10-19T09:00:00Z") and line.owed_minor == 349_900
    assert "not back in time: overdue, for staff" in line.text()


async def test_a_withdrawal_without_a_label_is_listed_by_its_refund_deadline_RS_VII_10(shop):
    late_order, late = await withdrawn_at(shop, "2026-10-01T12:00:00Z", "2026-10-05T09:00:00Z")
    near_order, near = await withdrawn_at(shop, "2026-10-20T12:00:00Z", "2026-10-30T09:00:00Z")
    await withdrawn_at(shop, "2026-10-20T12:00:00Z", "2026-11-02T09:00:00Z")  # refund due Mon 16 Nov: not yet
    labelled_order, labelled = await withdrawn_at(shop, "2026-11-02T12:00:00Z", "2026-11-09T09:00:00Z")
    await set_clock(shop, "2026-11-09T10:00:00Z")
    await shop.ops_post(f"/withdrawals/{labelled['id']}/return-label")  # the goods due back 23 Nov: not yet

    report = await sweep(shop.ctx, instant(TUESDAY_BEFORE_THE_HOLIDAY))

    assert listed(report) == [("passed", "withdrawal", late_order["number"], "RS-VII.10"),
                              ("near", "withdrawal", near_order["number"], "RS-VII.10")]
    assert [f"{line.due_by:%Y-%m-%dT%H:%M:%SZ}" for line in report.lines] == [
        late["refund_due_by"], near["refund_due_by"]] == ["2026-10-19T21:59:59Z", "2026-11-13T22:59:59Z"]
    assert "no return label issued" in report.lines[0].note


async def test_the_same_list_twice_page_by_page_or_whole_with_its_summary(shop):
    owed = await refund_owed_from(shop, "2026-10-20T10:00:00Z")
    await refund_owed_from(shop, "2026-10-30T10:00:00Z")
    _, overdue = await withdrawn_at(shop, "2026-10-01T12:00:00Z", "2026-10-05T09:00:00Z")
    await shop.ops_post(f"/withdrawals/{overdue['id']}/return-label")
    await withdrawn_at(shop, "2026-10-20T12:00:00Z", "2026-10-30T09:00:00Z")
    told: list[int] = []

    first = await sweep(shop.ctx, instant(TUESDAY_BEFORE_THE_HOLIDAY))
    second = await sweep(shop.ctx, instant(TUESDAY_BEFORE_THE_HOLIDAY), batch=1, progress_rows=1,
                         on_progress=lambda rows, seconds: told.append(rows))

    assert first.text() == second.text()
    assert told == [1, 2, 3, 4]  # a progress line each row here (each 5000 rows or 5 seconds by default)
    assert [title for title, _ in first.groups()] == ["passed", "due 2026-11-13"]
    assert first.text()[0] == "== passed (2)"
    assert first.text()[1].startswith("passed 2026-10-19T09:00:00Z return") and owed["number"] in first.text()[2]
    assert first.summary() == ("sweep as of 2026-11-10T08:00:00Z: 4 listed; 2 passed (1 refunds, 1 returns, "
                               "0 withdrawals, 0 perks, 0 complaints, 0 notices), 2 near, within 2 working days, "
                               "perks 14 days (1 refunds, 0 returns, 1 withdrawals, 0 perks, 0 complaints, 0 notices)")


async def test_complaints_not_answered_are_listed_by_their_deadline_RS_X_3(shop):
    """Received 20 Oct (due 28 Oct: passed) and 3 Nov (due 12 Nov: within the 2 working days after
    Tuesday 10 Nov, the 11th a holiday); one answered and one due later are not listed."""
    def phone(received_at: str, **extra):
        return {"channel": "phone", "received_at": received_at, "about": "service", "name": "Marko Marković",
                "answer_by": "post", "postal_address": "Bulevar kralja Aleksandra 73, Beograd",
                "description": "The courier was rude.", "remedy": "an apology", "market": "RS", **extra}

    await set_clock(shop, TUESDAY_BEFORE_THE_HOLIDAY)
    late = (await shop.ops_post("/complaints", phone("2026-10-20T10:00:00Z"))).json()
    near = (await shop.ops_post("/complaints", phone("2026-11-03T10:00:00Z"))).json()
    await shop.ops_post("/complaints", phone("2026-11-10T07:00:00Z"))  # due 18 Nov: not yet near
    answered = (await shop.ops_post("/complaints", phone("2026-10-21T10:00:00Z"))).json()
    await shop.ops_post(f"/complaints/{answered['id']}/answer", {"answer": "Sorry."})

    report = await sweep(shop.ctx, instant(TUESDAY_BEFORE_THE_HOLIDAY))

    assert [(line.status, line.kind, line.order_number, line.clause, line.subject_id) for line in report.lines] == [
        ("passed", "complaint", "-", "RS-X.3", late["id"]), ("near", "complaint", "-", "RS-X.3", near["id"])]
    assert report.lines[0].note == "phone complaint about the service, received 2026-10-20: its answer is late"
    assert report.lines[1].note.endswith("received 2026-11-03: answer it")


async def test_make_sweep_runs_as_a_task_on_the_shops_clock(shop, settings):
    owed = await refund_owed_from(shop, "2026-10-20T10:00:00Z")
    await set_clock(shop, TUESDAY_BEFORE_THE_HOLIDAY)
    runs = [run_task(settings, "sweep") for _ in range(2)]

    assert [run.returncode for run in runs] == [0, 0], runs[0].stderr
    assert runs[0].stdout == runs[1].stdout
    lines = runs[0].stdout.strip().splitlines()
    assert lines[0] == "== passed (1)"
    assert lines[1].startswith(f"passed 2026-11-03T22:59:59Z refund     {owed['number']} [RS-IV.5]")
    assert lines[-1].startswith("sweep as of 2026-11-10T08:00:00Z: 1 listed; 1 passed")


async def test_notices_not_decided_are_listed_by_their_deadline_RS_XIII(shop):
    """RS-XIII 12.5, decided within 2 working days of receipt: received Thursday 5 Nov (due Monday 9:
    passed on Tuesday 10), Monday 9 Nov (due Thursday 12, the 11th a holiday: near) and Tuesday 10 Nov
    (due Friday 13: near from its receipt); one decided is not listed, nor anything in KZ."""
    _, _, review = await reviewed(shop)

    async def notice_at(received_at: str) -> dict[str, Any]:
        await set_clock(shop, received_at)
        response = await notify(shop, review["id"], notifier())
        assert response.status_code == 201, response.text
        return response.json()

    late = await notice_at("2026-11-05T10:00:00Z")
    decided = await notice_at("2026-11-05T11:00:00Z")
    near = await notice_at("2026-11-09T10:00:00Z")
    today = await notice_at(TUESDAY_BEFORE_THE_HOLIDAY)
    assert (await shop.ops_post(f"/content-notices/{decided['id']}/decide",
                                {"decision": "keep", "reasons": "Nothing illegal."})).status_code == 200

    report = await sweep(shop.ctx, instant(TUESDAY_BEFORE_THE_HOLIDAY))

    assert [(line.status, line.kind, line.order_number, line.clause, line.subject_id) for line in report.lines] == [
        ("passed", "notice", "-", "RS-XIII", late["id"]), ("near", "notice", "-", "RS-XIII", near["id"]),
        ("near", "notice", "-", "RS-XIII", today["id"])]
    assert [f"{line.due_by:%Y-%m-%dT%H:%M:%SZ}" for line in report.lines] == [
        late["decide_by"], near["decide_by"], today["decide_by"]] == [
        "2026-11-09T22:59:59Z", "2026-11-12T22:59:59Z", "2026-11-13T22:59:59Z"]
    assert report.lines[0].note == (f"notice of illegal content about review {review['id']} of {review['sku']}, "
                                    "received 2026-11-05: its decision is late")
    assert report.lines[1].note.endswith("received 2026-11-09: decide it and tell the notifier")
    assert [title for title, _ in report.groups()] == ["passed", "due 2026-11-12", "due 2026-11-13"]
    assert report.count("passed", "notice") == 1 and report.count("near", "notice") == 2
    assert (await sweep(shop.ctx, instant(TUESDAY_BEFORE_THE_HOLIDAY), markets=[Market.KZ])).lines == []
    paged = await sweep(shop.ctx, instant(TUESDAY_BEFORE_THE_HOLIDAY), batch=1)
    assert paged.text() == report.text()
