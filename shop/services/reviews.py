"""Reviews of products, notices of illegal content and blocking an account for abuse (RS-XIII):
the rules in shop.domain.reviews, each use case in one transaction; the e-mails (the notifier's
receipt and decision, the author's statement of reasons, the blocked user's) are queued in it and
sent once the request has answered. A review has no order: its steps' times and actors are on its
own row and its notices', not on a timeline."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shop.adapters.stores.idempotency import KeyTaken
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain import notices
from shop.domain.accounts import account_gone
from shop.domain.errors import NotFound
from shop.domain.markets import Market
from shop.domain.notices import Notice
from shop.domain.reviews import (
    CONTENT_NOTICE, MOST_LISTED, REVIEW, Decision, NoticeState, ReviewState, check_block, check_first,
    check_market, check_not_blocked, check_notice, check_purchase, check_reasons, check_review, check_unblock,
    decide_by, decision_of, display_name,
)
from shop.services.context import ShopContext
from shop.services.idempotency import IdempotencyClaim, Kept, answer_row, earlier_answer, remember_answers
from shop.services.mail import notice_row, send_after_answer
from shop.services.pages import cut, unknown_cursor

MARKET = Market.RS
"""RS-XIII is the RS terms': its messages are the RS market's (Serbian, then English)."""


@dataclass(frozen=True)
class _Done:
    """What a step wrote, and the e-mails its transaction queued."""

    made: Any
    emails: list[Any]


def _tell(uow: UnitOfWork, notice: Notice, address: str) -> None:
    """Queue `notice` to `address` in the caller's transaction (it is about no order)."""
    uow.outbox.queue_emails([notice_row(None, notice, uow.now(), address=address)])  # type: ignore[arg-type]


def _account(uow: UnitOfWork, customer_id: int) -> Any:
    """The account behind a token, not blocked (RS-XIII)."""
    account = uow.accounts.get(customer_id)
    if account is None or account.erased_at is not None:
        raise account_gone()
    check_not_blocked(account)
    return account


def _product(uow: UnitOfWork, sku: str) -> Any:
    product = uow.products.facts([sku]).get(sku)
    if product is None:
        raise NotFound("product_not_found", f"no product {sku}", field="sku")
    return product


# --- reviews -----------------------------------------------------------------------------------------

async def post(ctx: ShopContext, sku: str, *, customer_id: int, rating: int, text: str,
               claim: IdempotencyClaim | None = None, present: Callable[[Any], Any] | None = None) -> Any:
    """RS-XIII: the customer's opinion of a product delivered to them, published at once; one per
    customer and product. With an Idempotency-Key the answer is kept in the same transaction
    (`present` builds it); the same key again returns it (a `Kept`). A refused review is not kept."""
    opinion = check_review(rating, text)

    def work(uow: UnitOfWork) -> Any:
        if claim is not None and (earlier := earlier_answer(uow, claim)) is not None:
            return Kept(earlier.status_code or 201, earlier.body)
        account = _account(uow, customer_id)
        product = _product(uow, sku)
        check_market(product.market)
        check_purchase(uow.reviews.delivered_to(customer_id, sku))
        check_first(uow.reviews.of_author(customer_id, sku))
        now = uow.now()
        transition = REVIEW.start("post", ReviewState.PUBLISHED)
        review = uow.reviews.add({"id": str(uuid.uuid4()), "sku": sku, "customer_id": customer_id, "rating": rating,
                                  "text": opinion, "state": transition.to_state.value, "posted_at": now})
        shown = Shown(review, display_name(account.full_name))
        if claim is not None and present is not None:
            remember_answers(uow, [answer_row(claim, resource_id=review.id, status=201, body=present(shown), now=now)])
        return shown

    try:
        return await ctx.db.transaction(work)
    except KeyTaken:  # a concurrent twin with the same key was kept first: its answer is this one's
        assert claim is not None
        earlier = await ctx.db.read(lambda uow: earlier_answer(uow, claim))
        assert earlier is not None
        return Kept(earlier.status_code or 201, earlier.body)


@dataclass(frozen=True)
class Shown:
    """A review as the public sees it: the row and its author's display name."""

    review: Any
    author: str


async def of_product(ctx: ShopContext, sku: str) -> list[Shown]:
    """The product's published reviews, newest first, at most 100 (404: no such product; a KZ
    product's: none)."""
    def read(uow: UnitOfWork) -> list[Shown]:
        if _product(uow, sku).market != MARKET.value:
            return []
        return [Shown(row, display_name(row.full_name)) for row in uow.reviews.published(sku, limit=MOST_LISTED)]

    return await ctx.db.read(read)


# --- notices of illegal content ----------------------------------------------------------------------

