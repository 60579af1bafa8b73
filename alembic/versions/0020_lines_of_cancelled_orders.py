"""lines of cancelled orders: a line follows its order (shop.domain.order_lines)

Before it, an order cancelled (by the customer, the seller, the payment window or a failed delivery)
left its lines `ordered` or `confirmed`; the shop now cancels them with it. The lines of the orders
already cancelled are cancelled here, so every line reads as its order does. Nothing to undo: a
line of a cancelled order was never to be delivered.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 15:30:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0020'
down_revision: Union[str, None] = '0019'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute("UPDATE order_lines SET state = 'cancelled' WHERE state IN ('ordered', 'confirmed') "
               "AND order_id IN (SELECT id FROM orders WHERE state = 'cancelled')")


def downgrade() -> None:
    pass
