"""shipped devices: one order at a time holds a phone's IMEI (RS-IV.5)

The IMEIs of a shipment were checked within the shipment only, so the same device could leave on
two orders. A row per device out, keyed by its IMEI, makes the database refuse the second; a failed
delivery (RS-V.3) deletes its order's rows. The devices of orders already shipped or delivered are
copied in (the first order to hold an IMEI keeps it, should old data hold one twice).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 18:10:00
"""
import json
from datetime import UTC, datetime
from typing import Any, Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

from shop.adapters.tables import UTCDateTime

revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    devices = op.create_table(
        'shipped_devices',
        sa.Column('imei', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column('line_id', sa.Integer(), nullable=False),
        sa.Column('shipped_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], ),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
        sa.PrimaryKeyConstraint('imei'),
    )
    op.create_index(op.f('ix_shipped_devices_order_id'), 'shipped_devices', ['order_id'], unique=False)
    out = op.get_bind().execute(sa.text(
        "SELECT order_lines.id, order_lines.order_id, order_lines.imeis, orders.shipped_at FROM order_lines "
        "JOIN orders ON orders.id = order_lines.order_id WHERE orders.state IN ('shipped', 'delivered') "
        "AND orders.shipped_at IS NOT NULL ORDER BY orders.shipped_at, order_lines.id"))
    rows: dict[str, dict[str, object]] = {}
    for line_id, order_id, imeis, shipped_at in out:
        for imei in json.loads(imeis) if isinstance(imeis, str) else (imeis or []):
            rows.setdefault(imei, {"imei": imei, "order_id": order_id, "line_id": line_id,
                                   "shipped_at": _aware(shipped_at)})
    if rows:
        op.bulk_insert(devices, list(rows.values()))


def _aware(value: Any) -> datetime:
    """A naive UTC timestamp as read by plain SQL (SQLite: text), as an aware one."""
    return (datetime.fromisoformat(value) if isinstance(value, str) else value).replace(tzinfo=UTC)


def downgrade() -> None:
    op.drop_index(op.f('ix_shipped_devices_order_id'), table_name='shipped_devices')
    op.drop_table('shipped_devices')
