"""Customer reviews of products, notices of illegal content and blocking an account for abuse
(RS-XIII): the `REVIEW` and `CONTENT_NOTICE` lifecycles and their rules as plain functions.

The terms (seed 004, XIII): the user may post individual, subjective opinions about Products;
illegal content is forbidden. Anyone who believes published content illegal may notify Xiaomi; the
notice gives at least why the content is illegal, where it is, the notifier's name and e-mail and a
statement that they believe in good faith that it is accurate and complete; a confirmation of
receipt is sent promptly; the notice is decided in a timely, diligent and objective way and the
notifier is told the decision and the means of redress (12.5). Content removed or disabled is told
to its author, at the latest when it is removed, with a clear and specific statement of reasons,
the type and scope of the measure (and that it followed a notice), the automated means used and the
means of redress (12.4). Xiaomi may block access to these services for a user who advertises for
others, posts false or misleading content, harms other users, breaks the law or the terms, or for
security; for as long as the problem lasts; the user is told by e-mail.

Decisions (the terms are silent):
- **Verified purchase**: only a customer to whom the product was delivered may review it: a line of
  that SKU, not cancelled, of their order with a delivery recorded (`delivered_at`; a line withdrawn
  after delivery still counts: the product was in their hands). Others: 403 `review_needs_purchase`.
- **One review per customer and product** (409 `review_exists`, kept by a unique index against a
  race); a removed review still counts: removal is a decision on that content, not a new chance.
- **The RS market alone**: RS-XIII is in the RS terms (the KZ terms have no reviews); a review of a
  KZ product is refused (422 `reviews_not_offered`) and its list is empty. The messages are the RS
  market's (Serbian, then English).
- **Rating 1-5 and text 1-2000 characters** (stripped); published at once, no prior moderation
  (12.1: no general obligation to monitor).
- **The public list** shows published reviews, newest first, at most 100, each with a display name
  only: the first word of the account's name and the initial of its last (`Ana A.`), read when listed;
  reviews of an erased account (RS-XII) are no longer listed (its name is gone, and its opinions go
  with the account).
- **A notice is about one published review** (the review is the "location" of 12.5); a review that
  is not published (removed, unknown) answers 404. Anyone may send one without an account; `name`
  (1-200), `email` (a valid address, where the receipt and decision go), `explanation` (1-5000) and
  `good_faith: true` (false: 422 naming the field). No de-duplication: every notice is decided.
- **Decided within 2 working days** (12.5 asks "timely, diligent and objective" and the notifier
  told "without undue delay"; it gives no number): a notice is due for its decision by the end of the
  2nd working day of the RS market's calendar after the local day it was received (T-3: Monday to
  Friday less the public holidays; received on Tuesday 10 Nov 2026, the 11th a holiday: Friday 13 Nov
  23:59:59 Belgrade). Its `decide_by` is stored when it is received and shown to the notifier and to
  staff; `make sweep` lists every undecided notice by it (near from its receipt: the deadline is as
  short as the sweep's "near"; past it, late). A late decision is still a decision (shown as
  `decided_late`), never refused. Force majeure does not move it (T-7 suspends the contract's
  periods; this one is the shop's own measure of "without undue delay", which an impediment
  already excuses).
- **The decision** is staff's (no automated means): `remove` or `keep`, always with `reasons` (1-2000,
  the statement of reasons). `remove` removes the review (REVIEW `remove`, the reasons kept on it)
  and e-mails its author the statement of reasons (12.4) in the same transaction; either way the
  notifier is e-mailed the decision with its reasons (12.5). A notice is decided once (409 after).
  Several notices of one review are each decided: a `remove` of a review already removed records the
  decision, tells the notifier, and does not remove or tell the author again (nor an author whose
  account was erased: no address is left). Lock order: the notice, then its review.
- **Blocking** is kept on the account's row (`blocked_at`, `blocked_reason`, `blocked_by`): staff
  block with a reason (1-500) and unblock when the problem is solved; block twice or unblock an account
  not blocked: 409, and nothing is written. Each block is also kept in the account's block history,
  one entry a block (who, when, why; who lifted it, when), written with the row in the same
  transaction, so the history never says other than the row: at most one entry is open (not lifted),
  the account's current block. Staff see it on the account; the customer does not (staff's names).
  The user is e-mailed the block with its reason, and the unblocking. A blocked account may not post
  reviews or notices from its token (403 `account_blocked`, RS-XIII); a notice sent without a token
  is anyone's and is taken. "These services" are the website's functionalities of XIII, not the
  purchase contract: a blocked account keeps logging in, ordering and its orders, so nothing of the
  block is read on the order's or the token's path: only the review and notice use cases read it,
  with the account they read anyway. Its published reviews stay (removing content is a notice's or
  staff's decision on that content). An erased account cannot be blocked (404); its history stays.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from shop.domain.calendar import add_working_days, end_of_local_day, in_time, local_date
from shop.domain.errors import Conflict, Forbidden, InvalidInput
from shop.domain.machine import Lifecycle, Step
from shop.domain.markets import Market

CLAUSE = "RS-XIII"
RATINGS = range(1, 6)
MAX_TEXT = 2000
MAX_EXPLANATION = 5000
MAX_REASONS = 2000
MAX_BLOCK_REASON = 500
MOST_LISTED = 100  # the public list of a product's reviews (Decision)
DECIDE_WORKING_DAYS = 2  # RS-XIII 12.5: "without undue delay" (Decision)


class ReviewState(StrEnum):
    PUBLISHED = "published"
    REMOVED = "removed"


REVIEW: Lifecycle[ReviewState] = Lifecycle("review", ReviewState, (
    Step("post", (), ReviewState.PUBLISHED, CLAUSE,
         "a customer to whom the product was delivered posts an individual, subjective opinion of it: "
         "published at once"),
    Step("remove", (ReviewState.PUBLISHED,), ReviewState.REMOVED, CLAUSE,
         "staff remove it, deciding a notice of illegal content; its author is told with a statement of "
         "reasons (12.4)"),
), initial=(ReviewState.PUBLISHED,), final=(ReviewState.REMOVED,))


class NoticeState(StrEnum):
    RECEIVED = "received"
    DECIDED = "decided"


class Decision(StrEnum):
    REMOVED = "removed"
    KEPT = "kept"


DECISIONS = {"remove": Decision.REMOVED, "keep": Decision.KEPT}
"""Staff's word → the decision recorded on the notice (and the CONTENT_NOTICE event is the word)."""

