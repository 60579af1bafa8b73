"""conformity claims: RS-VI, a claim for lines of a delivered order and what became of it

`conformity_claims`: the lines claimed, the defect and the remedy chosen (RS-VI.4), the state, staff's
reason for a rejection or refusal, the customer's statement of a reduction or withdrawal, the
reduction granted, when the goods came back, and the refund.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:28:29.929756
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import shop.adapters.tables


revision: str = '0015'
down_revision: Union[str, None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('conformity_claims',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('line_ids', sa.JSON(), nullable=False),
    sa.Column('defect', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('remedy', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('claimed_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('updated_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('statement_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('reduction_minor', sa.Integer(), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('goods_back_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('refund_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('conformity_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conformity_claims_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conformity_claims_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conformity_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conformity_claims_order_id'))
        batch_op.drop_index(batch_op.f('ix_conformity_claims_customer_id'))

    op.drop_table('conformity_claims')
