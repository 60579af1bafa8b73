"""indexes for make sweep: open refunds and withdrawals by state and deadline

`make sweep` lists refunds pending or failed by `due_by`, withdrawals awaiting their goods by
`return_due_by` and those without a label by `refund_due_by`, a page at a time in (deadline, id)
order. Without these it read every refund and every withdrawal the shop ever had.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:40:00
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_refunds_state_due_by', 'refunds', ['state', 'due_by', 'id'], unique=False)
    op.create_index('ix_withdrawals_state_return_due_by', 'withdrawals', ['state', 'return_due_by', 'id'],
                    unique=False)
    op.create_index('ix_withdrawals_state_refund_due_by', 'withdrawals', ['state', 'refund_due_by', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_withdrawals_state_refund_due_by', table_name='withdrawals')
    op.drop_index('ix_withdrawals_state_return_due_by', table_name='withdrawals')
    op.drop_index('ix_refunds_state_due_by', table_name='refunds')
