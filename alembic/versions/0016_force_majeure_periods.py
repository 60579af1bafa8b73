"""force majeure periods: RS-VIII, T-7, a market's declared period and what its end moved

`force_majeure_periods`: a market's period from its start to its end, its reason, who declared and
ended it, and how many of the seller's deadlines its end moved.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 13:57:34.121302
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import shop.adapters.tables


revision: str = '0016'
down_revision: Union[str, None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('force_majeure_periods',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('market', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('starts_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('ends_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('declared_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('declared_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('ended_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('moved', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('force_majeure_periods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_force_majeure_periods_market'), ['market'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('force_majeure_periods', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_force_majeure_periods_market'))

    op.drop_table('force_majeure_periods')
