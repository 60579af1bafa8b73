"""line price errors: RS-III.2, the market price stated and the price corrected of an order line

`order_lines.market_price_minor`: the product's market unit price staff stated when they cancelled the
order for an obvious price error (the evidence kept with the line; NULL: no price error).
`order_lines.price_corrected_minor`: what was refunded of the line's price because it was charged above
its correct price, in all (0 for every line so far), so that a second correction refunds only the rest
of the difference and a later withdrawal refunds what the customer paid.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 10:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0017'
down_revision: Union[str, None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('market_price_minor', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('price_corrected_minor', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_column('price_corrected_minor')
        batch_op.drop_column('market_price_minor')
