"""erased accounts: RS-XII, the customer erases their account (shop.domain.privacy)

`users.erased_at`: when the account's personal data were erased (NULL: never). The row stays for
the orders, invoices, claims and timeline that refer to it; a token of an erased account is refused
as that of an account that is gone. Every existing account is not erased.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 12:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import shop.adapters.tables


revision: str = '0021'
down_revision: Union[str, None] = '0020'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', shop.adapters.tables.UTCDateTime(), nullable=True))


def downgrade() -> None:
    # Not a batch: SQLite would copy `users` into a new table and drop the old one, which the
    # foreign keys of orders, claims and complaints refuse; SQLite 3.35+ drops a column in place.
    op.execute("ALTER TABLE users DROP COLUMN erased_at")