CONTENT_NOTICE: Lifecycle[NoticeState] = Lifecycle("content notice", NoticeState, (
    Step("receive", (), NoticeState.RECEIVED, CLAUSE,
         "anyone notifies that a published review is illegal, saying why, with name, e-mail and good "
         "faith; the receipt is confirmed at once by e-mail (12.5); the decision is due within 2 working "
         "days (decide_by)"),
    Step("remove", (NoticeState.RECEIVED,), NoticeState.DECIDED, CLAUSE,
         "staff decide the content illegal: the review is removed, its author told the statement of "
         "reasons (12.4), the notifier told the decision (12.5)"),
    Step("keep", (NoticeState.RECEIVED,), NoticeState.DECIDED, CLAUSE,
         "staff decide the content not illegal: the review stays, the notifier is told the decision "
         "and its reasons (12.5)"),
), initial=(NoticeState.RECEIVED,), final=(NoticeState.DECIDED,))


# --- reviews -----------------------------------------------------------------------------------------

def check_market(market: str) -> None:
    """RS-XIII is the RS terms' (Decision): the KZ market has no reviews."""
    if market != Market.RS.value:
        raise InvalidInput("reviews_not_offered", "reviews are offered for products of the RS market only",
                           clause=CLAUSE, field="sku")


def check_review(rating: int, text: str) -> str:
    """A rating of 1 to 5 and an opinion of 1 to 2000 characters; the text, stripped."""
    if rating not in RATINGS:
        raise InvalidInput("rating_out_of_range", "the rating is 1 to 5", clause=CLAUSE, field="rating")
    opinion = text.strip()
    if not 1 <= len(opinion) <= MAX_TEXT:
        raise InvalidInput("review_text_missing", f"say what you think of the product (1 to {MAX_TEXT} characters)",
                           clause=CLAUSE, field="text")
    return opinion