async def notify(ctx: ShopContext, review_id: str, *, explanation: str, name: str, email: str, good_faith: bool,
                 customer_id: int | None) -> Any:
    """RS-XIII 12.5: anyone's notice that a published review is illegal content, its receipt
    confirmed at once by e-mail, due for a decision within 2 working days (`decide_by`); from a token,
    not a blocked account's."""
    why, who = check_notice(explanation, name, good_faith)

    def work(uow: UnitOfWork) -> _Done:
        if customer_id is not None:
            _account(uow, customer_id)
        review = uow.reviews.get(review_id, published=True)
        now = uow.now()
        transition = CONTENT_NOTICE.start("receive", NoticeState.RECEIVED)
        notice = uow.reviews.add_notice({
            "id": str(uuid.uuid4()), "review_id": review.id, "explanation": why, "name": who, "email": email,
            "customer_id": customer_id, "state": transition.to_state.value, "received_at": now,
            "decide_by": decide_by(now)})
        _tell(uow, notices.content_notice_received(MARKET, notice.id, review.id, now), email)
        return _Done(notice, uow.outbox.queued)

    done = await ctx.db.transaction(work)
    send_after_answer(ctx, done.emails)
    return done.made


async def undecided(ctx: ShopContext, *, limit: int, after: str | None = None) -> tuple[list[Any], bool]:
    """A page of the notices waiting for staff's decision, the oldest first: at most `limit`, those
    after the notice `after` wherever it is now (none such: 422 naming `after`); and whether more
    follow."""
    def page(uow: UnitOfWork) -> tuple[list[Any], bool]:
        if after is not None and not uow.reviews.notice_known(after):
            raise unknown_cursor("notice", after)
        rows = uow.reviews.undecided(limit=limit + 1, after=after)
        return cut(rows, limit)
    return await ctx.db.read(page)


async def decide(ctx: ShopContext, notice_id: str, *, decision: str, reasons: str, actor: str) -> Any:
    """RS-XIII 12.4, 12.5: staff's decision on a notice, with its statement of reasons. `remove`
    removes the review and tells its author why; the notifier is told either way. Once."""
    what, why = decision_of(decision), check_reasons(reasons)

    def work(uow: UnitOfWork) -> _Done:
        notice = uow.reviews.notice(notice_id, lock=True)
        transition = CONTENT_NOTICE.fire(notice.state, decision)
        review = uow.reviews.get(notice.review_id, lock=True)
        now = uow.now()
        if what is Decision.REMOVED and review.state == ReviewState.PUBLISHED:
            removal = REVIEW.fire(review.state, "remove")
            review = uow.reviews.move(review, removal, removed_at=now, removed_by=actor, removal_reasons=why,
                                      notice_id=notice.id)
            author = uow.accounts.get(review.customer_id)
            if author is not None and author.erased_at is None:
                product = _product(uow, review.sku)
                _tell(uow, notices.review_removed(MARKET, review.id, product.name, notice.id, why, now), author.email)
        notice = uow.reviews.decide(notice, transition, decision=what.value, reasons=why, decided_at=now,
                                    decided_by=actor)
        _tell(uow, notices.content_notice_decided(MARKET, notice.id, review.id, what is Decision.REMOVED, why),
              notice.email)
        return _Done(notice, uow.outbox.queued)

    done = await ctx.db.transaction(work)
    send_after_answer(ctx, done.emails)
    return done.made


# --- blocking an account for abuse --------------------------------------------------------------------

def _live_account(uow: UnitOfWork, account_id: int) -> Any:
    account = uow.accounts.lock(account_id)
    if account is None or account.erased_at is not None:
        raise NotFound("account_not_found", f"no account {account_id}")
    return account


async def block(ctx: ShopContext, account_id: int, *, reason: str, actor: str) -> Any:
    """RS-XIII: staff block the account from reviews and notices, for `reason`, until the problem is
    solved (kept in its block history too); the user is told by e-mail."""
    def work(uow: UnitOfWork) -> _Done:
        account = _live_account(uow, account_id)
        why = check_block(account, reason)
        now = uow.now()
        account = uow.accounts.block(account_id, at=now, reason=why, by=actor)
        _tell(uow, notices.account_blocked(MARKET, why, now), account.email)
        return _Done(account, uow.outbox.queued)

    done = await ctx.db.transaction(work)
    send_after_answer(ctx, done.emails)
    return done.made


async def unblock(ctx: ShopContext, account_id: int, *, actor: str) -> Any:
    """RS-XIII: the problem is solved: the block is lifted (who, when: in its block history) and the
    user told."""
    def work(uow: UnitOfWork) -> _Done:
        check_unblock(_live_account(uow, account_id))
        now = uow.now()
        account = uow.accounts.unblock(account_id, at=now, by=actor)
        _tell(uow, notices.account_unblocked(MARKET, now), account.email)
        return _Done(account, uow.outbox.queued)

    done = await ctx.db.transaction(work)
    send_after_answer(ctx, done.emails)
    return done.made
