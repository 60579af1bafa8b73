"""Login tokens (JWT bearer) and the ops guard. A token carries the account id and whether it is
staff, so a request needs no database read to know who asks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTAuth, Token

from shop.clock import system_now

TOKEN_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Principal:
    id: int
    is_ops: bool

    @property
    def actor(self) -> str:
        return f"{'ops' if self.is_ops else 'customer'}:{self.id}"


async def _principal(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    try:
        return Principal(int(token.sub), bool(token.extras.get("ops", False)))
    except ValueError:
        return None


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
            "/api/v1/auth/", "/api/v1/terms", "/api/v1/products", "/api/v1/checkout/quote", "/api/v1/webhooks/",
            "/api/v1/test/", "/schema", "/api/v1/health",
        ],
    )


def issue_token(auth: JWTAuth[Principal], user_id: int, is_ops: bool) -> str:
    return auth.create_token(identifier=str(user_id), token_extras={"ops": is_ops})


def ops_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not isinstance(connection.user, Principal) or not connection.user.is_ops:
        raise PermissionDeniedException("this endpoint needs an operations account")
