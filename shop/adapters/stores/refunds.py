"""The one writer of refunds (RS-III.4, RS-VII.10): recorded in the transaction that owes them,
leased to the process that will ask Stripe for them, settled by Stripe's answer or its event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from shop.adapters.stores.outbox import LEASE
from shop.adapters.tables import Order, Refund, table_of
from shop.domain.errors import NotFound

_refunds, _orders = table_of(Refund), table_of(Order)
_INSERT = insert(_refunds).returning(*_refunds.c)
_BY_ID = select(_refunds).where(_refunds.c.id == bindparam("b_id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_BY_STRIPE_ID_LOCKED = select(_refunds).where(_refunds.c.stripe_refund_id == bindparam("b_stripe_id")).with_for_update()
_OF_ORDER = select(_refunds).where(_refunds.c.order_id == bindparam("b_order_id")).order_by(_refunds.c.created_at)
_SETTLE = (update(_refunds).where(_refunds.c.id == bindparam("b_id"))
           .values(state=bindparam("b_state"), updated_at=bindparam("b_now"), failure=bindparam("b_failure"),
                   stripe_refund_id=func.coalesce(bindparam("b_stripe_id", type_=_refunds.c.stripe_refund_id.type),
                                                 _refunds.c.stripe_refund_id))
           .returning(*_refunds.c))
_TAKE_STRIPE_ID = (update(_refunds).where(_refunds.c.id == bindparam("b_id"))
                   .values(stripe_refund_id=bindparam("b_stripe_id")).returning(*_refunds.c))
# A new attempt: the failed one's Stripe refund, if it had one, is not this one's.
_RETRY = (update(_refunds).where(_refunds.c.id == bindparam("b_id"))
          .values(state=bindparam("b_state"), failure=None, updated_at=bindparam("b_now"),
                  attempts=_refunds.c.attempts + 1, stripe_refund_id=None, claimed_until=bindparam("b_until"))
          .returning(*_refunds.c))
_OWED = (select(_refunds.c.id)
         .where(_refunds.c.state == bindparam("b_pending"),
                _refunds.c.order_id.in_(select(_orders.c.id).where(_orders.c.payment_intent_id.is_not(None))),
                _refunds.c.claimed_until.is_(None) | (_refunds.c.claimed_until < bindparam("b_now")))
         .order_by(_refunds.c.id).limit(bindparam("b_limit")))
_LEASE = {skip_locked: (update(_refunds).where(_refunds.c.id.in_(
              (_OWED.with_for_update(skip_locked=True) if skip_locked else _OWED).scalar_subquery()))
          .values(claimed_until=bindparam("b_until")).returning(_refunds.c.id))
          for skip_locked in (False, True)}
_WITH_ORDER = (select(_refunds, _orders.c.number.label("order_number"),
                      _orders.c.payment_intent_id.label("order_payment_intent_id"))
               .join(_orders, _orders.c.id == _refunds.c.order_id).where(_refunds.c.id == bindparam("b_id")))
_RUNNING = (select(_refunds.c.id, _refunds.c.due_by.label("due"), _refunds.c.created_at.label("since"))
            .join(_orders, _orders.c.id == _refunds.c.order_id)
            .where(_orders.c.market == bindparam("b_market"), _refunds.c.due_by > bindparam("b_start"),
                   _refunds.c.created_at < bindparam("b_end")))
_MOVE_DUE = update(_refunds).where(_refunds.c.id == bindparam("b_id")).values(due_by=bindparam("b_due"))


class RefundStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, values: dict[str, Any], *, now: datetime) -> Row[Any]:
        """A refund recorded, leased for LEASE to the process that records it (its to send after the
        commit); the row as written."""
        return self._db.execute(_INSERT, {**values, "claimed_until": now + LEASE}).one()

    def get(self, refund_id: str, *, lock: bool = False) -> Row[Any]:
        """The refund (locked when `lock`); 404 when there is none."""
        row = self.find(refund_id, lock=lock)
        if row is None:
            raise NotFound("refund_not_found", f"no refund {refund_id}")
        return row

    def find(self, refund_id: str, *, lock: bool = False) -> Row[Any] | None:
        return self._db.execute(_BY_ID_LOCKED if lock else _BY_ID, {"b_id": refund_id}).one_or_none()

    def by_stripe_id(self, stripe_refund_id: str) -> Row[Any] | None:
        """The refund Stripe knows by this id, locked."""
        return self._db.execute(_BY_STRIPE_ID_LOCKED, {"b_stripe_id": stripe_refund_id}).one_or_none()

    def of_order(self, order_id: str) -> list[Row[Any]]:
        return list(self._db.execute(_OF_ORDER, {"b_order_id": order_id}))

    def settle(self, refund_id: str, state: str, *, now: datetime, failure: str | None,
               stripe_refund_id: str | None = None) -> Row[Any]:
        """The refund in `state` (with Stripe's id, when given); the row as written."""
        return self._db.execute(_SETTLE, {"b_id": refund_id, "b_state": state, "b_now": now,
                                          "b_failure": failure, "b_stripe_id": stripe_refund_id}).one()

    def take_stripe_id(self, refund_id: str, stripe_refund_id: str) -> Row[Any]:
        return self._db.execute(_TAKE_STRIPE_ID, {"b_id": refund_id, "b_stripe_id": stripe_refund_id}).one()

    def retry(self, refund_id: str, state: str, *, now: datetime) -> Row[Any]:
        """A new attempt, in `state`, leased to the process that will send it."""
        return self._db.execute(_RETRY, {"b_id": refund_id, "b_state": state, "b_now": now,
                                         "b_until": now + LEASE}).one()

    def lease_owed(self, pending: str, *, now: datetime, limit: int) -> list[str]:
        """Claim up to `limit` refunds in `pending` owed to Stripe (their order paid through it) whose
        sender's lease has passed, for LEASE: a second sender skips them. Their ids."""
        statement = _LEASE[self._db.dialect.name == "postgresql"]
        return list(self._db.execute(statement, {"b_pending": pending, "b_now": now, "b_limit": limit,
                                                 "b_until": now + LEASE}).scalars())

    def with_order(self, refund_id: str) -> Row[Any] | None:
        """The refund with its order's `order_number` and `order_payment_intent_id`."""
        return self._db.execute(_WITH_ORDER, {"b_id": refund_id}).one_or_none()

    def running_during(self, market: str, starts_at: datetime, ends_at: datetime) -> list[Row[Any]]:
        """The market's refunds whose deadline ran during [starts_at, ends_at) (`id`, `due`, `since`:
        recorded), for force majeure to move (T-7)."""
        return list(self._db.execute(_RUNNING, {"b_market": market, "b_start": starts_at, "b_end": ends_at}))

    def move_deadlines(self, due_by: dict[str, datetime]) -> None:
        """Each refund's `due_by` as given (T-7), one executemany."""
        if due_by:
            self._db.execute(_MOVE_DUE, [{"b_id": key, "b_due": due} for key, due in due_by.items()])
