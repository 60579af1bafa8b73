"""invoices and credit notes: the order's VAT invoice and its refunds' corrected invoices

`invoices`: each document as issued (RS-IV.8–9 on the seller's confirmation, RS-IV.10 on a refund
after it), its seller and buyer, its lines and totals, the invoice a credit note corrects and the refund it documents, and
the e-mail that sent it (whose acceptance is its receipt). `invoice_series`: the last number of each
series (a kind, a market, a local year), so that numbers follow each other without gaps.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 13:02:19.725817
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import shop.adapters.tables


revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('invoice_series',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('market', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'market', 'year')
    )
    op.create_table('invoices',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('issued_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('vat_rate', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('total_minor', sa.Integer(), nullable=False),
    sa.Column('vat_minor', sa.Integer(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('seller', sa.JSON(), nullable=False),
    sa.Column('buyer', sa.JSON(), nullable=False),
    sa.Column('corrects_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('refund_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('email_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['corrects_id'], ['invoices.id'], ),
    sa.ForeignKeyConstraint(['email_id'], ['outbox_emails.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('refund_id')
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_order_id'))

    op.drop_table('invoices')
    op.drop_table('invoice_series')
