"""reviews, notices of illegal content and blocked accounts: RS-XIII (shop.domain.reviews)

`reviews`: a customer's review of a product (a rating and a text), one per customer and product
(a unique constraint), published or removed with staff's statement of reasons; read by product,
state and age (the public list). `content_notices`: a notice that a review is illegal content, who
sent it and staff's decision with its reasons; read undecided by age (staff's list).
`users.blocked_at`, `blocked_reason`, `blocked_by`: an account blocked from reviews and notices
for abuse until the problem is solved (NULL: not blocked). Every existing account is not blocked.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 16:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import shop.adapters.tables


revision: str = '0022'
down_revision: Union[str, None] = '0021'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('reviews',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('sku', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('posted_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('removed_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('removed_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('removal_reasons', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('notice_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['sku'], ['products.sku'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('customer_id', 'sku', name='uq_reviews_customer_id_sku')
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index('ix_reviews_sku_state_posted_at', ['sku', 'state', 'posted_at'], unique=False)

    op.create_table('content_notices',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('review_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('explanation', sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('received_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('reasons', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('decided_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('content_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_notices_review_id'), ['review_id'], unique=False)
        batch_op.create_index('ix_content_notices_state_received_at', ['state', 'received_at', 'id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('blocked_at', shop.adapters.tables.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('blocked_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
        batch_op.add_column(sa.Column('blocked_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))



def downgrade() -> None:
    # Not a batch: SQLite would copy `users` into a new table and drop the old one, which the
    # foreign keys of orders, claims and complaints refuse; SQLite 3.35+ drops a column in place.
    for column in ('blocked_by', 'blocked_reason', 'blocked_at'):
        op.execute(f"ALTER TABLE users DROP COLUMN {column}")

    with op.batch_alter_table('content_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_content_notices_state_received_at')
        batch_op.drop_index(batch_op.f('ix_content_notices_review_id'))

    op.drop_table('content_notices')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_reviews_sku_state_posted_at')

    op.drop_table('reviews')
