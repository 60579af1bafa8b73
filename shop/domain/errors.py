"""Domain errors: every refusal carries a stable machine code and, where a contract rule decided
it, the clause (a rule id of REQUIREMENTS.md). The web layer maps them to problem details in one place.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the contract or the shop's rules refuse."""

    status = 422
    title = "Request refused"
    retry_after: int | None = None
    """Seconds before the same request may succeed (sent as `Retry-After`), where that is known."""

    def __init__(
        self, code: str, detail: str, *, clause: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.clause = clause
        self.field = field


class InvalidInput(DomainError):
    """The request is well-formed but a value is unusable (names the field)."""

    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The request clashes with the current state (a transition not allowed now, stock taken)."""

    status = 409
    title = "Conflict"


class Unauthorized(DomainError):
    status = 401
    title = "Not authenticated"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class TransitionRefused(Conflict):
    """The order's state machine refuses the event in the order's present state."""

    title = "Transition refused"
