"""the customer's open units of a product from one index: order_lines.customer_id, ix_order_lines_open_units

Every order counts the customer's units of each product it holds in lines not cancelled (RS-V.5.5),
twice: before Stripe is called and again in the order's transaction. That count went through every
order of the customer and looked up each one's lines of the product, so it grew with everything
the customer had ever ordered (SQLite, a customer of 70 orders: 90 µs a count; PostgreSQL, 25
orders: about 140 µs of the server's time). A line now carries its order's customer (copied here
from the orders, and by the shop when it writes a line: an order never changes hands), and a partial
index of the open lines by (customer_id, sku, state, quantity) answers the count by itself (15 and
40 µs). On SQLite the table is copied to make the column NOT NULL (alembic's batch mode), with
foreign keys checked once it is done (shop.adapters.database.Database.schema_change).

Partial: a line cancelled leaves the index, and the count reads no cancelled line. The payment
window's expiry (100,000 lines cancelled at once, RS-V.1) writes no entry of it on PostgreSQL (5.45 and
5.71 s before, 5.35 and 4.81 s after); SQLite takes each line out of it (3.56 and 3.72 s before, 4.86
and 4.57 s after), against the count's 2 × 75 µs saved for each order of a customer with 70 orders. A line follows its
order (0020, shop.services.orders_common.cancel_lines): lines not cancelled are lines of orders not
cancelled.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 01:10:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0027'
down_revision: Union[str, None] = '0026'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OPEN_LINE = sa.text("state <> 'cancelled'")


def upgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
    op.execute("UPDATE order_lines SET customer_id = "
               "(SELECT orders.customer_id FROM orders WHERE orders.id = order_lines.order_id)")
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.alter_column('customer_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index('ix_order_lines_open_units', ['customer_id', 'sku', 'state', 'quantity'], unique=False,
                              sqlite_where=OPEN_LINE, postgresql_where=OPEN_LINE)


def downgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_order_lines_open_units', sqlite_where=OPEN_LINE, postgresql_where=OPEN_LINE)
        batch_op.drop_column('customer_id')
