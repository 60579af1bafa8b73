"""The one writer of Idempotency-Key records (shop.services.idempotency): an answer kept once per
key, never changed; forgotten once old (`forget_older_than`, by `make expire-payments`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from shop.adapters.stores import fast
from shop.adapters.tables import IdempotencyRecord, table_of

_records = table_of(IdempotencyRecord)
_RECORD = fast.Statement(select(_records).where(_records.c.scope == bindparam("scope"),
                                                  _records.c.key == bindparam("key")))
_OLDEST = (select(_records.c.scope, _records.c.key).where(_records.c.created_at < bindparam("b_before"))
           .limit(bindparam("b_limit")))
_FORGET = delete(_records).where(tuple_(_records.c.scope, _records.c.key).in_(_OLDEST))
"""A batch of records kept before an instant, in no particular order: no index on `created_at`
(every keyed order would maintain it). Records are mostly stored in the order they were kept, so a
scan finds the old ones early (PostgreSQL may put new rows into space freed by old ones: a batch then
reads further, with the same result); the table holds about a day of keys."""
_REMEMBER_UNLESS_TAKEN = {"postgresql": postgresql.insert(_records).on_conflict_do_nothing(),
                          "sqlite": sqlite.insert(_records).on_conflict_do_nothing()}


class KeyTaken(Exception):
    """A concurrent request with the same key kept its answer first (the primary key refused ours)."""


class IdempotencyStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def answer(self, scope: str, key: str) -> Row[Any] | None:
        """The record kept for the key in this scope, if any."""
        return fast.run(self._db, _RECORD, {"scope": scope, "key": key}).first()

    def remember(self, records: Sequence[dict[str, Any]]) -> None:
        """Keeps these answers in one statement; `KeyTaken` when a key has one already (the
        transaction is then lost: nothing it wrote is kept)."""
        if not records:
            return
        try:
            fast.insert_rows(self._db, _records, records)
        except IntegrityError:
            raise KeyTaken from None

    def forget_older_than(self, before: Any, *, limit: int) -> int:
        """Forgets at most `limit` records kept before `before`; how many."""
        return self._db.execute(_FORGET, {"b_before": before, "b_limit": limit}).rowcount

    def remember_unless_taken(self, record: dict[str, Any]) -> None:
        """Keeps this answer unless the key has one already (then that one stays)."""
        self._db.execute(_REMEMBER_UNLESS_TAKEN[self._db.dialect.name], record)
