"""The one writer of reviews and notices of illegal content (RS-XIII): reviews posted, listed for a
product with their authors' display names, removed; notices received, listed undecided for staff
and decided. It also reads whether a product was delivered to a customer (a review's purchase)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from shop.adapters.review_tables import ContentNotice, Review
from shop.adapters.stores import after_row
from shop.adapters.tables import Order, OrderLine, User, table_of
from shop.domain.errors import NotFound
from shop.domain.machine import Transition
from shop.domain.order_lines import LineState
from shop.domain.reviews import NoticeState, ReviewState, check_first

_reviews, _notices = table_of(Review), table_of(ContentNotice)
_users, _orders, _lines = table_of(User), table_of(Order), table_of(OrderLine)
_r, _n = _reviews.c, _notices.c

_ADD_REVIEW = insert(_reviews).returning(*_r)
_REVIEW = select(_reviews).where(_r.id == bindparam("b_id"))
_PUBLISHED_REVIEW = _REVIEW.where(_r.state == ReviewState.PUBLISHED.value)
_OF_AUTHOR = select(_reviews).where(_r.customer_id == bindparam("b_customer"), _r.sku == bindparam("b_sku"))
_PUBLISHED_OF_PRODUCT = (  # erased accounts' reviews are no longer listed (Decision, shop.domain.reviews)
    select(*_r, _users.c.full_name).join(_users, _users.c.id == _r.customer_id)
    .where(_r.sku == bindparam("b_sku"), _r.state == ReviewState.PUBLISHED.value, _users.c.erased_at.is_(None))
    .order_by(_r.posted_at.desc(), _r.id).limit(bindparam("b_limit")))
_DELIVERED_TO = (
    select(_lines.c.id).join(_orders, _orders.c.id == _lines.c.order_id)
    .where(_orders.c.customer_id == bindparam("b_customer"), _lines.c.sku == bindparam("b_sku"),
           _orders.c.delivered_at.is_not(None), _lines.c.state != LineState.CANCELLED.value)
    .limit(1))
_ADD_NOTICE = insert(_notices).returning(*_n)
_NOTICE = select(_notices).where(_n.id == bindparam("b_id"))
_REVIEWED = (_r.sku.label("review_sku"), _r.rating.label("review_rating"), _r.text.label("review_text"),
             _r.state.label("review_state"))  # what staff decide on, beside each notice
_UNDECIDED = (select(*_n, *_REVIEWED).join(_reviews, _r.id == _n.review_id)
              .where(_n.state == NoticeState.RECEIVED.value)
              .order_by(_n.received_at, _n.id).limit(bindparam("b_limit")))
_UNDECIDED_AFTER = _UNDECIDED.where(after_row(_notices, "received_at"))
_KNOWN_NOTICE = select(_n.id).where(_n.id == bindparam("b_id"))


class ReviewStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # --- reviews ------------------------------------------------------------------------------
    def delivered_to(self, customer_id: int, sku: str) -> bool:
        """Whether a line of `sku`, not cancelled, is in an order of the customer's that was delivered."""
        return self._db.execute(_DELIVERED_TO, {"b_customer": customer_id, "b_sku": sku}).first() is not None

    def of_author(self, customer_id: int, sku: str) -> Row[Any] | None:
        """The customer's review of the product, published or removed (None: none)."""
        return self._db.execute(_OF_AUTHOR, {"b_customer": customer_id, "b_sku": sku}).first()

    def add(self, values: dict[str, Any]) -> Row[Any]:
        """A review as posted; the row as written. A twin posted meanwhile (the unique constraint of
        customer and product): 409, as `check_first`."""
        try:
            return self._db.execute(_ADD_REVIEW, values).one()
        except IntegrityError:
            check_first(True)  # raises: the only constraint a new review can meet
            raise

    def get(self, review_id: str, *, published: bool = False, lock: bool = False) -> Row[Any]:
        """The review (only a published one when `published`; locked when `lock`); 404 otherwise."""
        statement = _PUBLISHED_REVIEW if published else _REVIEW
        row = self._db.execute(statement.with_for_update() if lock else statement, {"b_id": review_id}).first()
        if row is None:
            raise NotFound("review_not_found", f"no published review {review_id}")
        return row

    def published(self, sku: str, *, limit: int) -> list[Row[Any]]:
        """The product's published reviews with their authors' `full_name`, newest first."""
        return list(self._db.execute(_PUBLISHED_OF_PRODUCT, {"b_sku": sku, "b_limit": limit}))

    def move(self, review: Row[Any], transition: Transition, **facts: Any) -> Row[Any]:
        """The review in the transition's destination, with `facts` beside it; the row as written."""
        statement = (update(_reviews).where(_r.id == review.id)
                     .values(state=transition.to_state.value, **facts).returning(*_r))
        return self._db.execute(statement).one()

    # --- notices of illegal content --------------------------------------------------------------
    def add_notice(self, values: dict[str, Any]) -> Row[Any]:
        return self._db.execute(_ADD_NOTICE, values).one()

    def notice(self, notice_id: str, *, lock: bool = False) -> Row[Any]:
        """The notice (locked when `lock`); 404 when there is none."""
        row = self._db.execute(_NOTICE.with_for_update() if lock else _NOTICE, {"b_id": notice_id}).first()
        if row is None:
            raise NotFound("content_notice_not_found", f"no notice {notice_id}")
        return row

    def undecided(self, *, limit: int, after: str | None = None) -> list[Row[Any]]:
        """Notices waiting for staff's decision, the oldest first (received_at, then id), each with its
        review's `review_sku`, `review_rating`, `review_text` and `review_state`: at most `limit`,
        those after the notice `after` when given, wherever that notice is now."""
        if after is None:
            return list(self._db.execute(_UNDECIDED, {"b_limit": limit}))
        return list(self._db.execute(_UNDECIDED_AFTER, {"b_limit": limit, "b_after": after}))

    def notice_known(self, notice_id: str) -> bool:
        return self._db.execute(_KNOWN_NOTICE, {"b_id": notice_id}).first() is not None

    def decide(self, notice: Row[Any], transition: Transition, **facts: Any) -> Row[Any]:
        statement = (update(_notices).where(_n.id == notice.id)
                     .values(state=transition.to_state.value, **facts).returning(*_n))
        return self._db.execute(statement).one()
