"""SQLModel tables of the website's functionalities (RS-XIII): customers' reviews of products,
notices of illegal content about them and the history of blocks of accounts (shop.domain.reviews).
An account's current block is on its `users` row (shop.adapters.tables.User). Conventions as in
shop.adapters.tables."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from shop.adapters.tables import instant


class Review(SQLModel, table=True):
    """A customer's review of a product (RS-XIII); written by shop.adapters.stores.reviews alone."""

    __tablename__ = "reviews"
    __table_args__ = (  # one review per customer and product; the public list: a product's published, newest first
        sa.UniqueConstraint("customer_id", "sku", name="uq_reviews_customer_id_sku"),
        sa.Index("ix_reviews_sku_state_posted_at", "sku", "state", "posted_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    sku: str = Field(foreign_key="products.sku", max_length=64)
    customer_id: int = Field(foreign_key="users.id")
    rating: int  # 1 … 5
    text: str = Field(max_length=2000)
    state: str = Field(max_length=16)  # published | removed
    posted_at: datetime = instant()
    removed_at: datetime | None = instant(nullable=True)
    removed_by: str | None = Field(default=None, max_length=120)
    removal_reasons: str | None = Field(default=None, max_length=2000)  # the statement of reasons (12.4)
    notice_id: str | None = Field(default=None, max_length=36)  # the notice whose decision removed it


class ContentNotice(SQLModel, table=True):
    """A notice that a review is illegal content (RS-XIII, 12.5) and staff's decision on it; written
    by shop.adapters.stores.reviews alone."""

    __tablename__ = "content_notices"
    __table_args__ = (  # staff read the undecided ones, oldest first; `make sweep` by their deadline
        sa.Index("ix_content_notices_state_received_at", "state", "received_at", "id"),
        sa.Index("ix_content_notices_state_decide_by", "state", "decide_by", "id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    review_id: str = Field(foreign_key="reviews.id", index=True, max_length=36)
    explanation: str = Field(max_length=5000)  # why the content is illegal
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    customer_id: int | None = Field(default=None, foreign_key="users.id")  # sent with a token
    state: str = Field(max_length=16)  # received | decided
    received_at: datetime = instant()
    decide_by: datetime = instant()  # RS-XIII 12.5: 2 working days (shop.domain.reviews.decide_by)
    decision: str | None = Field(default=None, max_length=16)  # removed | kept
    reasons: str | None = Field(default=None, max_length=2000)
    decided_at: datetime | None = instant(nullable=True)
    decided_by: str | None = Field(default=None, max_length=120)


class AccountBlock(SQLModel, table=True):
    """One block of an account for abuse (RS-XIII): who blocked it, when and why, and who lifted it,
    when (NULL: it is the account's current block, as on its `users` row). Written with the row by
    shop.adapters.stores.accounts alone."""

    __tablename__ = "account_blocks"
    __table_args__ = (  # an account's history in order; at most one block not lifted, kept by the database
        sa.Index("ix_account_blocks_account_id", "account_id", "id"),
        sa.Index("uq_account_blocks_open", "account_id", unique=True,
                 postgresql_where=sa.text("unblocked_at IS NULL"), sqlite_where=sa.text("unblocked_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="users.id")
    blocked_at: datetime = instant()
    blocked_by: str = Field(max_length=120)
    reason: str = Field(max_length=500)
    unblocked_at: datetime | None = instant(nullable=True)
    unblocked_by: str | None = Field(default=None, max_length=120)
