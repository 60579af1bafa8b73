"""The one writer of orders, their lines and the devices shipped with them."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from shop.adapters.tables import Order, OrderLine, ShippedDevice, table_of

_orders, _lines, _devices = table_of(Order), table_of(OrderLine), table_of(ShippedDevice)


class OrderStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # --- reads and moves (branch actions) --------------------------------------------------------

    # --- payments (branch payments) --------------------------------------------------------------

    # --- placing (branch placing) ----------------------------------------------------------------
