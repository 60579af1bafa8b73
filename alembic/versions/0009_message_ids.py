"""message ids: every e-mail's Message-ID given when it is queued, and when the SMTP server accepted it

An e-mail went out without a Message-ID of its own, and nothing recorded when the server took it. Each
outbox e-mail now carries `message_id`, the unique part of its Message-ID, given when it is queued
(shop.services.mail.message_id; the expiry job's INSERT … SELECT gives the order's id and a token of the
statement), so every attempt to send it sends the same one; e-mails queued before get
`<order id>.outbox-<row id>`. `accepted_at` is when the SMTP server accepted it (RS-IV.6, RS-IV.8-9).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 12:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from shop.adapters.tables import UTCDateTime

revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('accepted_at', UTCDateTime(), nullable=True))
    op.execute("UPDATE outbox_emails SET message_id = "
               "coalesce(order_id, 'shop') || '.outbox-' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.alter_column('message_id', existing_type=sa.String(length=100), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.drop_column('accepted_at')
        batch_op.drop_column('message_id')
