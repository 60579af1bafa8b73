"""flagged payments: an index of the ledger's facts flagged for staff

`GET /api/v1/ops/payments/flagged` lists the facts the shop recorded but did not apply, newest
first. They are few among many; a partial index of their ids reads just them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 19:30:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_payment_events_flagged', 'payment_events', ['id'], unique=False,
                    postgresql_where=sa.text('flagged IS NOT NULL'), sqlite_where=sa.text('flagged IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_payment_events_flagged', table_name='payment_events')
