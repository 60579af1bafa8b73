"""SQLModel tables. Money is kept in minor units (integers); instants are UTC (T-5). The KZ perk
bundle's tables are in shop.adapters.perk_tables; the invoices, complaints, conformity claims,
force-majeure periods and take-backs in shop.adapters.after_sale_tables; reviews and notices of
illegal content in shop.adapters.review_tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite keeps no offset): stored as naive UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def instant(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None if nullable else ..., sa_type=UTCDateTime, nullable=nullable, index=index)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    password_hash: str
    full_name: str = Field(max_length=200)
    birth_date: date
    phone: str | None = Field(default=None, max_length=32)
    guardian_name: str | None = Field(default=None, max_length=200)  # RS-I.2
    guardian_consent_given_at: date | None = None  # RS-I.2
    is_ops: bool = False
    created_at: datetime = instant()
    erased_at: datetime | None = instant(nullable=True)  # RS-XII: its personal data erased (shop.domain.privacy)
    blocked_at: datetime | None = instant(nullable=True)  # RS-XIII: blocked from reviews and notices for abuse
    blocked_reason: str | None = Field(default=None, max_length=500)
    blocked_by: str | None = Field(default=None, max_length=120)


class Product(SQLModel, table=True):
    __tablename__ = "products"
    __table_args__ = (
        sa.CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="ck_products_reserved"),
    )

    sku: str = Field(primary_key=True, max_length=64)
    market: str = Field(max_length=2, index=True)
    name: str = Field(max_length=200)
    model: str = Field(max_length=120)
    category: str = Field(max_length=32)  # phone | accessory | set
    price_minor: int  # gross, VAT included (RS-III.1)
    currency: str = Field(max_length=3)
    vat_rate: str = Field(max_length=8)  # decimal as text, e.g. "0.20"
    on_hand: int = 0
    reserved: int = 0
    max_per_customer: int = 5  # RS-V.5.5
    returnable: bool = True  # RS-VII.14
    requires_imei: bool = False
    delivery_methods: list[str] = Field(default_factory=list, sa_type=JSON)  # RS-V.2
    # RS-V.5.7: the postal code prefixes a courier delivers it to; [] anywhere in the market
    delivery_areas: list[str] = Field(default_factory=list, sa_type=JSON,
                                      sa_column_kwargs={"server_default": sa.text("'[]'")})
    set_items: list[str] = Field(default_factory=list, sa_type=JSON)  # RS-VII.13

    @property
    def available(self) -> int:
        """Units on hand that no open order holds."""
        return max(0, self.on_hand - self.reserved)


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (sa.Index("ix_orders_state_payment_due_at", "state", "payment_due_at"),)

    id: str = Field(primary_key=True, max_length=36)
    number: str = Field(max_length=32, unique=True)
    customer_id: int = Field(foreign_key="users.id", index=True)
    market: str = Field(max_length=2)
    state: str = Field(max_length=40)
    payment_method: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    items_minor: int
    delivery_minor: int
    total_minor: int
    vat_minor: int
    terms_version: str = Field(max_length=16)  # RS-XV
    delivery: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    coupon_code: str | None = Field(default=None, max_length=64)
    f_code: str | None = Field(default=None, max_length=64)
    placed_at: datetime = instant()
    payment_due_at: datetime | None = instant(nullable=True)  # RS-V.1
    expected_delivery_on: date  # RS-V.5.2
    paid_at: datetime | None = instant(nullable=True)
    confirmed_at: datetime | None = instant(nullable=True)
    shipped_at: datetime | None = instant(nullable=True)
    delivered_at: datetime | None = instant(nullable=True)
    cancelled_at: datetime | None = instant(nullable=True)
    carrier: str | None = Field(default=None, max_length=64)
    tracking_number: str | None = Field(default=None, max_length=64)
    payment_intent_id: str | None = Field(default=None, max_length=255, unique=True)
    client_secret: str | None = Field(default=None, max_length=255)


OPEN_LINE = sa.text("state <> 'cancelled'")
"""A line not cancelled (a line follows its order: the lines of a cancelled order are cancelled with
it, shop.services.orders_common.cancel_lines), in the words the index of open lines and the count that
reads it both use: PostgreSQL's generic plan uses a partial index only for a condition written in the
statement, not one of bound parameters."""


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    # RS-V.5.5: every order counts the customer's units of each product in lines not cancelled from
    # the partial index of open lines alone (alembic/versions/0027_open_units_by_customer.py).
    __table_args__ = (sa.Index("ix_order_lines_order_id_sku", "order_id", "sku", "state", "quantity"),
                      sa.Index("ix_order_lines_open_units", "customer_id", "sku", "state", "quantity",
                               sqlite_where=OPEN_LINE, postgresql_where=OPEN_LINE))

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(foreign_key="orders.id", max_length=36)
    customer_id: int
    """The order's customer, copied when the line is written (an order never changes hands)."""
    sku: str = Field(max_length=64)
    name: str = Field(max_length=200)
    model: str = Field(max_length=120)
    category: str = Field(max_length=32)
    quantity: int
    unit_price_minor: int  # the price the order was placed with (RS-V.5.8)
    vat_rate: str = Field(max_length=8)
    requires_imei: bool = False
    returnable: bool = True
    set_items: list[str] = Field(default_factory=list, sa_type=JSON)
    state: str = Field(default="ordered", max_length=16)  # ordered | confirmed | cancelled
    imeis: list[str] = Field(default_factory=list, sa_type=JSON)
    # RS-III.2: the market unit price staff stated when they cancelled the order for its price error
    market_price_minor: int | None = None
    # RS-III.2: refunded of the line's price for a price charged above the correct one, in all
    price_corrected_minor: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class ShippedDevice(SQLModel, table=True):
    """A phone out with an order, by its IMEI (RS-IV.5): one order at a time holds a device, so the
    same IMEI cannot leave twice; a failed delivery (RS-V.3) gives it back."""

    __tablename__ = "shipped_devices"

    imei: str = Field(primary_key=True, max_length=15)
    order_id: str = Field(foreign_key="orders.id", max_length=36, index=True)
    line_id: int = Field(foreign_key="order_lines.id")
    shipped_at: datetime = instant()


