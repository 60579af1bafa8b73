"""product delivery areas: RS-V.5.7, some products are delivered only to some areas

`products.delivery_areas`: the postal code prefixes a courier delivers the product to, shown in the
catalogue; empty (every product already there) is anywhere in the market (RS-V.5.1).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 16:17:20.468479
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import shop.adapters.tables


revision: str = '0023'
down_revision: Union[str, None] = '0022'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_areas', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+): a batch copy of `products` would break the keys that refer to it
    op.execute("ALTER TABLE products DROP COLUMN delivery_areas")
