"""Login tokens (JWT bearer) and the ops guard. A token carries the account id and whether it was
staff when issued; every request reads the account by its primary key (`accounts.staff_rights`,
one statement), so a deleted or erased account's token is refused (RS-XII: the same read skips an
erased account) and a demoted account loses staff rights at once, not when its token expires."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTAuth, Token
from shop.clock import system_now
from shop.domain.accounts import account_gone
from shop.services.accounts import staff_rights

TOKEN_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Principal:
    id: int
    is_ops: bool

    @property
    def actor(self) -> str:
        return f"{'ops' if self.is_ops else 'customer'}:{self.id}"


ACCOUNT_READ_BY_USE_CASE = "account_read_by_use_case"
"""A route's `opt`: its use case reads the account behind the token itself, in a statement it sends
anyway (placing an order: shop.services.checkout), and refuses a deleted account (401) or a staff one
as it stands in the database; the request then costs no read of its own (on PostgreSQL about 0.15 ms
of CPU and a round trip an order)."""

LARGEST_ID = 2**31 - 1  # users.id is a 32-bit integer on PostgreSQL


def _account_id(sub: str) -> int | None:
    """The id a token's `sub` names: decimal ASCII digits only (int() would take " 7", "+7", "٧")."""
    if not (sub.isascii() and sub.isdigit()) or len(sub) > 10:
        return None
    value = int(sub)
    return value if 1 <= value <= LARGEST_ID else None


async def _principal(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """None (401 `not_authenticated`) unless `sub` is an account id and `ops` a boolean; 401
    `account_not_found` when the account was deleted or erased (as a use case reading it says);
    staff rights only while the token AND the account say so (a demoted account loses them at once;
    a promoted one logs in again)."""
    account_id, ops = _account_id(token.sub), token.extras.get("ops")
    if account_id is None or not isinstance(ops, bool):
        return None
    if connection.route_handler.opt.get(ACCOUNT_READ_BY_USE_CASE):
        return Principal(account_id, ops)  # its use case reads the account in its own first statement
    is_ops = await staff_rights(connection.app.state["ctx"], account_id)
    if is_ops is None:
        raise account_gone()
    return Principal(account_id, ops and is_ops)


class CheckedOnceToken(Token):
    """Litestar's token, its signature and claims checked once per token and key, its lifetime on
    every use. A customer sends the same token with every request for 12 hours, and checking it
    again (PyJWT and Litestar: base64, JSON, HMAC, claims, the dataclass) took 45-80 µs of CPU a
    request on this machine, the most of any one step in an order's own code; a lookup, 1-2 µs.
    A token checked once is shared by the requests that send it: it is read, never changed."""

    @classmethod
    def decode(cls, encoded_token: str, secret: str, algorithm: str, *,  # type: ignore[override]
               audience: str | Sequence[str] | None = None, issuer: str | Sequence[str] | None = None,
               require_claims: Sequence[str] | None = None, verify_exp: bool = True,
               verify_nbf: bool = True, strict_audience: bool = False) -> CheckedOnceToken:
        token = _checked(cls, encoded_token, secret, algorithm, _hashable(audience), _hashable(issuer),
                         _hashable(require_claims), verify_exp, verify_nbf, strict_audience)
        if verify_exp and not token.iat <= system_now() < token.exp:
            # Expired since it was checked (or the clock went back): Litestar's own refusal.
            return super().decode(encoded_token, secret, algorithm, audience=audience, issuer=issuer,
                                  require_claims=require_claims, verify_exp=verify_exp, verify_nbf=verify_nbf,
                                  strict_audience=strict_audience)
        return token


@lru_cache(maxsize=4096)  # tokens of the customers active in the last while; a failed check is never kept
def _checked(cls: type[CheckedOnceToken], encoded_token: str, secret: str, algorithm: str, *options: Any
             ) -> CheckedOnceToken:
    audience, issuer, require_claims, verify_exp, verify_nbf, strict_audience = options
    return super(CheckedOnceToken, cls).decode(
        encoded_token, secret, algorithm, audience=audience, issuer=issuer, require_claims=require_claims,
        verify_exp=verify_exp, verify_nbf=verify_nbf, strict_audience=strict_audience)


def _hashable(value: str | Sequence[str] | None) -> str | tuple[str, ...] | None:
    return value if value is None or isinstance(value, str) else tuple(value)


def jwt_auth(secret_key: str) -> JWTAuth[Principal]:
    return JWTAuth[Principal](
        token_secret=secret_key,
        token_cls=CheckedOnceToken,
        retrieve_user_handler=_principal,
        default_token_expiration=TOKEN_LIFETIME,
        exclude=[
            # `/products$`: the catalogue alone; a product's reviews are read with no token and posted
            # with one, on the same path: the public GET opts out (`PUBLIC_ROUTE`)
            "/api/v1/auth/", "/api/v1/terms", "/api/v1/products$", "/api/v1/checkout/quote", "/api/v1/webhooks/",
            "/api/v1/perks/eligibility", "/api/v1/interruptions", "/api/v1/test/", "/schema", "/api/v1/health",
        ],
    )


PUBLIC_ROUTE = {"exclude_from_auth": True}
"""A route's `opt`: anyone may call it without a token, where its path alone cannot say so (a path
that also has a route needing one)."""


async def optional_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The caller of a public route that takes a token when one is sent (RS-XIII: a notice of
    illegal content is anyone's, but not a blocked account's from its token): None without an
    Authorization header; a header that is not a good token of an existing account is a 401, as on
    any other route."""
    auth: JWTAuth[Principal] = connection.app.state["jwt"]
    header = connection.headers.get(auth.auth_header)
    if not header:
        return None
    token = auth.token_cls.decode(header.partition(" ")[-1], auth.token_secret, auth.algorithm,  # as Litestar's
                                  verify_exp=auth.verify_expiry, verify_nbf=auth.verify_not_before)
    principal = await _principal(token, connection)
    if principal is None:
        raise NotAuthorizedException("the token does not name an account")
    return principal


def issue_token(auth: JWTAuth[Principal], user_id: int, is_ops: bool) -> str:
    return auth.create_token(identifier=str(user_id), token_extras={"ops": is_ops})


def ops_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not isinstance(connection.user, Principal) or not connection.user.is_ops:
        raise PermissionDeniedException("this endpoint needs an operations account")
