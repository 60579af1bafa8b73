"""complaints: RS-X, each complaint with its channel, complainant, statement and answer

`complaints`: a complaint about a product, the contract or the service (RS-X.1), who made it and
where the answer goes (RS-X.2), its answer due within 8 days (RS-X.3) and the answer; read by staff
by state and deadline.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 13:12:51.408214
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import shop.adapters.tables


revision: str = '0014'
down_revision: Union[str, None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('complaints',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('market', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('about', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('answer_by', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('postal_address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
    sa.Column('remedy', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('received_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('recorded_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('answer_due_by', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('answered_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_complaints_state_answer_due_by', ['state', 'answer_due_by', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_state_answer_due_by')
        batch_op.drop_index(batch_op.f('ix_complaints_order_id'))
        batch_op.drop_index(batch_op.f('ix_complaints_customer_id'))

    op.drop_table('complaints')
