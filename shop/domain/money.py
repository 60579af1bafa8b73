"""Money as an integer count of the currency's minor unit (STOREFRONT-API.md: `amount_minor`), and the
VAT part of a gross price (RS-III.1). Integers only; a float never enters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import total_ordering
from typing import Any


@total_ordering
@dataclass(frozen=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount_minor) is not int:  # bool and float refused too
            raise TypeError(f"amount_minor must be an int, got {type(self.amount_minor).__name__}")
        if not (len(self.currency) == 3 and self.currency.isascii() and self.currency.isupper()):
            raise ValueError(f"currency must be an ISO 4217 code such as 'RSD', got {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def total(cls, amounts: Iterable[Money], currency: str) -> Money:
        """The sum of `amounts` (zero when empty); every amount must be in `currency`."""
        result = cls.zero(currency)
        for amount in amounts:
            result = result + amount
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Money:
        return cls(data["amount_minor"], data["currency"])

    def to_dict(self) -> dict[str, int | str]:
        return {"amount_minor": self.amount_minor, "currency": self.currency}

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __mul__(self, factor: object) -> Money:
        if type(factor) is not int:
            return NotImplemented
        return Money(self.amount_minor * factor, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount_minor < other.amount_minor


def vat_part(gross: Money, rate: Decimal) -> Money:
    """The VAT included in a gross price (RS-III.1): gross × rate / (1 + rate), rounded half-up to
    the minor unit (a negative gross, a credit note, rounds symmetrically)."""
    if not isinstance(rate, Decimal):
        raise TypeError("rate must be a Decimal, e.g. Decimal('0.20')")
    if not Decimal(0) <= rate < Decimal(1):
        raise ValueError(f"rate must be a fraction in [0, 1), got {rate}")
    with localcontext() as context:
        context.prec = 50
        vat = Decimal(gross.amount_minor) * rate / (1 + rate)
        return Money(int(vat.quantize(Decimal(1), rounding=ROUND_HALF_UP)), gross.currency)
