"""The one writer of withdrawals and the lines they cover (RS-VII): a statement recorded with its
lines, moved along the withdrawal lifecycle with the facts of each step, read with its lines, and
listed for staff by state and deadline (their work queue)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from shop.adapters.stores import OfIds, after_row
from shop.adapters.tables import Order, OrderLine, Withdrawal, WithdrawalLine, table_of
from shop.domain.errors import Conflict, NotFound
from shop.domain.machine import Transition

_withdrawals, _covered, _lines = table_of(Withdrawal), table_of(WithdrawalLine), table_of(OrderLine)
_orders = table_of(Order)
_RUNNING = (select(_withdrawals.c.id, _withdrawals.c.refund_due_by.label("due"), _withdrawals.c.sent_at.label("since"))
            .join(_orders, _orders.c.id == _withdrawals.c.order_id)
            .where(_orders.c.market == bindparam("b_market"), _withdrawals.c.refund_due_by > bindparam("b_start"),
                   _withdrawals.c.sent_at < bindparam("b_end")))
_MOVE_DUE = (update(_withdrawals).where(_withdrawals.c.id == bindparam("b_id"))
             .values(refund_due_by=bindparam("b_due")))
_INSERT = insert(_withdrawals).returning(*_withdrawals.c)
_COVER = insert(_covered)
_BY_ID = select(_withdrawals).where(_withdrawals.c.id == bindparam("b_id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_LINES_OF = (select(_lines, _covered.c.receipt).join(_covered, _covered.c.line_id == _lines.c.id)
             .where(_covered.c.withdrawal_id == bindparam("b_id")).order_by(_lines.c.id))
_WITHDRAWN = (select(_covered.c.line_id).join(_lines, _lines.c.id == _covered.c.line_id)
              .where(_lines.c.order_id == bindparam("b_order_id"), _covered.c.released.is_(False)))
_COVERING = (select(_withdrawals).join(_covered, _covered.c.withdrawal_id == _withdrawals.c.id)
             .where(_covered.c.line_id == bindparam("b_line_id"),
                    _withdrawals.c.state.in_(bindparam("b_states", expanding=True)))
             .order_by(_withdrawals.c.recorded_at).limit(1))
_RELEASE = update(_covered).where(_covered.c.withdrawal_id == bindparam("b_id")).values(released=True)
_RECEIPT = (update(_covered).where(_covered.c.withdrawal_id == bindparam("b_id"),
                                   _covered.c.line_id == bindparam("b_line_id"))
            .values(receipt=bindparam("b_receipt")))
_OF_ORDERS = OfIds(select(_withdrawals, _covered.c.line_id, _covered.c.receipt)
                   .join(_covered, _covered.c.withdrawal_id == _withdrawals.c.id)
                   .order_by(_withdrawals.c.recorded_at, _withdrawals.c.id, _covered.c.line_id),
                   _withdrawals.c.order_id)
_LINES_OF_MANY = (select(_lines, _covered.c.receipt, _covered.c.withdrawal_id)
                  .join(_covered, _covered.c.line_id == _lines.c.id)
                  .where(_covered.c.withdrawal_id.in_(bindparam("b_ids", expanding=True)))
                  .order_by(_covered.c.withdrawal_id, _lines.c.id))
_DEADLINES = {"refund_due_by": _withdrawals.c.refund_due_by, "return_due_by": _withdrawals.c.return_due_by}
"""The deadlines a queue of withdrawals is read by: each the second column of an index on
(state, deadline, id) (migration 0011), so a page is read in the index's order."""


def _queue(due: Any, of_market: bool, after: bool) -> Any:
    """The withdrawals in a state, by `due` then id, with their order's number and market; of one
    market and after the cursor withdrawal's place in that order when asked."""
    statement = (select(_withdrawals, _orders.c.number.label("order_number"), _orders.c.market)
                 .join(_orders, _orders.c.id == _withdrawals.c.order_id)
                 .where(_withdrawals.c.state == bindparam("b_state"))
                 .order_by(due, _withdrawals.c.id).limit(bindparam("b_limit")))
    if of_market:
        statement = statement.where(_orders.c.market == bindparam("b_market"))
    if after:
        statement = statement.where(after_row(_withdrawals, due.name))
    return statement


_IN_STATE_OF = {(name, of_market, after): _queue(due, of_market, after)
                for name, due in _DEADLINES.items() for of_market in (False, True) for after in (False, True)}
_HAS_DEADLINE = {name: select(_withdrawals.c.id).where(_withdrawals.c.id == bindparam("b_id"), due.is_not(None))
                 for name, due in _DEADLINES.items()}


@dataclass(frozen=True)
class WithdrawalView:
    """A withdrawal as its order shows it: the row and the ids of the lines it covers."""

    row: Any
    line_ids: tuple[int, ...]
    receipts: dict[int, Any] = field(default_factory=dict)
    """Each line's receipt (RS-VII.9), once the goods are back."""


class WithdrawalStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, values: dict[str, Any], line_ids: Sequence[int]) -> Row[Any]:
        """A statement recorded with the lines it covers; a line already covered by another one
        (recorded by a statement at the same moment too) is refused: the lines' key."""
        row = self._db.execute(_INSERT, values).one()
        try:
            self._db.execute(_COVER, [{"line_id": line_id, "withdrawal_id": row.id} for line_id in line_ids])
        except IntegrityError:
            raise Conflict("line_already_withdrawn", "a line named is already withdrawn",
                           field="line_ids") from None
        return row

    def get(self, withdrawal_id: str, *, lock: bool = False) -> Row[Any]:
        """The withdrawal (locked when `lock`); 404 when there is none."""
        row = self._db.execute(_BY_ID_LOCKED if lock else _BY_ID, {"b_id": withdrawal_id}).one_or_none()
        if row is None:
            raise NotFound("withdrawal_not_found", f"no withdrawal {withdrawal_id}")
        return row

    def lines(self, withdrawal_id: str) -> list[Row[Any]]:
        """The order lines the withdrawal covers, each with its `receipt` (None until the goods are back)."""
        return list(self._db.execute(_LINES_OF, {"b_id": withdrawal_id}))

    def lines_of(self, withdrawal_ids: Collection[str]) -> dict[str, list[Row[Any]]]:
        """The order lines each of these withdrawals covers, each with its `receipt`, by withdrawal
        id: one statement."""
        found: dict[str, list[Row[Any]]] = {}
        if withdrawal_ids:
            for row in self._db.execute(_LINES_OF_MANY, {"b_ids": list(withdrawal_ids)}):
                found.setdefault(row.withdrawal_id, []).append(row)
        return found

    def in_state(self, state: str, *, by: str, market: str | None, limit: int, after: str | None = None
                 ) -> list[Row[Any]]:
        """The withdrawals in `state` (of orders of `market`, when given), earliest `by` first (the
        deadline `refund_due_by` or `return_due_by`, then id), each with its `order_number` and
        `market`: at most `limit`, those after the withdrawal `after` in that order when given,
        wherever that withdrawal is now."""
        values: dict[str, Any] = {"b_state": state, "b_limit": limit}
        if market is not None:
            values["b_market"] = market
        if after is not None:
            values["b_after"] = after
        return list(self._db.execute(_IN_STATE_OF[by, market is not None, after is not None], values))

    def has_deadline(self, withdrawal_id: str, by: str) -> bool:
        """Whether there is such a withdrawal and it has the deadline `by` (a place in that queue's order)."""
        return self._db.execute(_HAS_DEADLINE[by], {"b_id": withdrawal_id}).first() is not None

    def withdrawn_lines(self, order_id: str) -> set[int]:
        """The ids of the order's lines some withdrawal covers."""
        return set(self._db.execute(_WITHDRAWN, {"b_order_id": order_id}).scalars())

    def covering(self, line_id: int, states: Collection[str]) -> Row[Any] | None:
        """A withdrawal in one of `states` that covers this order line, if any (P-3: its device is
        being returned)."""
        return self._db.execute(_COVERING, {"b_line_id": line_id, "b_states": list(states)}).first()

    def release(self, withdrawal_id: str) -> None:
        """A rejected withdrawal lets go of its lines (still listed with it): they may be withdrawn again."""
        self._db.execute(_RELEASE, {"b_id": withdrawal_id})

    def record_receipts(self, withdrawal_id: str, receipts: dict[int, dict[str, Any]]) -> None:
        """Each line's condition on receipt and what had to come back with it (RS-VII.9, RS-VII.13)."""
        if receipts:
            self._db.execute(_RECEIPT, [{"b_id": withdrawal_id, "b_line_id": line_id, "b_receipt": receipt}
                                        for line_id, receipt in receipts.items()])

    def move(self, withdrawal: Row[Any], transition: Transition, **facts: Any) -> Row[Any]:
        """The withdrawal in the transition's destination, with `facts` beside it; the row as written."""
        statement = (update(_withdrawals).where(_withdrawals.c.id == withdrawal.id)
                     .values(state=transition.to_state.value, **facts).returning(*_withdrawals.c))
        return self._db.execute(statement).one()

    def of_orders(self, order_ids: Collection[str]) -> dict[str, list[WithdrawalView]]:
        """The withdrawals of these orders with their lines, by order id, oldest first: one statement."""
        found: dict[str, list[WithdrawalView]] = {}
        rows: dict[str, tuple[Any, list[int], dict[int, Any]]] = {}
        for row in _OF_ORDERS.rows(self._db, order_ids):
            _, line_ids, receipts = rows.setdefault(row.id, (row, [], {}))
            line_ids.append(row.line_id)
            if row.receipt is not None:
                receipts[row.line_id] = row.receipt
        for row, line_ids, receipts in rows.values():
            found.setdefault(row.order_id, []).append(WithdrawalView(row, tuple(line_ids), receipts))
        return found

    def refunds_running_during(self, market: str, starts_at: datetime, ends_at: datetime) -> list[Row[Any]]:
        """The market's withdrawals whose refund deadline (RS-VII.10) ran during [starts_at, ends_at)
        (`id`, `due`, `since`: the statement), for force majeure to move (T-7). The return's deadline
        is the customer's (RS-VII.7) and stays."""
        return list(self._db.execute(_RUNNING, {"b_market": market, "b_start": starts_at, "b_end": ends_at}))

    def move_refund_deadlines(self, due_by: dict[str, datetime]) -> None:
        if due_by:
            self._db.execute(_MOVE_DUE, [{"b_id": key, "b_due": due} for key, due in due_by.items()])
