"""The one writer of device activations (KZ-1): a device's first activation, by IMEI, as staff or the
activation feed report it. The first report counts; the table's key (the IMEI) keeps it one."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from shop.adapters.perk_tables import DeviceActivation
from shop.adapters.tables import table_of

_activations = table_of(DeviceActivation)
_ADD_UNLESS_RECORDED = {
    "postgresql": postgresql.insert(_activations).on_conflict_do_nothing().returning(_activations.c.imei),
    "sqlite": sqlite.insert(_activations).on_conflict_do_nothing().returning(_activations.c.imei)}
_OF = select(_activations).where(_activations.c.imei == bindparam("b_imei"))
_OF_MANY = select(_activations).where(_activations.c.imei.in_(bindparam("b_imeis", expanding=True)))


class DeviceStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def record_first(self, values: dict[str, Any]) -> tuple[Row[Any], bool]:
        """The device's activation recorded unless one is already (KZ-1: the first report counts); the
        recorded row and whether it is this one. A report at the same moment as another waits for it
        (the key) and finds it."""
        added = self._db.execute(_ADD_UNLESS_RECORDED[self._db.dialect.name], values).one_or_none()
        return self._db.execute(_OF, {"b_imei": values["imei"]}).one(), added is not None

    def activation(self, imei: str) -> Row[Any] | None:
        return self._db.execute(_OF, {"b_imei": imei}).one_or_none()

    def activations(self, imeis: Collection[str]) -> dict[str, Row[Any]]:
        """The recorded activations of these devices, by IMEI."""
        if not imeis:
            return {}
        return {row.imei: row for row in self._db.execute(_OF_MANY, {"b_imeis": list(imeis)})}
