"""RS-XII: the customer erases their account (DELETE /account), confirmed by its password. The rule
and what is kept are shop.domain.privacy's; here, their order: the password verified off the event
loop and outside any transaction (argon2), then one transaction that locks the account, reads what
the contract may still need of the customer, refuses (409) or erases."""

from __future__ import annotations

from datetime import datetime

from shop.adapters.stores.accounts import Account
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.accounts import account_gone
from shop.domain.errors import Forbidden
from shop.domain.privacy import check_erasable, erased_values, still_needed
from shop.services.accounts import password_matches
from shop.services.context import ShopContext
from shop.services.login_throttle import LoginThrottle


async def erase_account(ctx: ShopContext, throttle: LoginThrottle, account_id: int, password: str) -> Account:
    """The account erased (RS-XII), or refused: 401 gone already, 429 too many wrong passwords,
    403 a wrong one, 409 while the contract still needs the customer (naming what)."""
    now = await ctx.now()
    account = await ctx.db.read(lambda uow: uow.accounts.get(account_id))
    if account is None or account.erased_at is not None:
        raise account_gone()
    key = account.email  # as a login counts its failures (ids are the database's to give again)
    throttle.check_confirmation(key, now)
    if not await password_matches(ctx, account.password_hash, password):
        throttle.confirmations.failed(key, now)
        raise Forbidden("wrong_password", "the password does not match the account's", field="password")
    throttle.confirmations.forget(key)
    return await ctx.db.transaction(lambda uow: _erase(uow, account_id, account.password_hash, now))


def _erase(uow: UnitOfWork, account_id: int, confirmed_hash: str, now: datetime) -> Account:
    account = uow.accounts.lock(account_id)  # before reading its orders: an order placed meanwhile waits
    if account is None or account.erased_at is not None:
        raise account_gone()
    if account.password_hash != confirmed_hash:  # re-keyed since the password was checked
        raise Forbidden("wrong_password", "the password does not match the account's", field="password")
    check_erasable(still_needed(uow.privacy.matters_of(account_id), now))  # RS-XII
    uow.outbox.drop_unsent_to(account.email)
    return uow.accounts.erase(account_id, erased_values(account_id, now))
