"""`Idempotency-Key` with Stripe's semantics (STOREFRONT-API.md, Conventions): once a request with a
key has started executing, its answer is what the key returns — the order it created, or the
refusal it met (a per-customer limit, out of stock, terms not accepted: a business 4xx). The same
key with another body is a 409 `idempotency_key_reused`.

What is not kept: a request refused before it started (a body that does not validate, an unknown
payment method) and a 5xx (`payment_provider_unavailable`: nothing was ordered, and a retry with
the same key is how a storefront should try again). Two requests with one key at once both run;
the first to commit keeps the key, the other gives up its PaymentIntent and answers what the key
holds (the key's one answer, never a second order).

The record of a created order is written in the transaction (the group commit batch) that writes
the order, its answer built from the values written: a keyed order costs one row more, not one
transaction more.

A key is kept 24 hours at least, as Stripe keeps its own (KEY_KEPT): `make expire-payments`, which
runs more often than every 6 hours, forgets older ones (`forget_old_keys`), so the records (each
with a whole order's answer, the customer's address in it) do not pile up for ever; a key reused
after that starts a new request, as at Stripe."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.errors import Conflict, InvalidInput
from shop.services.context import ShopContext

MAX_KEY_LENGTH = 255
KEY_KEPT = timedelta(hours=24)
"""How long a key's answer is kept at least (Stripe: keys "at least 24 hours old" may be removed)."""
FORGET_AT_ONCE = 5_000
"""Records forgotten a transaction: SQLite's one writer (the orders) waits for each batch, not all."""


@dataclass(frozen=True)
class IdempotencyClaim:
    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class Kept:
    """A keyed request's answer from before (its status and body), to send again."""

    status_code: int
    body: Any


def claim_for(scope: str, key: str | None, body: Any) -> IdempotencyClaim | None:
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise InvalidInput("invalid_idempotency_key",
                           f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters, none of them U+0000",
                           field="Idempotency-Key")
    canonical = msgspec.json.encode(body, order="sorted")  # every object's keys sorted, nested ones too
    return IdempotencyClaim(scope, key, hashlib.sha256(canonical).hexdigest())


def earlier_answer(uow: UnitOfWork, claim: IdempotencyClaim) -> Any | None:
    """The record of an earlier request with this key (`status_code`, `body`, `resource_id`); 409
    when its body differed."""
    return checked_answer(claim, uow.idempotency.answer(claim.scope, claim.key))


def checked_answer(claim: IdempotencyClaim, record: Any | None) -> Any | None:
    """The key's record as read (None: the key is new); 409 when it was kept for another body."""
    if record is not None and record.request_hash != claim.request_hash:
        raise Conflict("idempotency_key_reused",
                       "this Idempotency-Key was used with a different request body")
    return record


def answer_row(claim: IdempotencyClaim, *, resource_id: str | None, status: int, body: Any,
               now: datetime) -> dict[str, Any]:
    return {"scope": claim.scope, "key": claim.key, "request_hash": claim.request_hash,
            "resource_id": resource_id, "status_code": status, "body": body, "created_at": now}


def remember_answers(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    """The answers of the batch's keyed requests, in its transaction: a key taken meanwhile by a
    concurrent twin fails the transaction (`KeyTaken`, from its primary key), so no second resource
    is created."""
    uow.idempotency.remember(rows)


async def remember_refusal(ctx: ShopContext, claim: IdempotencyClaim, status: int, body: Any,
                           now: datetime) -> Any:
    """Keep a business refusal as the key's answer, unless a concurrent twin kept its answer
    first: then that one is the key's answer (and this request's)."""
    def remember(uow: UnitOfWork) -> Any:
        uow.idempotency.remember_unless_taken(answer_row(claim, resource_id=None, status=status, body=body,
                                                         now=now))
        return earlier_answer(uow, claim)

    record = await ctx.db.transaction(remember)
    assert record is not None  # written above or by the twin; a record is never deleted
    return record


async def forget_old_keys(ctx: ShopContext, now: datetime, *, at_once: int = FORGET_AT_ONCE) -> int:
    """Forgets the keys kept longer than KEY_KEPT before `now`, a batch a transaction; how many."""
    forgotten, before = 0, now - KEY_KEPT
    while True:
        batch = await ctx.db.transaction(lambda uow: uow.idempotency.forget_older_than(before, limit=at_once))
        forgotten += batch
        if batch < at_once:
            return forgotten
