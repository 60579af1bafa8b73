"""Reads only: what an order's offer is checked against before anything is written or Stripe is
called (shop.services.checkout.place_order), one statement a SKU: the product's facts with its free
units as `available`, the customer's units of it in orders not cancelled as `ordered` (RS-V.5.5),
the account's `account_is_ops` (RS-I.1; None: no such account, or erased, RS-XII) and the end of the product's
market's technical interruption in effect as `interrupted_until` (RS-IV.4; None: orders are taken;
about 7 µs a statement on SQLite). With an Idempotency-Key, the key's earlier answer comes with the
first SKU's statement: one round trip fewer a keyed order on PostgreSQL than a statement of its own.
The tables' writers are their own stores (products, orders, accounts, idempotency, interruptions)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.engine import Connection, Row

from shop.adapters.stores import fast
from shop.adapters.stores.idempotency import IdempotencyStore
from shop.adapters.stores.interruptions import NOW, interrupted_until
from shop.adapters.stores.products import available_units
from shop.adapters.stores.units_ordered import units_ordered_of
from shop.adapters.tables import IdempotencyRecord, Product, User, table_of

_products, _users, _records = table_of(Product), table_of(User), table_of(IdempotencyRecord)
_earlier = _records.alias("earlier")
_FACTS = select(
    *_products.c, available_units,
    units_ordered_of(bindparam("customer_id"), _products.c.sku).scalar_subquery().label("ordered"),
    select(_users.c.is_ops).where(_users.c.id == bindparam("customer_id"), _users.c.erased_at.is_(None))
    .scalar_subquery().label("account_is_ops"),
    interrupted_until(_products.c.market, NOW),
).where(_products.c.sku == bindparam("sku"))
_ANSWER_KEYS = tuple(_records.c.keys())
_FACTS_ONLY = fast.Statement(_FACTS)
_FACTS_AND_ANSWER = fast.Statement(
    _FACTS.add_columns(*(_earlier.c[key].label(f"earlier_{key}") for key in _ANSWER_KEYS))
    .select_from(_products.outerjoin(_earlier, and_(_earlier.c.scope == bindparam("scope"),
                                                    _earlier.c.key == bindparam("key")))))
Answer = namedtuple("Answer", _ANSWER_KEYS)  # type: ignore[misc]
"""An Idempotency-Key's record, as shop.adapters.stores.idempotency reads it."""


class OfferStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def facts(self, skus: Iterable[str], *, customer_id: int, now: datetime, key: tuple[str, str] | None = None
              ) -> tuple[dict[str, Row[Any]], Any | None]:
        """The rows of these SKUs that exist (as described above, the interruption as of `now`), and
        for `key` (scope, key) its record if it has one: read with the first SKU that exists, or on
        its own when none does."""
        found: dict[str, Row[Any]] = {}
        answer: Any | None = None
        answer_read = key is None
        for sku in dict.fromkeys(skus):
            params: dict[str, Any] = {"sku": sku, "customer_id": customer_id, NOW.key: now}
            if not answer_read:
                assert key is not None
                params.update(scope=key[0], key=key[1])
                row = fast.run(self._db, _FACTS_AND_ANSWER, params).first()
                if row is not None:
                    answer_read = True
                    if row.earlier_scope is not None:
                        answer = Answer(*(getattr(row, f"earlier_{name}") for name in _ANSWER_KEYS))
            else:
                row = fast.run(self._db, _FACTS_ONLY, params).first()
            if row is not None:
                found[sku] = row
        if not answer_read:  # no SKU of the order exists: the key on its own
            assert key is not None
            answer = IdempotencyStore(self._db).answer(*key)
        return found, answer
