"""The one writer of orders, their lines and the devices shipped with them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, String, any_, bindparam, delete, func, insert, select, union_all, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from shop.adapters.stores import OfIds, after_row, fast, grouped
from shop.adapters.stores.units_ordered import units_ordered_of
from shop.adapters.tables import Order, OrderLine, Refund, ShippedDevice, TimelineEntry, table_of
from shop.domain.errors import Conflict, NotFound
from shop.domain.lifecycle import OrderState

if TYPE_CHECKING:
    from shop.domain.machine import Transition

_orders, _lines, _devices = table_of(Order), table_of(OrderLine), table_of(ShippedDevice)
_timeline, _refunds = table_of(TimelineEntry), table_of(Refund)

STATE_TIMESTAMPS = {
    OrderState.PAID: "paid_at",
    OrderState.CONFIRMED: "confirmed_at",
    OrderState.SHIPPED: "shipped_at",
    OrderState.CANCELLED: "cancelled_at",
}
"""The instant an order entered each of these states, kept on the order."""
CLEARED_ON_LEAVING = {OrderState.CANCELLED: "cancelled_at"}
"""An order that leaves `cancelled` (a timely payment honoured, RS-V.1) is no longer cancelled."""

# --- reads and moves : built once, bound on each call ----------------------------
_GET = select(_orders).where(_orders.c.id == bindparam("b_id"))
_GET_LOCKED = _GET.with_for_update()
_GET_FAST = fast.Statement(_GET)
_LINES = select(_lines).where(_lines.c.order_id == bindparam("b_id")).order_by(_lines.c.id)
_OF_CUSTOMER = (select(_orders).where(_orders.c.customer_id == bindparam("b_customer"))
                .order_by(_orders.c.placed_at.desc(), _orders.c.id.desc()).limit(bindparam("b_limit")))
_OF_CUSTOMER_BEFORE = _OF_CUSTOMER.where(after_row(_orders, "placed_at", cursor="b_before", newest_first=True))
_AFTER_CURSOR = after_row(_orders, "placed_at")
_IN_STATE = (select(_orders).where(_orders.c.state == bindparam("b_state"))
             .order_by(_orders.c.placed_at, _orders.c.id).limit(bindparam("b_limit")))
_IN_STATE_OF = {  # (of one market, after a cursor): the statement
    (of_market, after): _IN_STATE.where(*([_orders.c.market == bindparam("b_market")] if of_market else []),
                                        *([_AFTER_CURSOR] if after else []))
    for of_market in (False, True) for after in (False, True)}
_LINES_OF = OfIds(select(_lines).order_by(_lines.c.id), _lines.c.order_id)
_TIMELINE_OF = OfIds(select(_timeline).order_by(_timeline.c.id), _timeline.c.order_id)
_REFUNDS_OF = OfIds(select(_refunds).order_by(_refunds.c.created_at), _refunds.c.order_id)
_AWAITING_DELIVERY = (select(_orders.c.id, _orders.c.expected_delivery_on)
                      .where(_orders.c.market == bindparam("b_market"),
                             _orders.c.state.in_([OrderState.PAID.value, OrderState.CONFIRMED.value,
                                                  OrderState.SHIPPED.value, OrderState.AWAITING_PAYMENT.value,
                                                  OrderState.AWAITING_INSTALLMENT_APPROVAL.value]),
                             _orders.c.expected_delivery_on >= bindparam("b_from_day")))
_MOVE_EXPECTED = (update(_orders).where(_orders.c.id == bindparam("b_id"))
                  .values(expected_delivery_on=bindparam("b_day")))
_SET_LINE_STATE = update(_lines).where(_lines.c.id == bindparam("b_id")).values(state=bindparam("b_state"))
_SET_LINE_IMEIS = update(_lines).where(_lines.c.id == bindparam("b_id")).values(imeis=bindparam("b_imeis"))
_SET_MARKET_PRICE = (update(_lines).where(_lines.c.id == bindparam("b_id"))
                     .values(market_price_minor=bindparam("b_market")))
_SET_PRICE_CORRECTED = (update(_lines).where(_lines.c.id == bindparam("b_id"))
                        .values(price_corrected_minor=bindparam("b_corrected")))
_SHIP_DEVICES = insert(_devices)
_DEVICE_OUT = (select(_devices.c.imei, _orders.c.number).join(_orders, _orders.c.id == _devices.c.order_id)
               .where(_devices.c.imei.in_(bindparam("b_imeis", expanding=True))).limit(1))
_KNOWN = select(_orders.c.id).where(_orders.c.id.in_(bindparam("b_ids", expanding=True)))
_RETURN_DEVICES = delete(_devices).where(_devices.c.order_id == bindparam("b_id"))
_LINE_OF_ORDERS = {"postgresql": _lines.c.order_id == any_(bindparam("b_ids", type_=postgresql.ARRAY(String))),
                   "sqlite": _lines.c.order_id.in_(bindparam("b_ids", expanding=True))}
"""`order_id IN ids`; on PostgreSQL `= ANY(array)`, one parameter (stores/outbox.py says why)."""
_HELD = {dialect: (select(_lines.c.sku, func.sum(_lines.c.quantity).label("quantity"))
                   .where(among, _lines.c.state != bindparam("b_cancelled")).group_by(_lines.c.sku))
         for dialect, among in _LINE_OF_ORDERS.items()}
_MOVE_LINES_OF_ORDERS = {dialect: (update(_lines).where(among, _lines.c.state == bindparam("b_from"))
                                   .values(state=bindparam("b_to")))
                         for dialect, among in _LINE_OF_ORDERS.items()}


def _claim(dialect: str) -> Any:
    expired = (select(_orders.c.id)
               .where(_orders.c.state == bindparam("b_from"), _orders.c.payment_due_at < bindparam("b_now"))
               .order_by(_orders.c.payment_due_at).limit(bindparam("b_limit")))
    if dialect == "postgresql":
        expired = expired.with_for_update(skip_locked=True)  # rows another job is claiming
    return (update(_orders)
            .where(_orders.c.id.in_(expired.scalar_subquery()),
                   _orders.c.state == bindparam("b_from"))  # re-checked on a row another job changed
            .values(state=bindparam("b_to"), cancelled_at=bindparam("b_now"))
            .returning(_orders.c.id, _orders.c.number, _orders.c.payment_due_at))


_CLAIM = {dialect: _claim(dialect) for dialect in ("postgresql", "sqlite")}


@cache
def _move_statement(stamp: str | None, cleared: str | None, facts: tuple[str, ...]) -> Any:
    """The UPDATE of one kind of move, built the first time it is needed (a handful of kinds)."""
    values: dict[str, Any] = {"state": bindparam("b_state")}
    if cleared is not None:
        values[cleared] = None
    if stamp is not None:
        values[stamp] = bindparam("b_at", type_=_orders.c[stamp].type)
    values.update({name: bindparam(f"b_{name}", type_=_orders.c[name].type) for name in facts})
    return fast.Statement(update(_orders).where(_orders.c.id == bindparam("b_id")).values(**values))


class OrderStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # --- reads and moves ---------------------------------------------------------------------------

    def get(self, order_id: str, *, customer_id: int | None = None, lock: bool = False) -> Row[Any]:
        """The order, locked for update when `lock`; 404 when it does not exist or, for a customer,
        is not theirs (never reveal another customer's order)."""
        order = (self._db.execute(_GET_LOCKED, {"b_id": order_id}).first() if lock
                 else fast.run(self._db, _GET_FAST, {"b_id": order_id}).first())
        if order is None or (customer_id is not None and order.customer_id != customer_id):
            raise NotFound("order_not_found", f"no order {order_id}")
        return order

    def lines(self, order_id: str) -> list[Row[Any]]:
        return list(self._db.execute(_LINES, {"b_id": order_id}))

    def of_customer(self, customer_id: int, *, limit: int, before: str | None = None) -> list[Row[Any]]:
        """The customer's orders, newest first (placed, then id): at most `limit`, those after the
        order `before` when given (a page's last; the caller makes sure it is the customer's)."""
        if before is None:
            return list(self._db.execute(_OF_CUSTOMER, {"b_customer": customer_id, "b_limit": limit}))
        return list(self._db.execute(_OF_CUSTOMER_BEFORE,
                                     {"b_customer": customer_id, "b_limit": limit, "b_before": before}))

    def in_state(self, state: str, *, market: str | None, limit: int, after: str | None = None) -> list[Row[Any]]:
        """The orders in `state` (of `market`, when given), the longest placed first (placed, then
        id): at most `limit`, those after the order `after` when given, wherever that order is now."""
        values: dict[str, Any] = {"b_state": state, "b_limit": limit}
        if market is not None:
            values["b_market"] = market
        if after is not None:
            values["b_after"] = after
        return list(self._db.execute(_IN_STATE_OF[market is not None, after is not None], values))

    def known(self, order_ids: Sequence[str]) -> set[str]:
        """Which of these orders exist (500 ids a statement)."""
        found: set[str] = set()
        for start in range(0, len(order_ids), 500):
            found.update(self._db.execute(_KNOWN, {"b_ids": list(order_ids[start:start + 500])}).scalars())
        return found

    def pieces(self, order_ids: Sequence[str]) -> tuple[dict[str, list[Row[Any]]], ...]:
        """The lines, timeline entries and refunds of these orders, by order id: three statements
        however many orders, not 3N (the rest of a page: shop.services.order_views)."""
        return tuple(grouped(self._db, of_ids, order_ids) for of_ids in (_LINES_OF, _TIMELINE_OF, _REFUNDS_OF))

    def awaiting_delivery(self, market: str, from_day: date) -> list[Row[Any]]:
        """The market's orders not delivered yet whose expected delivery (RS-V.5.2) is on `from_day` or
        later (`id`, `expected_delivery_on`), for force majeure to move (T-7)."""
        return list(self._db.execute(_AWAITING_DELIVERY, {"b_market": market, "b_from_day": from_day}))

    def move_expected_delivery(self, days: dict[str, date]) -> None:
        if days:
            self._db.execute(_MOVE_EXPECTED, [{"b_id": key, "b_day": day} for key, day in days.items()])

    def move(self, order: Row[Any], transition: Transition, now: datetime, **facts: Any) -> None:
        """The order in the transition's destination, with the timestamp that state carries
        (STATE_TIMESTAMPS) and `facts` beside it (a carrier, a delivery instant); an order that
        leaves `cancelled` is no longer cancelled (RS-V.1: a timely payment honoured)."""
        self.move_all([(order, transition)], now, **facts)

    def move_all(self, moves: Sequence[tuple[Row[Any], Transition]], now: datetime, **facts: Any) -> None:
        """`move` for many orders: one executemany per kind of move (group commit)."""
        by_statement: dict[Any, list[dict[str, Any]]] = {}
        for order, transition in moves:
            stamp = STATE_TIMESTAMPS.get(transition.to_state)
            left = transition.from_state if transition.from_state != transition.to_state else None
            cleared = CLEARED_ON_LEAVING.get(left) if left is not None else None
            statement = _move_statement(stamp, cleared, tuple(sorted(facts)))
            by_statement.setdefault(statement, []).append(
                {"b_id": order.id, "b_state": str(transition.to_state), "b_at": now,
                 **{f"b_{name}": value for name, value in facts.items()}})
        for statement, params in by_statement.items():
            fast.run_many(self._db, statement, params)

    def set_line_states(self, states: Mapping[int, str]) -> None:
        """Lines' states, by line id, in one statement."""
        if states:
            self._db.execute(_SET_LINE_STATE, [{"b_id": line_id, "b_state": str(state)}
                                               for line_id, state in states.items()])

    def keep_market_prices(self, prices: Mapping[int, int]) -> None:
        """RS-III.2: the market unit price staff stated for each mispriced line, by line id."""
        if prices:
            self._db.execute(_SET_MARKET_PRICE, [{"b_id": line_id, "b_market": market}
                                                 for line_id, market in prices.items()])

    def set_price_corrected(self, corrected: Mapping[int, int]) -> None:
        """RS-III.2: what each line has been refunded for a price charged above the correct one, in
        all, by line id (the caller holds the order's lock)."""
        if corrected:
            self._db.execute(_SET_PRICE_CORRECTED, [{"b_id": line_id, "b_corrected": amount}
                                                    for line_id, amount in corrected.items()])

    def ship_lines(self, imeis: Mapping[int, Sequence[str]], order_id: str, now: datetime) -> None:
        """RS-IV.5: each line leaves with its IMEIs, and each device is out with this order until it
        comes back; a device another order took meanwhile is a 409 (PostgreSQL: its row waited)."""
        if imeis:
            self._db.execute(_SET_LINE_IMEIS, [{"b_id": line_id, "b_imeis": list(found)}
                                               for line_id, found in imeis.items()])
        devices = [{"imei": imei, "order_id": order_id, "line_id": line_id, "shipped_at": now}
                   for line_id, found in imeis.items() for imei in found]
        if not devices:
            return
        try:
            self._db.execute(_SHIP_DEVICES, devices)
        except IntegrityError:
            raise Conflict("imei_already_shipped", "one of these IMEIs has just left with another order",
                           clause="RS-IV.5", field="devices") from None

    def device_out(self, imeis: Sequence[str]) -> Row[Any] | None:
        """One of these devices out with an order, and that order's number (imei, number); None when
        all are here."""
        if not imeis:
            return None
        return self._db.execute(_DEVICE_OUT, {"b_imeis": list(imeis)}).first()

    def return_devices(self, order_id: str) -> None:
        """RS-V.3: the parcel came back; its devices are here again."""
        self._db.execute(_RETURN_DEVICES, {"b_id": order_id})

    # --- the expiry job (RS-V.1) -----------------------------------------------------------------

    def claim_expired(self, transition: Transition, now: datetime, limit: int) -> list[Row[Any]]:
        """Up to `limit` orders in the transition's source whose payment window closed before `now`,
        moved to its destination in one UPDATE … RETURNING (id, number, payment_due_at); on
        PostgreSQL skipping rows another copy of the job holds, so each is claimed once."""
        return list(self._db.execute(_CLAIM[self._db.dialect.name], {
            "b_from": str(transition.from_state), "b_to": str(transition.to_state), "b_now": now,
            "b_limit": limit}))

    def held_units(self, order_ids: Sequence[str], *, cancelled: str) -> dict[str, int]:
        """The units the lines of these orders hold (lines not `cancelled`), by SKU: one statement."""
        return {row.sku: int(row.quantity) for row in self._db.execute(
            _HELD[self._db.dialect.name], {"b_ids": list(order_ids), "b_cancelled": cancelled})}

    def move_lines_of(self, order_ids: Sequence[str], transition: Transition) -> None:
        """The lines of these orders in the transition's source moved to its destination: one statement
        (the expiry job's batch, whose orders' timelines stand for their lines)."""
        self._db.execute(_MOVE_LINES_OF_ORDERS[self._db.dialect.name], {
            "b_ids": list(order_ids), "b_from": str(transition.from_state), "b_to": str(transition.to_state)})

    # --- what a payment needs ---------------------------------------------------------------------
    def lock_for_payments(self, order_ids: Sequence[str]) -> list[Row[Any]]:
        """The orders (what a payment needs of them: `_PAYMENT_FACTS`), locked in the order of their
        ids, in one statement: two batches locking several orders each never wait for one another
        in a circle."""
        ids = sorted(order_ids)
        return fast.run(self._db, _payment_orders_locked(len(ids)), {f"id_{i}": id_ for i, id_ in enumerate(ids)})

    def lock_by_payment_intent(self, payment_intent_id: str) -> Row[Any] | None:
        """The order a PaymentIntent whose metadata names none is for (`_PAYMENT_FACTS`), locked."""
        return fast.run(self._db, _PAYMENT_ORDER_BY_INTENT, {"b_intent": payment_intent_id}).first()

    # --- placing ------------------------------------------------------------------------------------
    def add_placed(self, orders: Sequence[dict[str, Any]], lines: Sequence[dict[str, Any]]
                   ) -> tuple[list[Row[Any]], list[Row[Any]]]:
        """New orders and their lines, one statement a table however many orders (SQLAlchemy's
        "insertmanyvalues"); the rows as written, in the order given."""
        added = {row.id: row for row in fast.insert_rows(self._db, _orders, orders, returning=_ORDER_KEYS)}
        return ([added[order["id"]] for order in orders],
                in_order_given(fast.insert_rows(self._db, _lines, lines, returning=_LINE_KEYS)))

    def units_ordered(self, pairs: Sequence[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """RS-V.5.5: the units of each product in each customer's orders that are not cancelled,
        for all (customer, SKU) pairs in one statement."""
        distinct = list(dict.fromkeys(pairs))
        params = {name: value for i, (customer_id, sku) in enumerate(distinct)
                  for name, value in ((f"customer_{i}", customer_id), (f"sku_{i}", sku))}
        rows = fast.run(self._db, _units_ordered_by(len(distinct)), params)
        return {(row.customer_id, row.sku): int(row.units) for row in rows}


# --- placing's statements: built once ------------------------------------------------------------
_ORDER_KEYS, _LINE_KEYS = tuple(_orders.c.keys()), tuple(_lines.c.keys())
"""Every column of a new order and line comes back (RETURNING): the answer is built from the rows as
stored, defaults of the database included. A VALUES list of many rows answers them in its order on
SQLite, and new serial ids in that order on PostgreSQL: lines are put in order by id, orders by theirs."""


def in_order_given(rows: Any) -> list[Row[Any]]:
    """New lines in the order of the VALUES list that wrote them (their ids)."""
    return sorted(rows, key=lambda row: row.id)


@cache
def _units_ordered_by(count: int) -> fast.Statement:
    """The count of `units_ordered_of` for `count` (customer, SKU) pairs, each pair named in its row;
    built once for each number of pairs."""
    pairs = []
    for i in range(count):
        customer, sku = bindparam(f"customer_{i}", type_=Integer), bindparam(f"sku_{i}", type_=String)
        units = units_ordered_of(customer, sku).scalar_subquery()
        pairs.append(select(customer.label("customer_id"), sku.label("sku"), units.label("units")))
    return fast.Statement(union_all(*pairs) if count > 1 else pairs[0])


# --- the statements of payments ----------------------------------------------------------------
# What a payment needs of its order, no more: every column read is converted (a timestamp parsed, a
# JSON document decoded); reading the whole row took 20 µs, these 8 µs (SQLite, in process). The
# deadline too: a payment Stripe recorded after it is not applied in the batch (RS-V.1).
_PAYMENT_FACTS = (_orders.c.id, _orders.c.state, _orders.c.total_minor, _orders.c.currency,
                  _orders.c.payment_intent_id, _orders.c.payment_due_at)
_PAYMENT_ORDER_BY_INTENT = fast.Statement(
    select(*_PAYMENT_FACTS).where(_orders.c.payment_intent_id == bindparam("b_intent")).with_for_update())


@cache
def _payment_orders_locked(count: int) -> fast.Statement:
    """`count` orders locked in the order of their ids, one statement for each number of orders."""
    ids = [bindparam(f"id_{i}", type_=String) for i in range(count)]
    return fast.Statement(select(*_PAYMENT_FACTS).where(_orders.c.id.in_(ids)).order_by(_orders.c.id)
                          .with_for_update())