def check_purchase(bought: bool) -> None:
    """Decision: a review is a buyer's, of a product delivered to them."""
    if not bought:
        raise Forbidden("review_needs_purchase",
                        "only a customer to whom the product was delivered may review it", clause=CLAUSE)


def check_first(existing: Any | None) -> None:
    """Decision: one review per customer and product, a removed one too."""
    if existing is not None:
        raise Conflict("review_exists", "you have reviewed this product already", clause=CLAUSE, field="sku")


def display_name(full_name: str) -> str:
    """What the public sees of the author: the first word of the name and the initial of the last
    (`Ana Anić` → `Ana A.`), a one-word name alone."""
    words = full_name.split()
    if not words:
        return ""
    return words[0] if len(words) == 1 else f"{words[0]} {words[-1][0]}."


# --- notices and their decisions ---------------------------------------------------------------------

def check_notice(explanation: str, name: str, good_faith: bool) -> tuple[str, str]:
    """12.5: why the content is illegal, the notifier's name and their statement of good faith (the
    e-mail is checked as an address, the location is the review). The explanation and the name,
    stripped."""
    if not good_faith:
        raise InvalidInput("good_faith_missing", "a notice states that you believe in good faith that it is "
                           "accurate and complete", clause=CLAUSE, field="good_faith")
    why, who = explanation.strip(), name.strip()
    if not 1 <= len(why) <= MAX_EXPLANATION:
        raise InvalidInput("explanation_missing", "explain why the content is illegal", clause=CLAUSE,
                           field="explanation")
    if not who:
        raise InvalidInput("notifier_name_missing", "a notice gives the notifier's name", clause=CLAUSE,
                           field="name")
    return why, who


def decide_by(received_at: datetime) -> datetime:
    """RS-XIII 12.5 (Decision): a notice is decided by the end of the 2nd working day of the RS
    calendar after the local day it was received (T-3)."""
    market = Market.RS
    return end_of_local_day(add_working_days(local_date(received_at, market), DECIDE_WORKING_DAYS, market), market)


def decided_late(decided_at: datetime | None, due_by: datetime) -> bool:
    """A decision taken after its `decide_by` (none yet is not late: `make sweep` lists an undecided
    notice past it)."""
    return decided_at is not None and not in_time(decided_at, due_by)


def decision_of(word: str) -> Decision:
    try:
        return DECISIONS[word]
    except KeyError:
        raise InvalidInput("unknown_decision", "the decision is remove or keep", clause=CLAUSE,
                           field="decision") from None


def check_reasons(reasons: str) -> str:
    """12.4, 12.5: every decision comes with a clear and specific statement of reasons."""
    text = reasons.strip()
    if not 1 <= len(text) <= MAX_REASONS:
        raise InvalidInput("reasons_missing", "a decision states its reasons", clause=CLAUSE, field="reasons")
    return text


# --- blocking an account ------------------------------------------------------------------------------

def check_not_blocked(account: Any) -> None:
    """RS-XIII: a blocked account has no access to reviews and notices until the problem is solved."""
    if account.blocked_at is not None:
        raise Forbidden("account_blocked", "this account is blocked from posting reviews and notices until "
                        "the problem is solved", clause=CLAUSE)


def check_block(account: Any, reason: str) -> str:
    """Block an account not blocked, for a stated reason; the reason, stripped."""
    if account.blocked_at is not None:
        raise Conflict("account_already_blocked", "the account is blocked already", clause=CLAUSE)
    text = reason.strip()
    if not 1 <= len(text) <= MAX_BLOCK_REASON:
        raise InvalidInput("block_reason_missing", "say why the account is blocked", clause=CLAUSE, field="reason")
    return text


def check_unblock(account: Any) -> None:
    if account.blocked_at is None:
        raise Conflict("account_not_blocked", "the account is not blocked", clause=CLAUSE)
