"""indexes for the hot paths: a covering one for the per-customer limit (RS-V.5.5), one fewer on the ledger

Every order counts the customer's open units of each product it holds: for each of the customer's
orders, its lines of that product. With an index on order_lines.order_id alone, that read every
line row; this index holds every column the count needs from order_lines, so it reads the index
alone (SQLite, 100 orders a customer: 216-247 -> 134-150 µs a count). It replaces the single-column
index, whose lookups it serves as well.

The orders side stays on ix_orders_customer_id: an index of (customer_id, state, id) made the count
48-55 µs, but every change of an order's state then rewrote it too: the 100,000-order expiry
(RS-V.1) on SQLite went from 2.96 to 4.20 s (3.15 s once it was gone again).

ix_payment_events_payment_intent_id goes: no statement looks a ledger fact up by its PaymentIntent
(an order is found by orders.payment_intent_id, a fact by its fact_key), and every fact written
(two for each paid order) wrote a page of it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 06:40:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_events_payment_intent_id')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index('ix_order_lines_order_id_sku', ['order_id', 'sku', 'state', 'quantity'], unique=False)
        batch_op.drop_index('ix_order_lines_order_id')


def downgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index('ix_order_lines_order_id', ['order_id'], unique=False)
        batch_op.drop_index('ix_order_lines_order_id_sku')
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.create_index('ix_payment_events_payment_intent_id', ['payment_intent_id'], unique=False)
