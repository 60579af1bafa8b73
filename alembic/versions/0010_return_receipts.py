"""return receipts: a rejected withdrawal releases its lines; each line's condition on receipt; proof of return

`withdrawal_lines` was keyed by the line, so a line could be covered once, ever. A rejected withdrawal
(RS-VII.14) now releases its lines, which stay listed with it (`released`), and they may be withdrawn
again: the key becomes (line, withdrawal) and a unique index on the lines not released keeps a line
held by one withdrawal at most, even by two statements at the same moment. `receipt` records, per
line, its condition when it came back and what had to come back with it and was missing (RS-VII.9,
RS-VII.13). `withdrawals.proof_of_return_at`: the proof the goods were sent back, on which the refund
was released before they arrived (RS-VII.11).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09 12:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from shop.adapters.tables import UTCDateTime

revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _withdrawal_lines(name: str, key: list[str], *, extra: bool) -> None:
    """withdrawal_lines as `name`, keyed by `key` (SQLite changes a key by copying the table)."""
    columns = [sa.Column('line_id', sa.Integer(), nullable=False),
               sa.Column('withdrawal_id', sa.String(length=36), nullable=False)]
    if extra:
        columns += [sa.Column('released', sa.Boolean(), server_default=sa.false(), nullable=False),
                    sa.Column('receipt', sa.JSON(), nullable=True)]
    op.create_table(name, *columns,
                    sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], ),
                    sa.ForeignKeyConstraint(['withdrawal_id'], ['withdrawals.id'], ),
                    sa.PrimaryKeyConstraint(*key))


def _rekey(key: list[str], *, extra: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint('withdrawal_lines_pkey', 'withdrawal_lines', type_='primary')
        op.create_primary_key('withdrawal_lines_pkey', 'withdrawal_lines', key)
        return
    _withdrawal_lines('_withdrawal_lines_0010', key, extra=extra)
    names = "line_id, withdrawal_id" + (", released, receipt" if extra else "")
    op.execute(f"INSERT INTO _withdrawal_lines_0010 ({names}) SELECT {names} FROM withdrawal_lines")
    op.drop_index('ix_withdrawal_lines_withdrawal_id', 'withdrawal_lines')
    op.drop_table('withdrawal_lines')
    op.rename_table('_withdrawal_lines_0010', 'withdrawal_lines')
    op.create_index('ix_withdrawal_lines_withdrawal_id', 'withdrawal_lines', ['withdrawal_id'], unique=False)


def upgrade() -> None:
    op.add_column('withdrawal_lines', sa.Column('released', sa.Boolean(), server_default=sa.false(),
                                                nullable=False))
    op.add_column('withdrawal_lines', sa.Column('receipt', sa.JSON(), nullable=True))
    _rekey(['line_id', 'withdrawal_id'], extra=True)
    op.create_index('uq_withdrawal_lines_held', 'withdrawal_lines', ['line_id'], unique=True,
                    postgresql_where=sa.text("released = false"), sqlite_where=sa.text("released = 0"))
    op.add_column('withdrawals', sa.Column('proof_of_return_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('withdrawals', schema=None) as batch_op:
        batch_op.drop_column('proof_of_return_at')
    op.drop_index('uq_withdrawal_lines_held', 'withdrawal_lines')
    op.execute("DELETE FROM withdrawal_lines WHERE released")  # a line covered twice keeps its live cover
    _rekey(['line_id'], extra=True)
    with op.batch_alter_table('withdrawal_lines', schema=None) as batch_op:
        batch_op.drop_column('receipt')
        batch_op.drop_column('released')
