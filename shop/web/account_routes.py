"""Accounts as stored: the customer's own (GET /account), its erasure (DELETE /account, RS-XII) and,
for staff, anyone's and the removal of staff rights (/ops/accounts). RS-I.2: the guardian's consent
recorded at registration is produced on request, to the customer and to staff."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter, QueryParameter

from shop.services import account_erasure, accounts
from shop.services.context import ShopContext
from shop.web import presenters
from shop.web.auth import LARGEST_ID, Principal, ops_only
from shop.web.responses import OpsAccountOut, StoredAccountOut, problems
from shop.web.schemas import NO_NUL, EraseAccountIn

Ctx = NamedDependency[ShopContext]
AccountId = Annotated[int, Parameter(ge=1, le=LARGEST_ID, description="the account's id")]
EmailQuery = Annotated[str, QueryParameter(max_length=320, pattern=NO_NUL, description="the account's e-mail address")]


class MyAccountController(Controller):
    path = "/account"
    tags = ["accounts"]

    @get("", responses=problems(401))
    async def mine(self, ctx: Ctx, request: Request[Principal, Any, Any]) -> StoredAccountOut:
        """The caller's account as stored, with the guardian's consent it registered with (RS-I.2)."""
        return presenters.stored_account(await accounts.account(ctx, request.user.id))

    @delete("", status_code=200, responses=problems(400, 401, 403, 409, 413, 429, 503))
    async def erase(self, ctx: Ctx, request: Request[Principal, Any, Any],
                    data: JSONBody[EraseAccountIn]) -> StoredAccountOut:
        """RS-XII: erase the caller's account, its password confirming it (a JSON body: a password
        does not belong in a header, which proxies log). Refused (409, naming what) while the
        contract still needs the customer: an order not finished or within its withdrawal period, a
        refund not settled, a withdrawal, conformity claim, complaint, take-back or service case
        open, a KZ perk redeemed through the account not used yet. Otherwise the account's personal
        data are erased, its e-mail free to register again, and its tokens answer 401 at once; the
        orders, invoices, refunds, ledger and timeline stay as they are (shop.domain.privacy).
        A wrong password is a 403 (the token is good; the confirmation is not), 5 within 15 minutes
        a 429 with Retry-After. Answers what is left of the account, as stored."""
        return presenters.stored_account(await account_erasure.erase_account(
            ctx, request.app.state["login_throttle"], request.user.id, data.password))


class OpsAccountController(Controller):
    path = "/ops/accounts"
    tags = ["operations"]
    guards = [ops_only]

    @get("", responses=problems(400, 401, 403, 422))
    async def find(self, ctx: Ctx, email: EmailQuery) -> list[OpsAccountOut]:
        """The account registered with this e-mail (any case; an erased one is gone), as `GET
        /ops/accounts/{id}` shows it: none or one, for staff who know a customer by address."""
        return [presenters.ops_account(*found)  # type: ignore[misc]
                for found in await accounts.find_for_staff(ctx, email)]

    @get("/{account_id:int}", responses=problems(400, 401, 403, 404))
    async def show(self, ctx: Ctx, account_id: AccountId) -> OpsAccountOut:
        """Any account as stored, with the guardian's consent (RS-I.2) and its block history (RS-XIII:
        who blocked it, when and why; who lifted each block, when)."""
        return presenters.ops_account(*await accounts.account_for_staff(ctx, account_id))  # type: ignore[return-value]

    @post("/{account_id:int}/demote", status_code=200, responses=problems(400, 401, 403, 404))
    async def demote(self, ctx: Ctx, account_id: AccountId) -> StoredAccountOut:
        """Take staff rights away; the account's tokens lose them with their next request."""
        return presenters.stored_account(await accounts.demote_ops_user(ctx, user_id=account_id))
