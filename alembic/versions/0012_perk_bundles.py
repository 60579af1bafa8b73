"""perk bundles: the KZ VIP bundle of each device, its perks, device activations, service cases

`perk_bundles`: one per device of a qualifying KZ order line, made when it is paid and confirmed
(P-1), with the terms edition and local purchase date it keeps. `perks`: each perk of a bundle in the
PERK lifecycle, its deadlines, and a redeemed service code as a hash and its last characters only
(P-4). `device_activations`: an IMEI's activation and country (KZ-1). `service_cases`: repairs and
warranty cases under a perk (KZ-4.5 … 4.7).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 00:50:39.554501
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import shop.adapters.tables


revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('device_activations',
    sa.Column('imei', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('activated_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('recorded_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.PrimaryKeyConstraint('imei')
    )
    op.create_table('perk_bundles',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.Integer(), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('terms_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('purchased_on', sa.Date(), nullable=False),
    sa.Column('imei', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=True),
    sa.Column('created_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('line_id', 'unit', name='uq_perk_bundles_line_unit')
    )
    with op.batch_alter_table('perk_bundles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_perk_bundles_imei'), ['imei'], unique=False)
        batch_op.create_index(batch_op.f('ix_perk_bundles_order_id'), ['order_id'], unique=False)

    op.create_table('perks',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('bundle_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('clause', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('activate_by', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('use_by', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('opens_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('lapses_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('created_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('updated_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('redeemed_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('code_salt', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('code_hint', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('redemption', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['bundle_id'], ['perk_bundles.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bundle_id', 'code', name='uq_perks_bundle_code')
    )
    with op.batch_alter_table('perks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_perks_bundle_id'), ['bundle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_perks_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_perks_state_lapses_at', ['state', 'lapses_at', 'id'], unique=False)

    op.create_table('service_cases',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('perk_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('imei', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('fault', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('opened_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('updated_at', shop.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('exclusion', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('parts_minor', sa.Integer(), nullable=True),
    sa.Column('logistics_minor', sa.Integer(), nullable=True),
    sa.Column('inspection_minor', sa.Integer(), nullable=True),
    sa.Column('decided_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.Column('closed_at', shop.adapters.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['perk_id'], ['perks.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('service_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_cases_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_cases_perk_id'), ['perk_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('service_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_cases_perk_id'))
        batch_op.drop_index(batch_op.f('ix_service_cases_order_id'))

    op.drop_table('service_cases')
    with op.batch_alter_table('perks', schema=None) as batch_op:
        batch_op.drop_index('ix_perks_state_lapses_at')
        batch_op.drop_index(batch_op.f('ix_perks_order_id'))
        batch_op.drop_index(batch_op.f('ix_perks_bundle_id'))

    op.drop_table('perks')
    with op.batch_alter_table('perk_bundles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_perk_bundles_order_id'))
        batch_op.drop_index(batch_op.f('ix_perk_bundles_imei'))

    op.drop_table('perk_bundles')
    op.drop_table('device_activations')
