"""Accounts as stored: the customer's own (GET /account) and, for staff, anyone's and the removal of
staff rights (/ops/accounts). RS-I.2: the guardian's consent recorded at registration is produced
on request, to the customer and to staff."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter

from shop.adapters.tables import User
from shop.services import accounts
from shop.services.context import ShopContext
from shop.web.auth import LARGEST_ID, Principal, ops_only
from shop.web.presenters import instant
from shop.web.responses import problems

Ctx = NamedDependency[ShopContext]
AccountId = Annotated[int, Parameter(ge=1, le=LARGEST_ID, description="the account's id")]


class GuardianConsentOut(msgspec.Struct):
    guardian_name: str
    given_at: date


class StoredAccountOut(msgspec.Struct):
    id: int
    email: str
    full_name: str
    birth_date: date
    phone: str | None
    is_ops: bool
    registered_at: str
    guardian_consent: GuardianConsentOut | None
    """RS-I.2: the legal representative's consent a minor registered with (null for an adult)."""

    @classmethod
    def of(cls, user: User) -> StoredAccountOut:
        consent = (GuardianConsentOut(user.guardian_name, user.guardian_consent_given_at)
                   if user.guardian_name is not None and user.guardian_consent_given_at is not None else None)
        return cls(id=user.id or 0, email=user.email, full_name=user.full_name, birth_date=user.birth_date,
                   phone=user.phone, is_ops=user.is_ops, registered_at=instant(user.created_at) or "",
                   guardian_consent=consent)


class MyAccountController(Controller):
    path = "/account"
    tags = ["accounts"]

    @get("", responses=problems(401))
    async def mine(self, ctx: Ctx, request: Request[Principal, Any, Any]) -> StoredAccountOut:
        """The caller's account as stored, with the guardian's consent it registered with (RS-I.2)."""
        return StoredAccountOut.of(await accounts.account(ctx, request.user.id))


class OpsAccountController(Controller):
    path = "/ops/accounts"
    tags = ["operations"]
    guards = [ops_only]

    @get("/{account_id:int}", responses=problems(400, 401, 403, 404))
    async def show(self, ctx: Ctx, account_id: AccountId) -> StoredAccountOut:
        """Any account as stored, with the guardian's consent (RS-I.2)."""
        return StoredAccountOut.of(await accounts.account(ctx, account_id))

    @post("/{account_id:int}/demote", status_code=200, responses=problems(400, 401, 403, 404))
    async def demote(self, ctx: Ctx, account_id: AccountId) -> StoredAccountOut:
        """Take staff rights away; the account's tokens lose them with their next request."""
        return StoredAccountOut.of(await accounts.demote_ops_user(ctx, user_id=account_id))
