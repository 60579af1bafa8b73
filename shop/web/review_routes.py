"""Reviews of products and notices of illegal content (RS-XIII): a product's reviews, read by anyone
and posted by a customer it was delivered to (`/products/{sku}/reviews`), anyone's notice about a
review (`/reviews/{id}/notices`), staff's decisions (`/ops/content-notices`) and blocking an account
for abuse (`/ops/accounts/{id}/block`, `/unblock`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, Parameter

from shop.domain.accounts import normalised_email
from shop.domain.reviews import decided_late
from shop.services import reviews
from shop.services.context import ShopContext
from shop.services.idempotency import Kept, claim_for
from shop.services.pages import PAGE
from shop.web import paging, presenters
from shop.web.auth import LARGEST_ID, PUBLIC_ROUTE, Principal, ops_only, optional_principal
from shop.web.presenters import instant
from shop.web.responses import Instant, Out, PublicOperation, StoredAccountOut, problems
from shop.web.schemas import NO_NUL, Body

Ctx = NamedDependency[ShopContext]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)]
AccountId = Annotated[int, Parameter(ge=1, le=LARGEST_ID, description="the account's id")]
Reasons = Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=2000)]
NoticesLimit = paging.limit("notices")
NoticesAfter = paging.cursor("notice")


# --- requests --------------------------------------------------------------------------------------

class ReviewIn(Body):
    """RS-XIII: an individual, subjective opinion of a product delivered to the customer."""

    rating: Annotated[int, msgspec.Meta(ge=1, le=5, description="1 (worst) to 5 (best)")]
    text: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=2000)]


class NoticeIn(Body):
    """RS-XIII 12.5: what a notice of illegal content gives at least; its location is the review."""

    explanation: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=5000, description=(
        "why the content is illegal"))]
    name: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=200, description="the notifier's")]
    email: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=3, max_length=320, description=(
        "the notifier's: the receipt and the decision go there"))]
    good_faith: Annotated[bool, msgspec.Meta(description=(
        "the notifier believes in good faith that the notice is accurate and complete (must be true)"))]


class DecisionIn(Body):
    decision: Annotated[Literal["remove", "keep"], msgspec.Meta(description=(
        "remove: the review is illegal content and is removed; keep: it stays"))]
    reasons: Annotated[Reasons, msgspec.Meta(description=(
        "the statement of reasons, told to the notifier and, for a removal, to the review's author (12.4)"))]


class BlockIn(Body):
    reason: Annotated[str, msgspec.Meta(pattern=NO_NUL, min_length=1, max_length=500, description=(
        "the abuse: advertising for others, false or misleading content, harm to other users, a breach of "
        "the law or the terms, security"))]


# --- responses -------------------------------------------------------------------------------------

class ReviewOut(Out):
    id: str
    sku: str
    rating: int
    text: str
    author: Annotated[str, msgspec.Meta(description="the author's first name and the initial of their surname")]
    posted_at: Instant


class NoticeOut(Out):
    id: str
    review_id: str
    state: Annotated[Literal["received", "decided"], msgspec.Meta(description="docs/lifecycle-content-notice.md")]
    received_at: Instant
    decide_by: Annotated[Instant, msgspec.Meta(description=(
        "RS-XIII 12.5: the decision is due by the end of the 2nd working day (RS calendar) after its receipt"))]


class OpsNoticeOut(NoticeOut):
    explanation: str
    name: str
    email: str
    customer_id: Annotated[int | None, msgspec.Meta(description="the account whose token sent it, if one did")]
    decision: Literal["removed", "kept"] | None
    reasons: str | None
    decided_at: Instant | None
    decided_by: str | None
    decided_late: Annotated[bool, msgspec.Meta(description="RS-XIII 12.5: decided after decide_by")]


class ReviewedNoticeOut(OpsNoticeOut):
    review_sku: str
    review_rating: int
    review_text: str
    review_state: Literal["published", "removed"]


def review_json(shown: reviews.Shown) -> dict[str, Any]:
    row = shown.review
    return {"id": row.id, "sku": row.sku, "rating": row.rating, "text": row.text, "author": shown.author,
            "posted_at": instant(row.posted_at)}


def notice_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "review_id": row.review_id, "state": row.state, "received_at": instant(row.received_at),
            "decide_by": instant(row.decide_by)}


def ops_notice_json(row: Any) -> dict[str, Any]:
    return {**notice_json(row), "explanation": row.explanation, "name": row.name, "email": row.email,
            "customer_id": row.customer_id, "decision": row.decision, "reasons": row.reasons,
            "decided_at": instant(row.decided_at), "decided_by": row.decided_by,
            "decided_late": decided_late(row.decided_at, row.decide_by)}


def reviewed_notice_json(row: Any) -> dict[str, Any]:
    return {**ops_notice_json(row), "review_sku": row.review_sku, "review_rating": row.review_rating,
            "review_text": row.review_text, "review_state": row.review_state}


class ReviewController(Controller):
    tags = ["reviews"]

    @post("/products/{sku:str}/reviews", status_code=201, responses=problems(400, 401, 403, 404, 409, 413, 422))
    async def post_review(self, ctx: Ctx, request: Request[Principal, Any, Any], sku: FromPath[str],
                          idempotency_key: IdempotencyKey, data: JSONBody[ReviewIn]) -> Response[ReviewOut]:
        """RS-XIII: the customer's review of a product delivered to them (403 otherwise), published at
        once; one per customer and product (409); a blocked account's is refused (403 `account_blocked`).
        With an Idempotency-Key, the same key answers the same review."""
        claim = claim_for(f"{request.user.id} POST /products/{sku}/reviews", idempotency_key, data)
        made = await reviews.post(ctx, sku, customer_id=request.user.id, rating=data.rating, text=data.text,
                                  claim=claim, present=review_json)
        if isinstance(made, Kept):
            return Response(made.body, status_code=made.status_code)
        return Response(review_json(made), status_code=201)  # type: ignore[arg-type]

    @get("/products/{sku:str}/reviews", operation_class=PublicOperation, opt=PUBLIC_ROUTE,
         responses=problems(400, 404))
    async def of_product(self, ctx: Ctx, sku: FromPath[str]) -> list[ReviewOut]:
        """RS-XIII: the product's published reviews, newest first (at most 100), each with its author's
        first name and initial only."""
        return [review_json(shown) for shown in await reviews.of_product(ctx, sku)]  # type: ignore[misc]

    @post("/reviews/{review_id:str}/notices", status_code=201, operation_class=PublicOperation, opt=PUBLIC_ROUTE,
          responses=problems(400, 401, 403, 404, 413, 422, 429))
    async def notify(self, ctx: Ctx, request: Request[Any, Any, Any], review_id: FromPath[str],
                     data: JSONBody[NoticeIn]) -> NoticeOut:
        """RS-XIII 12.5: anyone's notice that a published review is illegal content, with why, their
        name and e-mail and their statement of good faith (false: 422 `good_faith`); its receipt is
        confirmed at once by e-mail, and the decision follows. No token is needed; one that is sent
        must be good (401), and not a blocked account's (403 `account_blocked`). The decision is due by
        `decide_by`, the end of the 2nd working day (RS calendar) after its receipt. At most 5 an hour to
        one e-mail address and 20 from one client (429 with `Retry-After`)."""
        caller = await optional_principal(request)
        email, address, now = normalised_email(data.email), request.client.host if request.client else "unknown", \
            await ctx.now()
        throttle = request.app.state["notice_throttle"]
        throttle.check(email, address, now)  # 429: each notice mails its receipt to the address it gives
        notice = await reviews.notify(ctx, review_id, explanation=data.explanation, name=data.name, email=email,
                                      good_faith=data.good_faith, customer_id=None if caller is None else caller.id)
        throttle.received(email, address, now)
        return notice_json(notice)  # type: ignore[return-value]


class OpsContentNoticeController(Controller):
    path = "/ops/content-notices"
    tags = ["operations"]
    guards = [ops_only]

    @get("/", responses=problems(400, 401, 403, 422),
         response_headers=paging.link_header("/api/v1/ops/content-notices?limit=20&after=…"))
    async def undecided(self, ctx: Ctx, limit: NoticesLimit = PAGE, after: NoticesAfter = None
                        ) -> Response[list[ReviewedNoticeOut]]:
        """RS-XIII 12.5: notices waiting for a decision, the oldest first, each with the review it is
        about and its `decide_by` (2 working days after its receipt), a page at a time; the next
        page's address in `Link`."""
        found, more = await reviews.undecided(ctx, limit=limit, after=after)
        return paging.page([reviewed_notice_json(row) for row in found],  # type: ignore[misc]
                           path="/api/v1/ops/content-notices", query={"limit": limit},
                           after=found[-1].id if more else None)

    @post("/{notice_id:str}/decide", status_code=200, responses=problems(400, 401, 403, 404, 409, 413, 422))
    async def decide(self, ctx: Ctx, request: Request[Principal, Any, Any], notice_id: FromPath[str],
                     data: JSONBody[DecisionIn]) -> OpsNoticeOut:
        """RS-XIII 12.4, 12.5: remove the review (its author is e-mailed the statement of reasons) or
        keep it; the notifier is e-mailed the decision either way. A notice is decided once (409)."""
        return ops_notice_json(await reviews.decide(  # type: ignore[return-value]
            ctx, notice_id, decision=data.decision, reasons=data.reasons, actor=request.user.actor))


