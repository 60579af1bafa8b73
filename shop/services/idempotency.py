"""`Idempotency-Key`: the same key with the same body returns the first answer and creates nothing;
the same key with another body is refused (STOREFRONT-API.md, Conventions)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shop.adapters.prepared import Prepared, Row, Statements
from shop.adapters.tables import IdempotencyRecord, table_of
from shop.domain.errors import Conflict, InvalidInput

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class IdempotencyClaim:
    scope: str
    key: str
    request_hash: str


def claim_for(scope: str, key: str | None, body: Any) -> IdempotencyClaim | None:
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise InvalidInput("invalid_idempotency_key",
                           f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters, none of them U+0000",
                           field="Idempotency-Key")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return IdempotencyClaim(scope, key, hashlib.sha256(canonical.encode()).hexdigest())


_records = table_of(IdempotencyRecord)
_RECORD = Prepared(select(*_records.c).where(_records.c.scope == bindparam("scope"),
                                             _records.c.key == bindparam("key")))
_REMEMBER = Prepared(insert(_records))


async def earlier_answer(db: Statements, claim: IdempotencyClaim) -> IdempotencyRecord | Row | None:
    """The record of an earlier request with this key; 409 when its body differed."""
    record = await db.first(_RECORD, scope=claim.scope, key=claim.key)
    if record is not None and record.request_hash != claim.request_hash:
        raise Conflict("idempotency_key_reused",
                       "this Idempotency-Key was used with a different request body")
    return record


async def remember(db: Statements, claim: IdempotencyClaim, resource_id: str, now: datetime) -> None:
    """Claim the key in the transaction that creates the resource (the primary key makes a
    concurrent twin fail instead of creating a second resource); its answer follows (`store_answer`)."""
    await db.execute(_REMEMBER, scope=claim.scope, key=claim.key, request_hash=claim.request_hash,
                     resource_id=resource_id, created_at=now)


async def store_answer(session: AsyncSession, claim: IdempotencyClaim, status: int, body: Any) -> None:
    record = await session.get(IdempotencyRecord, (claim.scope, claim.key))
    if record is not None and record.body is None:
        record.status_code, record.body = status, body
        session.add(record)
