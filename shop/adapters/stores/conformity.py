"""The one writer of conformity claims (RS-VI): a claim for lines of a delivered order, moved along
the CONFORMITY_CLAIM lifecycle with the facts of each step, read by id, by order, by a page of orders
and by customer."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Row

from shop.adapters.after_sale_tables import ConformityClaim
from shop.adapters.stores import OfIds, after_row, grouped
from shop.adapters.tables import table_of
from shop.domain.conformity import OPEN
from shop.domain.errors import NotFound
from shop.domain.machine import Transition

_claims = table_of(ConformityClaim)
_ADD = insert(_claims).returning(*_claims.c)
_BY_ID = select(_claims).where(_claims.c.id == bindparam("b_id"))
_OPEN_OF_ORDER = select(_claims.c.line_ids).where(_claims.c.order_id == bindparam("b_order_id"),
                                                  _claims.c.state.in_([state.value for state in OPEN]))
_OF_CUSTOMER = (select(_claims).where(_claims.c.customer_id == bindparam("b_customer"))
                .order_by(_claims.c.claimed_at.desc(), _claims.c.id))
_OF_ORDERS = OfIds(select(_claims).order_by(_claims.c.claimed_at, _claims.c.id), _claims.c.order_id)
_OPEN = (select(_claims).where(_claims.c.state.in_([state.value for state in OPEN]))
         .order_by(_claims.c.updated_at, _claims.c.id).limit(bindparam("b_limit")))
_OPEN_AFTER = _OPEN.where(after_row(_claims, "updated_at"))
_KNOWN = select(_claims.c.id).where(_claims.c.id == bindparam("b_id"))


class ConformityClaimStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, values: dict[str, Any]) -> Row[Any]:
        """A claim as made; the row as written."""
        return self._db.execute(_ADD, values).one()

    def get(self, claim_id: str, *, customer_id: int | None = None, lock: bool = False) -> Row[Any]:
        """The claim (locked when `lock`); 404 when there is none or, for a customer, it is not theirs."""
        row = self._db.execute(_BY_ID.with_for_update() if lock else _BY_ID, {"b_id": claim_id}).one_or_none()
        if row is None or (customer_id is not None and row.customer_id != customer_id):
            raise NotFound("conformity_claim_not_found", f"no conformity claim {claim_id}")
        return row

    def lines_held(self, order_id: str) -> set[int]:
        """The order's lines in an open claim (the caller holds the order's lock)."""
        return {line_id for row in self._db.execute(_OPEN_OF_ORDER, {"b_order_id": order_id})
                for line_id in row.line_ids}

    def of_customer(self, customer_id: int) -> list[Row[Any]]:
        """The customer's claims, newest first."""
        return list(self._db.execute(_OF_CUSTOMER, {"b_customer": customer_id}))

    def of_orders(self, order_ids: Collection[str]) -> dict[str, list[Row[Any]]]:
        """The claims of these orders, by order id, oldest first: one statement however many orders."""
        return grouped(self._db, _OF_ORDERS, order_ids)

    def open(self, *, limit: int, after: str | None = None) -> list[Row[Any]]:
        """Claims waiting on staff or the customer, the longest waiting first (by their last step,
        `updated_at`, then id): at most `limit`, those after the claim `after` when given, wherever
        that claim is now."""
        if after is None:
            return list(self._db.execute(_OPEN, {"b_limit": limit}))
        return list(self._db.execute(_OPEN_AFTER, {"b_limit": limit, "b_after": after}))

    def known(self, claim_id: str) -> bool:
        return self._db.execute(_KNOWN, {"b_id": claim_id}).first() is not None

    def move(self, claim: Row[Any], transition: Transition, *, now: datetime, **facts: Any) -> Row[Any]:
        """The claim in the transition's destination, with `facts` beside it; the row as written."""
        statement = (update(_claims).where(_claims.c.id == claim.id)
                     .values(state=transition.to_state.value, updated_at=now, **facts).returning(*_claims.c))
        return self._db.execute(statement).one()
