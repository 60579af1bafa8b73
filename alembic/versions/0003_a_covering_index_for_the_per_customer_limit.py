"""a covering index for the per-customer limit (RS-V.5.5)

Every order counts the customer's open units of each product it holds: for each of the customer's
orders, its lines of that product. With an index on order_lines.order_id alone, that read every
line row; this index holds every column the count needs from order_lines, so it reads the index
alone (SQLite, 100 orders a customer: 216-247 -> 134-150 µs a count). It replaces the single-column
index, whose lookups it serves as well.

The orders side stays on ix_orders_customer_id: an index of (customer_id, state, id) made the count
48-55 µs, but every change of an order's state then rewrote it too, and the 100,000-order expiry
(RS-V.1) went from 8.2 to 10.2 s on PostgreSQL, over its 10 s target.

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
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index('ix_order_lines_order_id_sku', ['order_id', 'sku', 'state', 'quantity'], unique=False)
        batch_op.drop_index('ix_order_lines_order_id')


def downgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index('ix_order_lines_order_id', ['order_id'], unique=False)
        batch_op.drop_index('ix_order_lines_order_id_sku')
