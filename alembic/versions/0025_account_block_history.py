"""account block history: RS-XIII, every block of an account and its lifting (shop.domain.reviews)

`account_blocks`: every block of an account for abuse, who, when and why, and who lifted it, when
(NULL: the account's current block, as on its `users` row; at most one per account, a partial
unique index). Every account blocked now gets its current block as the first entry of its history,
from its `users` row (`blocked_by`, `blocked_reason` were always written with `blocked_at`).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 17:40:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import shop.adapters.tables


revision: str = '0025'
down_revision: Union[str, None] = '0024'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('account_blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('blocked_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('blocked_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('unblocked_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('unblocked_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('account_blocks', schema=None) as batch_op:
        batch_op.create_index('ix_account_blocks_account_id', ['account_id', 'id'], unique=False)
        batch_op.create_index('uq_account_blocks_open', ['account_id'], unique=True,
                              postgresql_where=sa.text('unblocked_at IS NULL'),
                              sqlite_where=sa.text('unblocked_at IS NULL'))
    op.execute("INSERT INTO account_blocks (account_id, blocked_at, blocked_by, reason) "
               "SELECT id, blocked_at, COALESCE(blocked_by, 'unknown'), COALESCE(blocked_reason, 'unknown') "
               "FROM users WHERE blocked_at IS NOT NULL ORDER BY id")


def downgrade() -> None:
    with op.batch_alter_table('account_blocks', schema=None) as batch_op:
        batch_op.drop_index('uq_account_blocks_open', postgresql_where=sa.text('unblocked_at IS NULL'),
                            sqlite_where=sa.text('unblocked_at IS NULL'))
        batch_op.drop_index('ix_account_blocks_account_id')

    op.drop_table('account_blocks')
