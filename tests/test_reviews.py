"""Reviews of products, notices of illegal content and blocking an account for abuse (RS-XIII),
through the API on both databases: a customer the product was delivered to reviews it once, anyone
reads the published reviews without a token; anyone notifies that a review is illegal, and the
receipt is e-mailed at once (12.5); staff remove it with a statement of reasons told to its author
(12.4) or keep it, the notifier told either way; a blocked account may not post reviews or notices
but still orders. E-mails are read from the SMTP server on loopback, picked by their content."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from shop.domain.reviews import decide_by, decided_late
from shop.services.accounts import make_ops_user
from shop.services.login_throttle import NOTICES_PER_ADDRESS, NOTICES_PER_EMAIL
from tests.ops_support import set_clock
from tests.support import order_body
from tests.test_order_messages import message_to
from tests.test_withdrawals import PHONE, delivered_order

REVIEW = {"rating": 5, "text": "Odličan telefon, baterija traje dva dana."}
ILLEGAL = "The review discloses my home address and phone number without my consent."


def problem(response) -> tuple[int, str, str | None, str | None]:
    found = response.json()
    return response.status_code, found["code"], found.get("clause"), found.get("field")


async def post_review(shop, customer, sku: str = PHONE, **headers):
    return await shop.http.post(f"/api/v1/products/{sku}/reviews", json=REVIEW, headers={**customer, **headers})


async def listed(shop, sku: str = PHONE) -> list[dict]:
    response = await shop.http.get(f"/api/v1/products/{sku}/reviews")  # no token
    assert response.status_code == 200, response.text
    return response.json()


async def reviewed(shop) -> tuple[dict, str, dict]:
    """A customer the phone was delivered to, their e-mail address and their published review."""
    customer, _ = await delivered_order(shop)
    email = shop.last_email
    response = await post_review(shop, customer)
    assert response.status_code == 201, response.text
    return customer, email, response.json()


def notice_body(email: str, **overrides) -> dict:
    return {"explanation": ILLEGAL, "name": "Marko Marković", "email": email, "good_faith": True, **overrides}


async def notify(shop, review_id: str, email: str, headers: dict | None = None, **overrides):
    return await shop.http.post(f"/api/v1/reviews/{review_id}/notices", json=notice_body(email, **overrides),
                                headers=headers or {})


def notifier() -> str:
    return f"notifier-{uuid.uuid4().hex[:12]}@example.rs"


async def account_id(shop, customer) -> int:
    return (await shop.http.get("/api/v1/account", headers=customer)).json()["id"]


async def test_a_buyer_reviews_a_delivered_product_once_and_anyone_reads_it_RS_XIII(shop):
    customer, _ = await delivered_order(shop)

    first = await post_review(shop, customer, **{"Idempotency-Key": "review-1"})
    again = await post_review(shop, customer, **{"Idempotency-Key": "review-1"})
    twice = await post_review(shop, customer)

    assert first.status_code == 201, first.text
    review = first.json()
    assert (review["sku"], review["rating"], review["text"], review["author"]) == (PHONE, 5, REVIEW["text"], "Ana A.")
    assert (again.status_code, again.json()) == (201, review)  # the same key: the same review
    assert problem(twice) == (409, "review_exists", "RS-XIII", "sku")
    assert await listed(shop) == [review]  # no token; a display name and nothing else of the author
    assert "email" not in review and "customer_id" not in review


async def test_only_a_customer_the_product_was_delivered_to_may_review_it_RS_XIII(shop):
    stranger = await shop.customer()
    shipped = await shop.customer()
    await shop.shipped_order(shipped)  # on its way, not delivered

    assert problem(await post_review(shop, stranger)) == (403, "review_needs_purchase", "RS-XIII", None)
    assert problem(await post_review(shop, shipped)) == (403, "review_needs_purchase", "RS-XIII", None)
    assert problem(await post_review(shop, stranger, sku="rs-no-such-phone"))[:2] == (404, "product_not_found")
    assert (await post_review(shop, {})).status_code == 401  # posting needs a token
    assert (await shop.http.get("/api/v1/products/rs-no-such-phone/reviews")).status_code == 404


async def test_the_newest_review_is_listed_first_RS_XIII(shop):
    _, _, older = await reviewed(shop)
    customer, _ = await delivered_order(shop)  # the clock at the first's instant again
    await set_clock(shop, "2026-10-01T13:00:01Z")
    newer = (await post_review(shop, customer)).json()

    assert [review["id"] for review in await listed(shop)][:2] == [newer["id"], older["id"]]


async def test_a_notice_is_acknowledged_by_e_mail_and_refused_without_good_faith_RS_XIII(shop, smtp):
    _, _, review = await reviewed(shop)
    email = notifier()

    refused = await notify(shop, review["id"], email, good_faith=False)
    made = await notify(shop, review["id"], email)  # anyone: no token

    assert problem(refused) == (422, "good_faith_missing", "RS-XIII", "good_faith")
    assert made.status_code == 201, made.text
    notice = made.json()
    assert (notice["review_id"], notice["state"]) == (review["id"], "received")
    message, text = await message_to(smtp, email, notice["id"])
    assert message["Subject"] == (f"Primili smo Vašu prijavu nezakonitog sadržaja {notice['id']} / "
                                  f"We have received your notice of illegal content {notice['id']}")
    assert "(RS-XIII, 12.5)" in text
    waiting = (await shop.http.get("/api/v1/ops/content-notices", headers=await shop.ops())).json()
    [listed_notice] = [item for item in waiting if item["id"] == notice["id"]]
    assert (listed_notice["explanation"], listed_notice["name"], listed_notice["email"]) == (
        ILLEGAL, "Marko Marković", email)
    assert (listed_notice["review_text"], listed_notice["review_state"]) == (REVIEW["text"], "published")
    assert problem(await notify(shop, "no-such-review", email))[:2] == (404, "review_not_found")


async def test_staff_remove_a_review_with_a_statement_of_reasons_told_to_author_and_notifier_RS_XIII(shop, smtp):
    _, author, review = await reviewed(shop)
    email = notifier()
    notice = (await notify(shop, review["id"], email)).json()
    reasons = "It publishes another person's home address: personal data, unlawful to disclose."

    no_reasons = await shop.ops_post(f"/content-notices/{notice['id']}/decide", {"decision": "remove"})
    decided = await shop.ops_post(f"/content-notices/{notice['id']}/decide",
                                  {"decision": "remove", "reasons": reasons})
    again = await shop.ops_post(f"/content-notices/{notice['id']}/decide", {"decision": "keep", "reasons": "x"})

    assert no_reasons.status_code == 400  # the statement of reasons is required
    assert decided.status_code == 200, decided.text
    assert (decided.json()["state"], decided.json()["decision"], decided.json()["reasons"]) == (
        "decided", "removed", reasons)
    assert again.status_code == 409
    assert review["id"] not in [item["id"] for item in await listed(shop)]
    _, to_author = await message_to(smtp, author, "uklonjeno")
    assert reasons in to_author and notice["id"] in to_author and "(RS-XIII, 12.4)" in to_author
    assert "no automated means" in to_author and "out-of-court" in to_author
    _, to_notifier = await message_to(smtp, email, "Odluka o Vašoj prijavi")
    assert reasons in to_notifier and "We have removed the review" in to_notifier
    assert problem(await notify(shop, review["id"], notifier()))[:2] == (404, "review_not_found")


async def test_staff_keep_a_review_and_the_notifier_is_told_why_RS_XIII(shop, smtp):
    _, _, review = await reviewed(shop)
    email = notifier()
    notice = (await notify(shop, review["id"], email)).json()
    reasons = "An opinion of the product's battery; nothing in it is illegal."

    decided = await shop.ops_post(f"/content-notices/{notice['id']}/decide", {"decision": "keep", "reasons": reasons})

    assert (decided.status_code, decided.json()["decision"]) == (200, "kept")
    assert review["id"] in [item["id"] for item in await listed(shop)]
    _, text = await message_to(smtp, email, "Odluka o Vašoj prijavi")
    assert reasons in text and "We have not removed the review" in text
    waiting = (await shop.http.get("/api/v1/ops/content-notices", headers=await shop.ops())).json()
    assert notice["id"] not in [item["id"] for item in waiting]


async def test_a_blocked_account_may_not_review_or_notify_but_still_orders_until_unblocked_RS_XIII(shop, smtp):
    _, _, review = await reviewed(shop)
    customer, _ = await delivered_order(shop)
    email = shop.last_email
    account = await account_id(shop, customer)
    reason = "Advertising another shop's products in reviews."

    blocked = await shop.ops_post(f"/accounts/{account}/block", {"reason": reason})

    assert blocked.status_code == 200, blocked.text
    assert (blocked.json()["blocked"]["reason"], blocked.json()["blocked"]["by"]) == (reason, "ops:" + str(
        await account_id(shop, await shop.ops())))
    _, text = await message_to(smtp, email, "blokiran")
    assert reason in text and "(RS-XIII)" in text
    assert problem(await post_review(shop, customer)) == (403, "account_blocked", "RS-XIII", None)
    assert problem(await notify(shop, review["id"], email, customer)) == (403, "account_blocked", "RS-XIII", None)
    assert (await notify(shop, review["id"], notifier())).status_code == 201  # without a token: anyone's
    await shop.place(customer, order_body())  # ordering is not blocked
    shown = (await shop.http.get(f"/api/v1/ops/accounts/{account}", headers=await shop.ops())).json()
    assert shown["blocked"]["reason"] == reason
    assert (await shop.ops_post(f"/accounts/{account}/block", {"reason": reason})).status_code == 409

    unblocked = await shop.ops_post(f"/accounts/{account}/unblock")

    assert (unblocked.status_code, unblocked.json()["blocked"]) == (200, None)
    await message_to(smtp, email, "ponovo omogućen")
    assert (await post_review(shop, customer)).status_code == 201
    assert (await shop.ops_post(f"/accounts/{account}/unblock")).status_code == 409


async def test_only_staff_decide_notices_and_block_accounts_RS_XIII(shop):
    customer = await shop.customer()
    account = await account_id(shop, customer)

    for path, body in (("/content-notices", None), ("/content-notices/x/decide", {"decision": "keep", "reasons": "r"}),
                       (f"/accounts/{account}/block", {"reason": "r"}), (f"/accounts/{account}/unblock", {})):
        method = "GET" if body is None else "POST"
        answer = await shop.http.request(method, f"/api/v1/ops{path}", json=body, headers=customer)
        assert answer.status_code == 403, (path, answer.text)


async def test_notices_to_one_address_or_from_one_client_are_bounded_an_hour_RS_XIII(shop, smtp):
    """Each notice mails its receipt to the address it gives, and anyone may send one: at most 5 an
    hour to one e-mail address (then 429 naming `email`, with Retry-After), 20 from one client; an
    hour on, the address is free again."""
    _, _, review = await reviewed(shop)
    review_id = review["id"]
    await set_clock(shop, "2027-06-01T08:00:00Z")  # after the delivery and the review, whenever they were
    target = notifier()
    for _ in range(NOTICES_PER_EMAIL):
        assert (await notify(shop, review_id, target)).status_code == 201
    refused = await notify(shop, review_id, target)
    assert problem(refused)[:2] == (429, "too_many_attempts") and refused.json()["field"] == "email"
    assert int(refused.headers["Retry-After"]) == 3600
    for _ in range(NOTICES_PER_ADDRESS - NOTICES_PER_EMAIL):  # other addresses, the same client
        assert (await notify(shop, review_id, notifier())).status_code == 201
    from_client = await notify(shop, review_id, notifier())
    assert problem(from_client)[:2] == (429, "too_many_attempts") and from_client.json().get("field") is None

    await set_clock(shop, "2027-06-01T09:00:00Z")
    assert (await notify(shop, review_id, target)).status_code == 201


# --- notices decided without undue delay (12.5) ------------------------------------------------------

@pytest.mark.parametrize(("received_at", "due"), [
    ("2026-11-10T08:00:00Z", "2026-11-13T22:59:59Z"),  # Tuesday: Wed 11 Nov is a holiday, so Thu 12 and Fri 13
    ("2026-11-12T23:30:00Z", "2026-11-17T22:59:59Z"),  # Friday 00:30 in Belgrade: its local day, then Mon, Tue
    ("2026-11-14T10:00:00Z", "2026-11-17T22:59:59Z"),  # a Saturday: Monday and Tuesday
    ("2026-04-09T10:00:00Z", "2026-04-15T21:59:59Z"),  # Thursday before Orthodox Easter (10-13 Apr): Tue, Wed
])
def test_a_notice_is_due_for_decision_by_the_end_of_the_2nd_working_day_after_its_receipt_RS_XIII(received_at, due):
    decided = datetime.fromisoformat(received_at)

    assert f"{decide_by(decided):%Y-%m-%dT%H:%M:%SZ}" == due
    assert not decided_late(None, decide_by(decided))  # undecided is not late: the sweep lists it
    assert decided_late(decide_by(decided) + timedelta(seconds=1), decide_by(decided))


async def test_the_notifier_and_staff_see_by_when_a_notice_is_decided_and_a_late_decision_is_shown_RS_XIII(shop):
    _, _, review = await reviewed(shop)
    await set_clock(shop, "2026-11-10T08:00:00Z")  # Tuesday, 09:00 in Belgrade
    in_time = (await notify(shop, review["id"], notifier())).json()
    late = (await notify(shop, review["id"], notifier())).json()

    assert in_time["decide_by"] == late["decide_by"] == "2026-11-13T22:59:59Z"  # the notifier's answer
    waiting = (await shop.http.get("/api/v1/ops/content-notices", headers=await shop.ops())).json()
    assert {(item["id"], item["decide_by"], item["decided_late"]) for item in waiting} == {
        (in_time["id"], "2026-11-13T22:59:59Z", False), (late["id"], "2026-11-13T22:59:59Z", False)}
    await set_clock(shop, "2026-11-13T22:59:59Z")
    on_the_last_second = await shop.ops_post(f"/content-notices/{in_time['id']}/decide",
                                             {"decision": "keep", "reasons": "An opinion; nothing illegal."})
    await set_clock(shop, "2026-11-13T23:00:00Z")
    after_it = await shop.ops_post(f"/content-notices/{late['id']}/decide",
                                   {"decision": "keep", "reasons": "An opinion; nothing illegal."})

    assert (on_the_last_second.status_code, on_the_last_second.json()["decided_late"]) == (200, False)
    assert (after_it.status_code, after_it.json()["decided_late"]) == (200, True)  # late, still decided
    assert after_it.json()["decide_by"] == "2026-11-13T22:59:59Z"


# --- the block history ---------------------------------------------------------------------------------

async def block_history(shop, account: int) -> list[dict]:
    response = await shop.http.get(f"/api/v1/ops/accounts/{account}", headers=await shop.ops())
    assert response.status_code == 200, response.text
    return response.json()["blocks"]


async def test_staff_see_who_blocked_an_account_when_and_why_and_who_lifted_each_block_RS_XIII(shop):
    customer = await shop.customer()
    account = await account_id(shop, customer)
    staff = "ops:" + str(await account_id(shop, await shop.ops()))
    await make_ops_user(shop.ctx, "ops2@shop.example.rs", "ops password 456")
    colleague_headers = await shop.login("ops2@shop.example.rs", "ops password 456")
    colleague = "ops:" + str(await account_id(shop, colleague_headers))

    await set_clock(shop, "2026-11-02T09:00:00Z")
    assert (await shop.ops_post(f"/accounts/{account}/block", {"reason": "Advertising another shop."})).status_code \
        == 200
    await set_clock(shop, "2026-11-02T10:00:00Z")
    twice = await shop.ops_post(f"/accounts/{account}/block", {"reason": "Something else."})
    await set_clock(shop, "2026-11-05T12:00:00Z")
    lifted = await shop.http.post(f"/api/v1/ops/accounts/{account}/unblock", headers=colleague_headers)
    await set_clock(shop, "2026-11-05T13:00:00Z")
    not_blocked = await shop.ops_post(f"/accounts/{account}/unblock")
    await set_clock(shop, "2026-11-20T08:00:00Z")
    again = await shop.http.post(f"/api/v1/ops/accounts/{account}/block", json={"reason": "Fake reviews."},
                                 headers=colleague_headers)

    assert problem(twice)[:2] == (409, "account_already_blocked")  # as before; and the history says nothing of it
    assert lifted.status_code == 200 and problem(not_blocked)[:2] == (409, "account_not_blocked")
    assert again.status_code == 200, again.text
    assert await block_history(shop, account) == [
        {"blocked_at": "2026-11-02T09:00:00Z", "blocked_by": staff, "reason": "Advertising another shop.",
         "unblocked_at": "2026-11-05T12:00:00Z", "unblocked_by": colleague},
        {"blocked_at": "2026-11-20T08:00:00Z", "blocked_by": colleague, "reason": "Fake reviews.",
         "unblocked_at": None, "unblocked_by": None}]
    shown = (await shop.http.get(f"/api/v1/ops/accounts/{account}", headers=await shop.ops())).json()
    assert shown["blocked"] == {"at": "2026-11-20T08:00:00Z", "reason": "Fake reviews.", "by": colleague}
    assert "blocks" not in (await shop.http.get("/api/v1/account", headers=customer)).json()  # staff's names


async def test_two_blocks_at_once_leave_one_block_in_the_history_RS_XIII(shop):
    account = await account_id(shop, await shop.customer())
    await shop.ops()

    answers = await asyncio.gather(*(shop.ops_post(f"/accounts/{account}/block", {"reason": f"reason {n}"})
                                     for n in range(2)))

    assert sorted(answer.status_code for answer in answers) == [200, 409]
    [block] = await block_history(shop, account)
    assert block["unblocked_at"] is None
    assert block["reason"] == next(answer.json()["blocked"]["reason"] for answer in answers
                                   if answer.status_code == 200)


async def test_the_database_keeps_at_most_one_block_of_an_account_open_RS_XIII(shop):
    account = await account_id(shop, await shop.customer())

    def block_twice(uow) -> None:
        uow.accounts.block(account, at=uow.now(), reason="one", by="ops:1")
        uow.accounts.block(account, at=uow.now(), reason="two", by="ops:1")

    with pytest.raises(IntegrityError):
        await shop.ctx.db.transaction(block_twice)
    assert await block_history(shop, account) == []  # the transaction rolled back whole


async def test_a_block_reason_of_500_characters_is_kept_and_one_longer_refused_naming_it_RS_XIII(shop):
    account = await account_id(shop, await shop.customer())

    longer = await shop.ops_post(f"/accounts/{account}/block", {"reason": "R" * 501})
    kept = await shop.ops_post(f"/accounts/{account}/block", {"reason": "R" * 500})

    assert (longer.status_code, longer.json()["field"]) == (400, "reason")
    assert kept.status_code == 200, kept.text
    assert [block["reason"] for block in await block_history(shop, account)] == ["R" * 500]


async def test_the_ops_view_of_an_account_is_staffs_alone_and_404_for_none_RS_XIII(shop):
    customer = await shop.customer()
    account = await account_id(shop, customer)

    assert (await shop.http.get(f"/api/v1/ops/accounts/{account}")).status_code == 401
    assert (await shop.http.get(f"/api/v1/ops/accounts/{account}", headers=customer)).status_code == 403
    missing = await shop.http.get("/api/v1/ops/accounts/2147483647", headers=await shop.ops())
    assert problem(missing)[:2] == (404, "account_not_found")
    assert await block_history(shop, account) == []
