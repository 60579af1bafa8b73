"""SQLModel tables of what follows a sale: its invoices and credit notes (RS-IV.8–10), conformity
claims (RS-VI), complaints (RS-X), force-majeure periods (RS-VIII, T-7) and take-backs of old devices
(RS-V.5.4). Conventions as in shop.adapters.tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from shop.adapters.tables import instant


class Invoice(SQLModel, table=True):
    """An order's VAT invoice (RS-IV.8–9) or a corrected invoice of one of its refunds (RS-IV.10),
    as issued: never changed after (shop.domain.invoices); written by shop.adapters.stores.invoices."""

    __tablename__ = "invoices"

    id: str = Field(primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    kind: str = Field(max_length=16)  # invoice | credit_note
    number: str = Field(max_length=32, unique=True)
    issued_at: datetime = instant()
    currency: str = Field(max_length=3)
    vat_rate: str = Field(max_length=8)  # a Decimal, as the order's lines keep it
    total_minor: int
    vat_minor: int
    lines: list[dict[str, Any]] = Field(sa_type=JSON)
    seller: dict[str, str] = Field(sa_type=JSON)  # name, address, registration, tax_id (markets.Seller)
    buyer: dict[str, Any] = Field(sa_type=JSON)  # name, email, address (a courier delivery's) or None
    corrects_id: str | None = Field(default=None, foreign_key="invoices.id", max_length=36)
    """A credit note's invoice."""
    refund_id: str | None = Field(default=None, foreign_key="refunds.id", max_length=36, unique=True)
    """A credit note's refund (one credit note a refund at most)."""
    email_id: int | None = Field(default=None, foreign_key="outbox_emails.id")
    """The e-mail that sends it to the customer: its `accepted_at` is the receipt (RS-IV.8–9)."""


class InvoiceSeries(SQLModel, table=True):
    """The last number given in each series of documents (a kind, a market, a local year): numbers
    follow each other without gaps, the series' row locked by the transaction that issues one."""

    __tablename__ = "invoice_series"

    kind: str = Field(primary_key=True, max_length=16)
    market: str = Field(primary_key=True, max_length=2)
    year: int = Field(primary_key=True)
    last: int


class ConformityClaim(SQLModel, table=True):
    """A claim under the legal guarantee of conformity (RS-VI) for lines of a delivered order
    (shop.domain.conformity); written by shop.adapters.stores.conformity alone."""

    __tablename__ = "conformity_claims"

    id: str = Field(primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    customer_id: int = Field(foreign_key="users.id", index=True)
    line_ids: list[int] = Field(sa_type=JSON)
    defect: str = Field(max_length=2000)
    remedy: str = Field(max_length=16)  # RS-VI.4: repair | replacement
    state: str = Field(max_length=24)
    claimed_at: datetime = instant()
    updated_at: datetime = instant()
    reason: str | None = Field(default=None, max_length=500)  # staff's, for a rejection or a refusal
    statement_at: datetime | None = instant(nullable=True)  # RS-VI.8: the customer's reduction or withdrawal
    reduction_minor: int | None = None  # RS-VI.8
    currency: str = Field(max_length=3)  # the order's
    goods_back_at: datetime | None = instant(nullable=True)  # RS-VI.10: the goods or proof of their return
    refund_id: str | None = Field(default=None, foreign_key="refunds.id", max_length=36)


class Complaint(SQLModel, table=True):
    """A complaint (RS-X) and its answer (shop.domain.complaints); written by
    shop.adapters.stores.complaints alone."""

    __tablename__ = "complaints"
    __table_args__ = (  # staff read the open ones by their deadline, not every complaint
        sa.Index("ix_complaints_state_answer_due_by", "state", "answer_due_by", "id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    market: str = Field(max_length=2)
    channel: str = Field(max_length=16)  # RS-X.1: web | email | phone | post
    about: str = Field(max_length=16)  # RS-X.1: product | contract | service
    customer_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    order_id: str | None = Field(default=None, foreign_key="orders.id", index=True, max_length=36)
    name: str = Field(max_length=200)  # RS-X.2
    answer_by: str = Field(max_length=8)  # RS-X.2: email | post
    email: str | None = Field(default=None, max_length=320)
    postal_address: str | None = Field(default=None, max_length=500)
    description: str = Field(max_length=5000)
    remedy: str = Field(max_length=1000)
    state: str = Field(max_length=16)  # received | answered
    received_at: datetime = instant()
    recorded_at: datetime = instant()
    recorded_by: str = Field(max_length=120)
    answer_due_by: datetime = instant()  # RS-X.3
    answered_at: datetime | None = instant(nullable=True)
    answered_by: str | None = Field(default=None, max_length=120)
    answer: str | None = Field(default=None, max_length=5000)


class ForceMajeurePeriod(SQLModel, table=True):
    """A declared period of force majeure in a market (RS-VIII, T-7; shop.domain.force_majeure);
    written by shop.adapters.stores.force_majeure alone."""

    __tablename__ = "force_majeure_periods"

    id: str = Field(primary_key=True, max_length=36)
    market: str = Field(max_length=2, index=True)
    state: str = Field(max_length=16)  # declared | ended
    starts_at: datetime = instant()
    ends_at: datetime | None = instant(nullable=True)
    reason: str = Field(max_length=500)
    declared_by: str = Field(max_length=120)
    declared_at: datetime = instant()
    ended_by: str | None = Field(default=None, max_length=120)
    moved: dict[str, int] | None = Field(default=None, sa_type=JSON)
    """How many of each kind of deadline its end moved (refunds, withdrawals, complaints, deliveries)."""


class TakeBack(SQLModel, table=True):
    """The free take-back of one old device for a device line of an order (RS-V.5.4,
    shop.domain.take_back), at the order's delivery address as it was copied when requested;
    written by shop.adapters.stores.take_backs alone."""

    __tablename__ = "take_backs"
    __table_args__ = (  # staff read the requested ones, oldest first; a request counts its line's
        sa.Index("ix_take_backs_state_requested_at", "state", "requested_at", "id"),
        sa.Index("ix_take_backs_line_id_state", "line_id", "state"),
    )

    id: str = Field(primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    customer_id: int = Field(foreign_key="users.id", index=True)
    line_id: int = Field(foreign_key="order_lines.id")
    sku: str = Field(max_length=64)  # the line's: the new device the old one goes with
    description: str = Field(max_length=500)  # the customer's: what the old device is
    address: dict[str, str] = Field(sa_type=JSON)  # the order's delivery address: street, city, postal_code, country
    state: str = Field(max_length=16)  # requested | collected | refused | cancelled
    requested_at: datetime = instant()
    collected_at: datetime | None = instant(nullable=True)  # staff's: when the old device was collected
    reason: str | None = Field(default=None, max_length=500)  # staff's, for a refusal
    closed_at: datetime | None = instant(nullable=True)  # when it was collected, refused or cancelled (recorded)
    closed_by: str | None = Field(default=None, max_length=120)
