"""Accounts as stored: the customer's own (GET /account) and, for staff, anyone's and the removal of
staff rights (/ops/accounts). RS-I.2: the guardian's consent recorded at registration is produced
on request, to the customer and to staff."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter

from shop.services import accounts
from shop.services.context import ShopContext
from shop.web import presenters
from shop.web.auth import LARGEST_ID, Principal, ops_only
from shop.web.responses import StoredAccountOut, problems

Ctx = NamedDependency[ShopContext]
AccountId = Annotated[int, Parameter(ge=1, le=LARGEST_ID, description="the account's id")]


class MyAccountController(Controller):
    path = "/account"
    tags = ["accounts"]

    @get("", responses=problems(401))
    async def mine(self, ctx: Ctx, request: Request[Principal, Any, Any]) -> StoredAccountOut:
        """The caller's account as stored, with the guardian's consent it registered with (RS-I.2)."""
        return presenters.stored_account(await accounts.account(ctx, request.user.id))


class OpsAccountController(Controller):
    path = "/ops/accounts"
    tags = ["operations"]
    guards = [ops_only]

    @get("/{account_id:int}", responses=problems(400, 401, 403, 404))
    async def show(self, ctx: Ctx, account_id: AccountId) -> StoredAccountOut:
        """Any account as stored, with the guardian's consent (RS-I.2)."""
        return presenters.stored_account(await accounts.account(ctx, account_id))

    @post("/{account_id:int}/demote", status_code=200, responses=problems(400, 401, 403, 404))
    async def demote(self, ctx: Ctx, account_id: AccountId) -> StoredAccountOut:
        """Take staff rights away; the account's tokens lose them with their next request."""
        return presenters.stored_account(await accounts.demote_ops_user(ctx, user_id=account_id))
