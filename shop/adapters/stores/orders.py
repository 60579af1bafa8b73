"""The one writer of orders, their lines and the devices shipped with them."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Integer, Select, String, bindparam, insert, select, union_all
from sqlalchemy.engine import Connection, Row

from shop.adapters.stores.units_ordered import units_ordered_of
from shop.adapters.tables import Order, OrderLine, ShippedDevice, table_of

_orders, _lines, _devices = table_of(Order), table_of(OrderLine), table_of(ShippedDevice)


class OrderStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # --- reads and moves (branch actions) --------------------------------------------------------

    # --- payments (branch payments) --------------------------------------------------------------

    # --- placing (branch placing) ----------------------------------------------------------------
    def add_placed(self, orders: Sequence[dict[str, Any]], lines: Sequence[dict[str, Any]]
                   ) -> tuple[list[Row[Any]], list[Row[Any]]]:
        """New orders and their lines, one statement a table however many orders (SQLAlchemy's
        "insertmanyvalues"); the rows as written, in the order given."""
        return (list(self._db.execute(_ADD_ORDERS, list(orders))),
                in_order_given(self._db.execute(_ADD_LINES[self._db.dialect.name], list(lines))))

    def units_ordered(self, pairs: Sequence[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """RS-V.5.5: the units of each product in each customer's orders that are not cancelled,
        for all (customer, SKU) pairs in one statement."""
        distinct = list(dict.fromkeys(pairs))
        params = {name: value for i, (customer_id, sku) in enumerate(distinct)
                  for name, value in ((f"customer_{i}", customer_id), (f"sku_{i}", sku))}
        rows = self._db.execute(_units_ordered_by(len(distinct)), params)
        return {(row.customer_id, row.sku): int(row.units) for row in rows}


# --- placing's statements (branch placing): built once --------------------------------------------
_ADD_ORDERS = insert(_orders).returning(*_orders.c, sort_by_parameter_order=True)
_ADD_LINES = {"postgresql": insert(_lines).returning(*_lines.c, sort_by_parameter_order=True),
              "sqlite": insert(_lines).returning(*_lines.c)}
"""On SQLite, asking SQLAlchemy for the rows in the order given sends one INSERT a row (its SQLite
dialect knows no column that would order them: measured, 17 INSERTs for a batch of 8 orders):
SQLite numbers the rows of one INSERT in the order of its VALUES, so their ids give that order."""


def in_order_given(rows: Any) -> list[Row[Any]]:
    """The rows of an INSERT … RETURNING of `_ADD_LINES`, in the order of its VALUES (their ids)."""
    return sorted(rows, key=lambda row: row.id)


@cache
def _units_ordered_by(count: int) -> Select[Any]:
    """The count of `units_ordered_of` for `count` (customer, SKU) pairs, each pair named in its row;
    built once for each number of pairs."""
    pairs = []
    for i in range(count):
        customer, sku = bindparam(f"customer_{i}", type_=Integer), bindparam(f"sku_{i}", type_=String)
        units = units_ordered_of(customer, sku).scalar_subquery()
        pairs.append(select(customer.label("customer_id"), sku.label("sku"), units.label("units")))
    return union_all(*pairs) if count > 1 else pairs[0]  # type: ignore[return-value]