class TimelineEntry(SQLModel, table=True):
    """Every transition of an order and of the machines below it (its lines, its refunds …), written
    in the same transaction as the state change (shop.adapters.stores.timeline)."""

    __tablename__ = "order_timeline"

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    machine: str = Field(default="order", max_length=32, sa_column_kwargs={"server_default": "order"})
    subject_id: str | None = Field(default=None, max_length=64)  # a line's, a refund's id; None: the order
    at: datetime = instant()
    from_state: str | None = Field(default=None, max_length=40)
    to_state: str = Field(max_length=40)
    event: str = Field(max_length=40)
    actor: str = Field(max_length=120)
    reason: str | None = Field(default=None, max_length=500)
    clause: str | None = Field(default=None, max_length=16)


class Refund(SQLModel, table=True):
    __tablename__ = "refunds"
    __table_args__ = (sa.Index("ix_refunds_state", "state", "id"),  # the pending ones, for the sender
                      sa.Index("ix_refunds_state_due_by", "state", "due_by", "id"))  # for `make sweep`

    id: str = Field(primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    amount_minor: int
    currency: str = Field(max_length=3)
    reason: str = Field(max_length=200)
    clause: str = Field(max_length=16)
    due_by: datetime = instant()
    state: str = Field(default="pending", max_length=16)  # pending | succeeded | failed
    stripe_refund_id: str | None = Field(default=None, max_length=255, unique=True)
    failure: str | None = Field(default=None, max_length=500)
    created_at: datetime = instant()
    updated_at: datetime = instant()
    attempts: int = 1  # asked of Stripe this many times: the first, then each staff retry
    claimed_until: datetime | None = instant(nullable=True)  # a sender's lease (shop.adapters.stores.outbox)


class Withdrawal(SQLModel, table=True):
    """A customer's statement of withdrawal (RS-VII) and the return and refund it leads to
    (shop.domain.withdrawal); written by shop.adapters.stores.withdrawals alone."""

    __tablename__ = "withdrawals"
    __table_args__ = (  # `make sweep` reads the open ones by state and deadline, not every withdrawal
        sa.Index("ix_withdrawals_state_return_due_by", "state", "return_due_by", "id"),
        sa.Index("ix_withdrawals_state_refund_due_by", "state", "refund_due_by", "id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    state: str = Field(max_length=16)  # requested | awaiting_return | received | refunded | rejected
    channel: str = Field(max_length=16)  # RS-VII.3
    sent_at: datetime = instant()  # T-6: what the period judges
    recorded_at: datetime = instant()
    refund_due_by: datetime = instant()  # RS-VII.10: from the statement; moved only by force majeure (T-7)
    return_due_by: datetime | None = instant(nullable=True)  # RS-VII.7
    label_issued_at: datetime | None = instant(nullable=True)
    received_at: datetime | None = instant(nullable=True)
    deduction_minor: int | None = None  # RS-VII.10: diminished value
    note: str | None = Field(default=None, max_length=500)
    refund_id: str | None = Field(default=None, foreign_key="refunds.id", max_length=36)
    rejected_reason: str | None = Field(default=None, max_length=500)
    proof_of_return_at: datetime | None = instant(nullable=True)  # RS-VII.11: the refund released on it


class WithdrawalLine(SQLModel, table=True):
    """A line a withdrawal covers: one withdrawal at most holds each line (the unique index on the
    lines not released), so two statements at once cannot both take it; a rejected withdrawal
    releases its lines (they stay listed with it) so they can be withdrawn again. `receipt`: the
    line's condition when it came back and what had to come back with it (RS-VII.9, RS-VII.13)."""

    __tablename__ = "withdrawal_lines"
    __table_args__ = (
        sa.Index("uq_withdrawal_lines_held", "line_id", unique=True,
                 postgresql_where=sa.text("released = false"), sqlite_where=sa.text("released = 0")),
    )

    line_id: int = Field(primary_key=True, foreign_key="order_lines.id")
    withdrawal_id: str = Field(primary_key=True, foreign_key="withdrawals.id", index=True, max_length=36)
    released: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    receipt: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class PaymentEvent(SQLModel, table=True):
    """Append-only ledger of payment facts, keyed by the provider's ids."""

    __tablename__ = "payment_events"
    __table_args__ = (  # the few flagged for staff, newest first, without reading the whole ledger
        sa.Index("ix_payment_events_flagged", "id", postgresql_where=sa.text("flagged IS NOT NULL"),
                 sqlite_where=sa.text("flagged IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    fact_key: str = Field(max_length=255, unique=True)  # Stripe event id, or "<object id>:<kind>"
    kind: str = Field(max_length=64)
    order_id: str | None = Field(default=None, max_length=36, index=True)
    # No index: nothing looks a fact up by it (orders.payment_intent_id has one); see alembic 0003.
    payment_intent_id: str | None = Field(default=None, max_length=255)
    amount_minor: int | None = None
    currency: str | None = Field(default=None, max_length=3)
    occurred_at: datetime = instant()
    recorded_at: datetime = instant()
    flagged: str | None = Field(default=None, max_length=200)


class OutboxRow(SQLModel):
    """What every outbox row carries: when it was queued, a sender's lease, when it went out."""

    created_at: datetime = instant()
    claimed_until: datetime | None = instant(nullable=True)  # a sender's lease
    sent_at: datetime | None = instant(nullable=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)


class StripeCommand(OutboxRow, table=True):
    """Outbox of calls owed to Stripe, written in the transaction that decided them and sent after
    it (so a bulk job never waits on Stripe inside a database transaction)."""

    __tablename__ = "stripe_commands"
    __table_args__ = (sa.Index("ix_stripe_commands_pending", "sent_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # cancel_payment_intent
    payment_intent_id: str = Field(max_length=255)
    order_id: str = Field(max_length=36)


class OutboxEmail(OutboxRow, table=True):
    """E-mails to customers, written in the transaction of what they announce and sent after it
    (RS-IV.5 order information, RS-IV.6 confirmation, delivery started and done, cancellations, the
    withdrawal's messages)."""

    __tablename__ = "outbox_emails"
    __table_args__ = (sa.Index("ix_outbox_emails_pending", "sent_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: str | None = Field(default=None, max_length=36, index=True)
    to: str = Field(max_length=320)
    subject: str = Field(max_length=200)
    body: str
    kind: str = Field(max_length=40)
    message_id: str = Field(max_length=100)
    """Its Message-ID's unique part, given when it is queued (`<message_id@sender's domain>`): every
    attempt sends the same one."""
    accepted_at: datetime | None = instant(nullable=True)
    """When the shop's SMTP server accepted it (the first hop towards the customer's mail server, whose
    receipt counts, RS-IV.8-9; a confirmation forms the contract on receipt, RS-IV.6)."""


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_records"

    scope: str = Field(primary_key=True, max_length=200)  # "<customer id> <METHOD> <route>"
    key: str = Field(primary_key=True, max_length=255)
    request_hash: str = Field(max_length=64)
    resource_id: str | None = Field(default=None, max_length=64)
    status_code: int | None = None
    body: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = instant()


class TechnicalInterruption(SQLModel, table=True):
    """A market's announced technical interruption (RS-IV.4, shop.domain.interruptions): new orders
    are refused while it is in effect. Written by shop.adapters.stores.interruptions alone; read on
    every order with the offer (shop.adapters.stores.offers), by its market and times."""

    __tablename__ = "technical_interruptions"
    __table_args__ = (sa.Index("ix_technical_interruptions_market_ends_at", "market", "ends_at"),)

    id: str = Field(primary_key=True, max_length=36)
    market: str = Field(max_length=2)
    state: str = Field(max_length=16)  # announced | called_off | ended
    starts_at: datetime = instant()
    ends_at: datetime = instant()
    """When it is over: as announced, or when staff ended it early."""
    announced_ends_at: datetime = instant()
    notice: str = Field(max_length=500)  # what the storefront shows the customer
    announced_by: str = Field(max_length=120)
    announced_at: datetime = instant()
    closed_by: str | None = Field(default=None, max_length=120)  # who called it off or ended it
    closed_at: datetime | None = instant(nullable=True)


class TestClock(SQLModel, table=True):
    """The test clock (SHOP_ENV=test only): one row, read by the server and the make tasks alike."""

    __tablename__ = "test_clock"
    __test__ = False  # not a pytest class

    id: int = Field(default=1, primary_key=True)
    now: datetime = instant()


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table of a model, for statements that need no ORM objects (the hot paths: a Core
    statement skips the ORM's compile and load steps, about half of a small statement's cost)."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]
