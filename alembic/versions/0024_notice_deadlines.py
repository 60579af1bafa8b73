"""notice deadlines: RS-XIII 12.5, notices decided without undue delay (shop.domain.reviews)

`content_notices.decide_by`: when staff's decision on a notice of illegal content is due, the end of
the 2nd working day of the RS calendar after its receipt; read undecided by it (`make sweep`). Every
notice already there gets it from its `received_at` by the rule of shop.domain.reviews.decide_by,
computed here in Python (the working-day calendar is not SQL).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 17:04:22
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import shop.adapters.tables
from shop.domain.reviews import decide_by


revision: str = '0024'
down_revision: Union[str, None] = '0023'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _notices_decide_by() -> None:
    """Each notice's `decide_by` from its `received_at` (none: nothing to do)."""
    notices = sa.table('content_notices', sa.column('id', sa.String()),
                       sa.column('received_at', shop.adapters.tables.UTCDateTime()),
                       sa.column('decide_by', shop.adapters.tables.UTCDateTime()))
    connection = op.get_bind()
    due = [{"b_id": row.id, "b_due": decide_by(row.received_at)}
           for row in connection.execute(sa.select(notices.c.id, notices.c.received_at))]
    if due:
        connection.execute(notices.update().where(notices.c.id == sa.bindparam("b_id"))
                           .values(decide_by=sa.bindparam("b_due")), due)


def upgrade() -> None:
    with op.batch_alter_table('content_notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decide_by', shop.adapters.tables.UTCDateTime(), nullable=True))
    _notices_decide_by()
    with op.batch_alter_table('content_notices', schema=None) as batch_op:
        batch_op.alter_column('decide_by', existing_type=shop.adapters.tables.UTCDateTime(), nullable=False)
        batch_op.create_index('ix_content_notices_state_decide_by', ['state', 'decide_by', 'id'], unique=False)


def downgrade() -> None:
    # a batch copy of `content_notices` (no other table refers to it)
    with op.batch_alter_table('content_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_content_notices_state_decide_by')
        batch_op.drop_column('decide_by')
