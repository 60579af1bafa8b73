"""Every error as RFC 9457 problem details with `code` and, where a rule decided, `clause`."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, ValidationException
from litestar.exceptions import PermissionDeniedException, MethodNotAllowedException

from shop.adapters.stripe_gateway import InvalidWebhook
from shop.domain.errors import DomainError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, code: str, *, clause: str | None = None,
            field: str | None = None, **extra: Any) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": "about:blank", "status": status, "title": title, "detail": detail,
                            "code": code}
    if clause:
        body["clause"] = clause
    if field:
        body["field"] = field
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM)


def domain_error(_: Request, error: DomainError) -> Response[dict[str, Any]]:
    answer = problem(error.status, error.title, error.detail, error.code, clause=error.clause, field=error.field)
    if error.retry_after is not None:
        answer.headers["Retry-After"] = str(error.retry_after)
    return answer


def validation_error(request: Request, error: ValidationException) -> Response[dict[str, Any]]:
    errors = [
        {"field": _public_name(request, _field_name(item), item.get("source")), "message": item.get("message", "")}
        for item in (error.extra if isinstance(error.extra, list) else [])
        if isinstance(item, dict)
    ]
    field = errors[0]["field"] if errors else _missing_parameter(str(error.detail))
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or str(error.detail)
    return problem(400, "Invalid request", detail, "validation_error", field=field, errors=errors)


def _public_name(request: Request, name: str, source: Any) -> str:
    """A parameter's name as the client sends it: Litestar reports the handler's argument, which
    differs where a name is reserved (`state`: `QueryParameter(name="state")` on another argument)."""
    if source not in ("query", "header", "cookie"):
        return name
    parameter = request.route_handler.parsed_fn_signature.parameters.get(name)
    alias = getattr(parameter.kwarg_definition, "name", None) if parameter is not None else None
    return alias if isinstance(alias, str) and alias else name


def _missing_parameter(detail: str) -> str | None:
    """Litestar reports a missing query/header/path parameter only in its message."""
    missing = re.match(r"Missing required \w+ parameter '([^']+)'", detail)
    return missing.group(1) if missing else None


_FIELD_IN_MESSAGE = re.compile(r"Object (?:missing required|contains unknown) field `([^`]+)`|`([^`]+)` must be")


def _field_name(item: dict[str, Any]) -> str:
    key = str(item.get("key") or "")
    source = item.get("source")
    # msgspec reports "$.lines[0].quantity"; Litestar prefixes body fields with "$.".
    key = key.removeprefix("$.")
    if source in ("query", "header", "path", "cookie"):
        return key or "body"
    if key in ("data", "$"):  # the body itself
        key = ""
    # A missing or unknown member is reported at its object; name the member itself.
    if named := _FIELD_IN_MESSAGE.match(str(item.get("message", ""))):
        member = named.group(1) or named.group(2)
        key = f"{key}.{member}" if key else member
    return key or "body"


def http_error(_: Request, error: HTTPException) -> Response[dict[str, Any]]:
    codes = {401: "not_authenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
             413: "payload_too_large", 429: "too_many_requests"}
    code = codes.get(error.status_code, "http_error")
    return problem(error.status_code, str(error.detail) or code, str(error.detail), code)


def invalid_webhook(_: Request, error: InvalidWebhook) -> Response[dict[str, Any]]:
    # invalid_signature; a signed body: invalid_payload (not JSON) or invalid_event (naming the field)
    return problem(400, "Invalid webhook", str(error), error.code, field=error.field)


def unexpected(request: Request, error: Exception) -> Response[dict[str, Any]]:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return problem(500, "Internal error", "the shop could not answer; nothing was changed", "internal_error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    ValidationException: validation_error,
    NotAuthorizedException: http_error,
    PermissionDeniedException: http_error,
    NotFoundException: http_error,
    MethodNotAllowedException: http_error,
    HTTPException: http_error,
    InvalidWebhook: invalid_webhook,
    Exception: unexpected,
}
