"""take backs: RS-V.5.4, the free take-back of an old device of the same type and function

`take_backs`: one old device to be taken back for a device line of an order, at the order's
delivery address (copied when requested), what the customer says it is, its state, when staff
collected it or why they refused it. Read by customer, the requested ones by state and age (staff's
list), and counted by line and state (one old device per unit of the line).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 14:45:59.533285
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import shop.adapters.tables


revision: str = '0019'
down_revision: Union[str, None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('take_backs',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('sku', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('address', sa.JSON(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('requested_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('collected_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('closed_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('take_backs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_take_backs_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_take_backs_line_id_state', ['line_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_take_backs_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_take_backs_state_requested_at', ['state', 'requested_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('take_backs', schema=None) as batch_op:
        batch_op.drop_index('ix_take_backs_state_requested_at')
        batch_op.drop_index(batch_op.f('ix_take_backs_order_id'))
        batch_op.drop_index('ix_take_backs_line_id_state')
        batch_op.drop_index(batch_op.f('ix_take_backs_customer_id'))

    op.drop_table('take_backs')
