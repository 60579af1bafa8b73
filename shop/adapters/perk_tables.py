"""The KZ perk bundle's tables (P-1 … P-4, KZ-1, KZ-4.5 … 4.7): bundles and their perks (written by
shop.adapters.stores.perks), device activations (stores.devices) and service cases
(stores.service_cases). Instants are UTC (T-5), as in shop.adapters.tables."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from shop.adapters.tables import instant


class PerkBundle(SQLModel, table=True):
    """The KZ VIP bundle of one device (P-1, KZ-1): made when its order line is paid and confirmed,
    one per unit; it keeps the terms edition it was made with (a later edition never changes it) and
    the local purchase date its deadlines count from; the device's IMEI is tied to it when it ships."""

    __tablename__ = "perk_bundles"
    __table_args__ = (sa.UniqueConstraint("line_id", "unit", name="uq_perk_bundles_line_unit"),)

    id: str = Field(primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    line_id: int = Field(foreign_key="order_lines.id")
    unit: int  # 1 … the line's quantity: one bundle per device
    model: str = Field(max_length=120)
    terms_version: str = Field(max_length=32)
    purchased_on: date  # P-1 Decision: the local (Almaty) date the order was placed
    imei: str | None = Field(default=None, max_length=15, index=True)
    created_at: datetime = instant()


class BundlePerk(SQLModel, table=True):
    """One perk of a bundle, moved along the PERK lifecycle (shop.domain.perk_lifecycle) by
    shop.adapters.stores.perks alone. A service code is never stored: only its hash and its last
    characters for support (KZ-4.1, KZ-4.2, P-4); `redemption` keeps only the form fields the service
    needs (KZ-5.1)."""

    __tablename__ = "perks"
    __table_args__ = (
        sa.UniqueConstraint("bundle_id", "code", name="uq_perks_bundle_code"),
        sa.Index("ix_perks_state_lapses_at", "state", "lapses_at", "id"),  # the clock and `make sweep`
    )

    id: str = Field(primary_key=True, max_length=36)
    bundle_id: str = Field(foreign_key="perk_bundles.id", index=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    code: str = Field(max_length=32)  # lounge, spotify, … (STOREFRONT-API.md)
    state: str = Field(max_length=24)
    clause: str = Field(max_length=16)  # the perk's section, or the clause that refused it (P-2)
    reason: str | None = Field(default=None, max_length=64)  # why not available / revoked / expired
    activate_by: datetime | None = instant(nullable=True)
    use_by: datetime | None = instant(nullable=True)
    opens_at: datetime | None = instant(nullable=True)  # set when the device's activation is recorded
    lapses_at: datetime | None = instant(nullable=True)  # its last moment: unused after it, it expires
    created_at: datetime = instant()
    updated_at: datetime = instant()
    redeemed_at: datetime | None = instant(nullable=True)
    code_salt: str | None = Field(default=None, max_length=64)  # random; the code is derived, never kept
    code_hash: str | None = Field(default=None, max_length=64)
    code_hint: str | None = Field(default=None, max_length=16)  # the code's last characters, for support
    redemption: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class DeviceActivation(SQLModel, table=True):
    """A device's activation, by IMEI, as staff or the activation feed report it (KZ-1): the perks
    that start from activation open from it, and only for activation in Kazakhstan."""

    __tablename__ = "device_activations"

    imei: str = Field(primary_key=True, max_length=15)
    country: str = Field(max_length=2)
    activated_at: datetime = instant()
    recorded_at: datetime = instant()
    source: str = Field(max_length=120)  # who reported it: ops:<id>, or the feed


class ServiceCase(SQLModel, table=True):
    """A repair or warranty case a service centre opens for a device under a perk (KZ-4.5 … 4.7),
    moved along its own lifecycle; staff record which exclusion applies, if any."""

    __tablename__ = "service_cases"
    __table_args__ = (  # staff's work queue reads the cases of a state, the oldest opened first
        sa.Index("ix_service_cases_state_opened_at", "state", "opened_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    perk_id: str = Field(foreign_key="perks.id", index=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    imei: str = Field(max_length=15)
    kind: str = Field(max_length=32)  # extended_warranty | screen_repair | free_labour_repair
    state: str = Field(max_length=24)
    fault: str = Field(max_length=500)
    opened_at: datetime = instant()
    updated_at: datetime = instant()
    exclusion: str | None = Field(default=None, max_length=48)
    note: str | None = Field(default=None, max_length=500)
    currency: str = Field(max_length=3)
    parts_minor: int | None = None  # KZ-4.7: the estimate, parts …
    logistics_minor: int | None = None  # … and logistics
    inspection_minor: int | None = None  # KZ-4.7: paid by the customer who declines
    decided_at: datetime | None = instant(nullable=True)
    closed_at: datetime | None = instant(nullable=True)
