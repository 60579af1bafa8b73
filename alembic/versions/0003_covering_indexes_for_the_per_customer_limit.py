"""covering indexes for the per-customer limit (RS-V.5.5)

Every order counts the customer's open units of each product it holds. With an index on
orders.customer_id and one on order_lines.order_id, that read every order row and line row of the
customer; these two indexes hold every column the count needs, so it reads the indexes alone
(measured on SQLite, 100 orders a customer: 216 -> 48 µs a count). They replace the two
single-column indexes, whose lookups they serve as well.

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
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_customer_id_state', ['customer_id', 'state', 'id'], unique=False)
        batch_op.drop_index('ix_orders_customer_id')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index('ix_order_lines_order_id_sku', ['order_id', 'sku', 'state', 'quantity'], unique=False)
        batch_op.drop_index('ix_order_lines_order_id')


def downgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index('ix_order_lines_order_id', ['order_id'], unique=False)
        batch_op.drop_index('ix_order_lines_order_id_sku')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_customer_id', ['customer_id'], unique=False)
        batch_op.drop_index('ix_orders_customer_id_state')
