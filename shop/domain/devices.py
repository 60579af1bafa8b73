"""Device identifiers: phones ship with their IMEIs (KZ-1: each IMEI gets its own perk bundle)."""

from __future__ import annotations

from stdnum import imei as stdnum_imei

from shop.domain.errors import InvalidInput


def checked_imei(raw: str, *, field: str) -> str:
    """Exactly 15 digits with a valid Luhn check digit (stdnum also accepts 14 and 16 digits)."""
    compact = stdnum_imei.compact(raw) if isinstance(raw, str) else ""
    if len(compact) != 15 or not compact.isdigit() or not stdnum_imei.is_valid(compact):
        raise InvalidInput("invalid_imei", f"{raw!r} is not a valid 15-digit IMEI", field=field)
    return compact