class OpsAccountBlockController(Controller):
    path = "/ops/accounts"
    tags = ["operations"]
    guards = [ops_only]

    @post("/{account_id:int}/block", status_code=200, responses=problems(400, 401, 403, 404, 409, 413, 422))
    async def block(self, ctx: Ctx, request: Request[Principal, Any, Any], account_id: AccountId,
                    data: JSONBody[BlockIn]) -> StoredAccountOut:
        """RS-XIII: block the account from posting reviews and notices for abuse, until the problem is
        solved; the user is e-mailed the reason. It keeps logging in, ordering and its orders. Each
        block is kept in the account's block history (GET /ops/accounts/{id})."""
        return presenters.stored_account(await reviews.block(  # type: ignore[return-value]
            ctx, account_id, reason=data.reason, actor=request.user.actor))

    @post("/{account_id:int}/unblock", status_code=200, responses=problems(400, 401, 403, 404, 409))
    async def unblock(self, ctx: Ctx, request: Request[Principal, Any, Any],
                      account_id: AccountId) -> StoredAccountOut:
        """RS-XIII: the problem is solved: the block is lifted (who and when: in the account's block
        history, GET /ops/accounts/{id}) and the user e-mailed."""
        return presenters.stored_account(await reviews.unblock(  # type: ignore[return-value]
            ctx, account_id, actor=request.user.actor))
