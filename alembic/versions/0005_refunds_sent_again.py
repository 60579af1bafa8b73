"""refunds sent again: a refund's attempts and a sender's lease

A refund was recorded in its order's transaction and sent to Stripe after the commit; a process that
stopped in between (or lost Stripe's answer) left it pending for ever, and staff could retry only a
failed one. `claimed_until` leases a pending refund to the process sending it; once the lease has
passed, `make expire-payments` sends it again (no answer from Stripe) or asks Stripe about it (an
answer of `pending` whose outcome's event never came). `attempts` numbers the
requests of one refund, so each staff retry has an idempotency key of its own (a repeated key gets
Stripe's first answer back); it is counted from the ledger's `refund.requested` facts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 19:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from shop.adapters.tables import UTCDateTime

revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('claimed_until', UTCDateTime(), nullable=True))
        batch_op.create_index('ix_refunds_state', ['state', 'id'], unique=False)
    requested = "payment_events.fact_key LIKE refunds.id || :requested"  # "<refund id>:refund.requested:<n>"
    op.execute(sa.text(
        f"UPDATE refunds SET attempts = (SELECT count(*) FROM payment_events WHERE {requested}) "
        f"WHERE EXISTS (SELECT 1 FROM payment_events WHERE {requested})"
    ).bindparams(requested=":refund.requested:%"))


def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_state')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('attempts')
