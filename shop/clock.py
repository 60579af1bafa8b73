"""The shop's one clock. Every "now" comes from here; domain rules take `now` as an argument.

With SHOP_ENV=test the test clock of STOREFRONT-API.md can be set: it is kept in the database, so
the server and the `make` tasks see the same instant. Elsewhere it is the real clock.
"""

from __future__ import annotations

from datetime import UTC, datetime


def system_now() -> datetime:
    """The real time, in UTC (tests move it with time-machine)."""
    return datetime.now(UTC)


def parse_instant(raw: str, *, field: str = "now") -> datetime:
    """An ISO 8601 instant with an offset (a `Z` is fine), as an aware UTC datetime."""
    from shop.domain.errors import InvalidInput

    try:
        value = datetime.fromisoformat(raw.strip())
    except (ValueError, AttributeError):
        raise InvalidInput("invalid_instant", f"{field} must be an ISO 8601 instant", field=field) from None
    if value.tzinfo is None:
        raise InvalidInput(
            "instant_without_offset", f"{field} must carry a UTC offset (e.g. 'Z')", field=field
        )
    return value.astimezone(UTC)
