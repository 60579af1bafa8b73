"""technical interruptions: RS-IV.4, a market's announced interruption of new orders

`technical_interruptions`: a market's interruption from its start to its end (as announced, or when
staff ended it early), the notice the storefront shows, who announced it and who called it off or
ended it. Read on every order with its offer, by market and end (the index).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:32:57.426352
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import shop.adapters.tables


revision: str = '0018'
down_revision: Union[str, None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('technical_interruptions',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('market', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('starts_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('ends_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('announced_ends_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('notice', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('announced_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('announced_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('closed_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('technical_interruptions', schema=None) as batch_op:
        batch_op.create_index('ix_technical_interruptions_market_ends_at', ['market', 'ends_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('technical_interruptions', schema=None) as batch_op:
        batch_op.drop_index('ix_technical_interruptions_market_ends_at')

    op.drop_table('technical_interruptions')
