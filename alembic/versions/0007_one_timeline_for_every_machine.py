"""one timeline for every machine: each entry names its machine and, below the order, its subject

The order's timeline held the order's transitions only. Order lines and refunds are machines of
their own (shop/domain/machines.py), and so are the withdrawal and the perks to come: an entry now
says which machine moved (`machine`, "order" for every entry written before) and which of the order's
records it moved (`subject_id`: a line's or a refund's id; NULL for the order itself).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 23:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('order_timeline') as batch:
        batch.add_column(sa.Column('machine', sa.String(length=32), nullable=False, server_default='order'))
        batch.add_column(sa.Column('subject_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('order_timeline') as batch:
        batch.drop_column('subject_id')
        batch.drop_column('machine')
