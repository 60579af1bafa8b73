"""withdrawals: the customer's statement of withdrawal, its return and its refund (RS-VII)

`withdrawals` keeps each statement (its channel and the moment it was sent, T-6), the deadlines it
sets (the refund's, RS-VII.10; the return's once the label is issued, RS-VII.7), the receipt and the
refund it led to. `withdrawal_lines` names the lines each covers, keyed by the line: a line is
withdrawn once, even by two statements at the same moment.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 00:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shop.adapters.tables

revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    instant = shop.adapters.tables.UTCDateTime
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        'withdrawals',
        sa.Column('id', text(length=36), nullable=False),
        sa.Column('order_id', text(length=36), nullable=False),
        sa.Column('state', text(length=16), nullable=False),
        sa.Column('channel', text(length=16), nullable=False),
        sa.Column('sent_at', instant(), nullable=False),
        sa.Column('recorded_at', instant(), nullable=False),
        sa.Column('refund_due_by', instant(), nullable=False),
        sa.Column('return_due_by', instant(), nullable=True),
        sa.Column('label_issued_at', instant(), nullable=True),
        sa.Column('received_at', instant(), nullable=True),
        sa.Column('deduction_minor', sa.Integer(), nullable=True),
        sa.Column('note', text(length=500), nullable=True),
        sa.Column('refund_id', text(length=36), nullable=True),
        sa.Column('rejected_reason', text(length=500), nullable=True),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
        sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('withdrawals') as batch:
        batch.create_index(batch.f('ix_withdrawals_order_id'), ['order_id'], unique=False)
    op.create_table(
        'withdrawal_lines',
        sa.Column('line_id', sa.Integer(), nullable=False),
        sa.Column('withdrawal_id', text(length=36), nullable=False),
        sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], ),
        sa.ForeignKeyConstraint(['withdrawal_id'], ['withdrawals.id'], ),
        sa.PrimaryKeyConstraint('line_id'),
    )
    with op.batch_alter_table('withdrawal_lines') as batch:
        batch.create_index(batch.f('ix_withdrawal_lines_withdrawal_id'), ['withdrawal_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('withdrawal_lines') as batch:
        batch.drop_index(batch.f('ix_withdrawal_lines_withdrawal_id'))
    op.drop_table('withdrawal_lines')
    with op.batch_alter_table('withdrawals') as batch:
        batch.drop_index(batch.f('ix_withdrawals_order_id'))
    op.drop_table('withdrawals')
