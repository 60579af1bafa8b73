"""index for staff's work queue of service cases: by state, the oldest opened first

`GET /ops/service-cases?state=` lists the cases waiting in one state (opened, estimated, accepted;
KZ-4.5 … KZ-4.7) a page at a time in (opened_at, id) order, after the previous page's last. Without
it every page read every case the shop ever had and sorted them. (The withdrawals' queue reads the
indexes of 0011: (state, refund_due_by, id) and (state, return_due_by, id).)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 17:50:30
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0026'
down_revision: Union[str, None] = '0025'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('service_cases', schema=None) as batch_op:
        batch_op.create_index('ix_service_cases_state_opened_at', ['state', 'opened_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('service_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_service_cases_state_opened_at')
