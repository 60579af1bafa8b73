"""Login tokens (JWT bearer) and the ops guard. A token carries the account id and whether it is
staff, so a request needs no database read to know who asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTAuth, Token

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


def jwt_auth(secret_key: str) -> JWTAuth[Principal]:
    return JWTAuth[Principal](
        token_secret=secret_key,
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
