"""The one writer of accounts (users): registration, staff rights, the account behind a token, the
customers an order batch locks (RS-V.5.5), erasure (RS-XII) and blocking for abuse (RS-XIII: read
only by the use cases of reviews and notices, never on a token's or an order's path; each block and
its lifting also written to the account's block history, `account_blocks`, in the same call). An
erased account's row stays for the records that refer to it, but is no account to a token, a login or an
order: the reads behind them find only accounts not erased (`_LIVE`), in the same one statement as
before."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from shop.adapters.review_tables import AccountBlock
from shop.adapters.stores import fast
from shop.adapters.tables import User, table_of

Account = Row[Any]
"""A stored account: the columns of `users` by name (`account.email`)."""

_users, _blocks = table_of(User), table_of(AccountBlock)
_LIVE = _users.c.erased_at.is_(None)  # RS-XII: an erased account is gone
_BY_ID = select(_users).where(_users.c.id == bindparam("id"))
_BY_EMAIL = select(_users).where(_users.c.email == bindparam("email"), _LIVE)
_ID_BY_EMAIL = select(_users.c.id).where(_users.c.email == bindparam("email"))
_STAFF_RIGHTS = fast.Statement(select(_users.c.is_ops).where(_users.c.id == bindparam("id"), _LIVE))  # every request
_LOCK = select(_users).where(_users.c.id == bindparam("id")).with_for_update()
_ERASE = update(_users).where(_users.c.id == bindparam("b_id")).returning(*_users.c)
_ADD = insert(_users).returning(*_users.c)
_MAKE_OPS = (update(_users).where(_users.c.email == bindparam("b_email"))
             .values(is_ops=True, password_hash=bindparam("b_password_hash")).returning(*_users.c))
_DEMOTE_BY_EMAIL = (update(_users).where(_users.c.email == bindparam("b_email")).values(is_ops=False)
                    .returning(*_users.c))
_BLOCK = (update(_users).where(_users.c.id == bindparam("b_id"))
          .values(blocked_at=bindparam("b_at"), blocked_reason=bindparam("b_reason"), blocked_by=bindparam("b_by"))
          .returning(*_users.c))
_OPEN_BLOCK = insert(_blocks).values(account_id=bindparam("b_id"), blocked_at=bindparam("b_at"),
                                     blocked_by=bindparam("b_by"), reason=bindparam("b_reason"))
_LIFT_BLOCK = (update(_blocks).where(_blocks.c.account_id == bindparam("b_id"), _blocks.c.unblocked_at.is_(None))
               .values(unblocked_at=bindparam("b_at"), unblocked_by=bindparam("b_by")).returning(_blocks.c.id))
_BLOCKS_OF = select(_blocks).where(_blocks.c.account_id == bindparam("b_id")).order_by(_blocks.c.id)
_DEMOTE_BY_ID = update(_users).where(_users.c.id == bindparam("b_id")).values(is_ops=False).returning(*_users.c)
# In the order of their ids, so two batches never wait for each other in a circle; the addresses for
# the e-mails come with them. (SQLite has no FOR UPDATE: its write lock is the database's.)
@cache
def _lock_customers(count: int) -> fast.Statement:
    """The batch's customers locked in the order of their ids, one statement for each number of
    customers (an expanding IN would be rendered anew on every call)."""
    ids = [bindparam(f"id_{i}", type_=Integer) for i in range(count)]
    return fast.Statement(select(_users.c.id, _users.c.email).where(_users.c.id.in_(ids), _LIVE)
                          .order_by(_users.c.id).with_for_update())


class EmailTaken(Exception):
    """An account with this e-mail was registered meanwhile (the unique index refused it)."""


class AccountStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def get(self, account_id: int) -> Account | None:
        return self._db.execute(_BY_ID, {"id": account_id}).first()

    def by_email(self, email: str) -> Account | None:
        return self._db.execute(_BY_EMAIL, {"email": email}).first()

    def exists(self, email: str) -> bool:
        return self._db.execute(_ID_BY_EMAIL, {"email": email}).first() is not None

    def staff_rights(self, account_id: int) -> bool | None:
        """Whether the account is staff; None when there is no such account or it was erased (one
        primary-key read)."""
        is_ops = fast.run(self._db, _STAFF_RIGHTS, {"id": account_id}).first()
        return None if is_ops is None else bool(is_ops[0])

    def add(self, values: dict[str, Any]) -> Account:
        """The account as written; `EmailTaken` when the e-mail is registered already."""
        try:
            return self._db.execute(_ADD, values).one()
        except IntegrityError:
            raise EmailTaken(values["email"]) from None

    def make_ops(self, email: str, password_hash: str) -> Account | None:
        """Staff rights and a new password for the account with this e-mail (None: there is none)."""
        return self._db.execute(_MAKE_OPS, {"b_email": email, "b_password_hash": password_hash}).first()

    def demote(self, *, email: str | None = None, account_id: int | None = None) -> Account | None:
        """Staff rights taken from the account with this e-mail or id (None: there is none)."""
        if email is not None:
            return self._db.execute(_DEMOTE_BY_EMAIL, {"b_email": email}).first()
        return self._db.execute(_DEMOTE_BY_ID, {"b_id": account_id}).first()

    def lock(self, account_id: int) -> Account | None:
        """The account, locked until the transaction ends (as an order batch locks its customers)."""
        return self._db.execute(_LOCK, {"id": account_id}).first()

    def erase(self, account_id: int, values: dict[str, Any]) -> Account:
        """RS-XII: the account's columns replaced by `values` (shop.domain.privacy.erased_values)."""
        return self._db.execute(_ERASE.values(**values), {"b_id": account_id}).one()

    def lock_customers(self, customer_ids: Sequence[int]) -> dict[int, str]:
        """Serialises each customer's orders so the per-customer limit holds under concurrency
        (RS-V.5.5): the customers locked, in the order of their ids; their e-mail addresses by id
        (an account deleted or erased meanwhile is missing: the lock waits for an erasure's commit,
        then reads the row as erased)."""
        ids = sorted(customer_ids)
        rows = fast.run(self._db, _lock_customers(len(ids)), {f"id_{i}": id_ for i, id_ in enumerate(ids)})
        return {row.id: row.email for row in rows}

    def block(self, account_id: int, *, at: datetime, reason: str, by: str) -> Account:
        """RS-XIII: the account blocked from reviews and notices, and the block opened in its history
        (a block already open: IntegrityError, the unique index); the row as written."""
        values = {"b_id": account_id, "b_at": at, "b_reason": reason, "b_by": by}
        self._db.execute(_OPEN_BLOCK, values)
        return self._db.execute(_BLOCK, values).one()

    def unblock(self, account_id: int, *, at: datetime, by: str) -> Account:
        """RS-XIII: the block lifted, on the row and in its history (who, when); the row as written."""
        lifted = self._db.execute(_LIFT_BLOCK, {"b_id": account_id, "b_at": at, "b_by": by}).all()
        if len(lifted) != 1:  # the row said blocked: its history has exactly one block open
            raise RuntimeError(f"account {account_id}: {len(lifted)} blocks open in its history")
        return self._db.execute(_BLOCK, {"b_id": account_id, "b_at": None, "b_reason": None, "b_by": None}).one()

    def blocks(self, account_id: int) -> list[Row[Any]]:
        """RS-XIII: the account's block history, the first block first (`blocked_at`, `blocked_by`,
        `reason`, `unblocked_at`, `unblocked_by`)."""
        return list(self._db.execute(_BLOCKS_OF, {"b_id": account_id}))
