"""The one writer of orders, their lines and the devices shipped with them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, Select, String, bindparam, insert, select, union_all, update
from sqlalchemy.engine import Connection, Row

from shop.adapters.stores.units_ordered import units_ordered_of
from shop.adapters.tables import Order, OrderLine, ShippedDevice, table_of
from shop.domain.errors import NotFound

if TYPE_CHECKING:
    from shop.domain.lifecycle import Transition

_orders, _lines, _devices = table_of(Order), table_of(OrderLine), table_of(ShippedDevice)


class OrderStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # --- reads and moves (branch actions) --------------------------------------------------------

    # --- payments (branch payments) --------------------------------------------------------------
    def lock_for_payments(self, order_ids: Sequence[str]) -> list[Row[Any]]:
        """The orders (what a payment needs of them: `_PAYMENT_FACTS`), locked in the order of their
        ids, in one statement: two batches locking several orders each never wait for one another
        in a circle."""
        return list(self._db.execute(_PAYMENT_ORDERS_LOCKED, {"b_ids": sorted(order_ids)}))

    def lock_by_payment_intent(self, payment_intent_id: str) -> Row[Any] | None:
        """The order a PaymentIntent whose metadata names none is for (`_PAYMENT_FACTS`), locked."""
        return self._db.execute(_PAYMENT_ORDER_BY_INTENT, {"b_intent": payment_intent_id}).one_or_none()

    def paid_order(self, order_id: str, *, lock: bool = False) -> Row[Any]:
        """The whole order, for the rare payments that need more than `_PAYMENT_FACTS` (a late one's
        refund and e-mail, the ledger's currency); 404 when there is none."""
        row = self._db.execute(_WHOLE_LOCKED if lock else _WHOLE, {"b_id": order_id}).one_or_none()
        if row is None:
            raise NotFound("order_not_found", f"no order {order_id}")
        return row

    def open_lines(self, order_id: str) -> list[Row[Any]]:
        """The order's lines not cancelled (their units held in stock), in the order of their ids."""
        return list(self._db.execute(_OPEN_LINES, {"b_id": order_id}))

    def move_many(self, moves: Sequence[tuple[str, Transition]], *, now: datetime) -> None:
        """Each order (by id) to its transition's state, with the state's timestamp: one statement for
        every order that moves to states of one timestamp (all of a payment batch's: paid)."""
        by_stamp: dict[str | None, list[dict[str, Any]]] = {}
        for order_id, transition in moves:
            stamp = _STATE_TIMESTAMPS.get(str(transition.to_state))
            by_stamp.setdefault(stamp, []).append({"b_id": order_id, "b_state": str(transition.to_state), "b_at": now})
        for stamp, rows in by_stamp.items():
            self._db.execute(_MOVE[stamp], rows)

    def reopen_paid(self, order_id: str, transition: Transition, *, now: datetime) -> None:
        """A cancelled order honoured for a timely payment (RS-V.1): paid now, no longer cancelled."""
        self._db.execute(_REOPEN, {"b_id": order_id, "b_state": str(transition.to_state), "b_at": now})

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


# --- payments (branch payments) ------------------------------------------------------------------
# What a payment needs of its order, no more: every column read is converted (a timestamp parsed, a
# JSON document decoded); reading the whole row took 20 µs, these 8 µs (SQLite, in process). The
# deadline too: a payment Stripe recorded after it is not applied in the batch (RS-V.1).
_PAYMENT_FACTS = (_orders.c.id, _orders.c.state, _orders.c.total_minor, _orders.c.currency,
                  _orders.c.payment_intent_id, _orders.c.payment_due_at)
_PAYMENT_ORDERS_LOCKED = (select(*_PAYMENT_FACTS).where(_orders.c.id.in_(bindparam("b_ids", expanding=True)))
                          .order_by(_orders.c.id).with_for_update())
_PAYMENT_ORDER_BY_INTENT = (select(*_PAYMENT_FACTS).where(_orders.c.payment_intent_id == bindparam("b_intent"))
                            .with_for_update())
_WHOLE = select(_orders).where(_orders.c.id == bindparam("b_id"))
_WHOLE_LOCKED = _WHOLE.with_for_update()
_OPEN_LINES = (select(_lines.c.id, _lines.c.sku, _lines.c.quantity)
               .where(_lines.c.order_id == bindparam("b_id"), _lines.c.state != "cancelled").order_by(_lines.c.id))
_STATE_TIMESTAMPS = {"paid": "paid_at", "confirmed": "confirmed_at", "shipped": "shipped_at",
                     "cancelled": "cancelled_at"}
_MOVE = {stamp: update(_orders).where(_orders.c.id == bindparam("b_id"))
         .values(state=bindparam("b_state"), **({stamp: bindparam("b_at")} if stamp else {}))
         for stamp in (*_STATE_TIMESTAMPS.values(), None)}
_REOPEN = (update(_orders).where(_orders.c.id == bindparam("b_id"))
           .values(state=bindparam("b_state"), paid_at=bindparam("b_at"), cancelled_at=None))
