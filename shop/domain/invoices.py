"""The VAT invoice of a sale and the corrected invoice of a refund (RS-IV.8–9, RS-IV.10, RS-III.1).

- **The invoice** (RS-IV.8–9) documents the sale. Decision: it is issued when the seller confirms the
  order (RS-IV.6: the contract is formed then, and covers only the lines confirmed available), so it
  lists exactly those lines and the delivery charge; an order rejected or cancelled before its
  confirmation was never a sale and has none. It is sent to the customer's e-mail; its receipt is the
  moment the mail server accepted it.
- **The corrected invoice** (credit note, RS-IV.10): a refund, whole or partial, after the invoice
  was issued produces one that refers to the invoice, for the part of the refund the invoice holds: a
  refund of lines never invoiced (left out at confirmation, RS-IV.6) corrects nothing, and the credit
  notes of one invoice never add up to more than it.
- VAT (RS-III.1): each line's VAT part of its gross price, rounded to the minor unit, at the rate of
  the order's tax point, which every line of an order carries (the quote's); a credit note's at its
  invoice's rate.
- Numbers: one series a kind, market and local year, without gaps (`INV-RS-2026-000001`,
  `CN-KZ-2027-000042`); the year is the market's calendar year of the issue (T-5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shop.domain.calendar import local_date
from shop.domain.markets import Market
from shop.domain.money import Money, vat_part


class DocumentKind(StrEnum):
    INVOICE = "invoice"  # RS-IV.8–9
    CREDIT_NOTE = "credit_note"  # RS-IV.10


NUMBER_PREFIX = {DocumentKind.INVOICE: "INV", DocumentKind.CREDIT_NOTE: "CN"}


@dataclass(frozen=True)
class DocumentLine:
    description: str
    quantity: int
    unit_price: Money
    vat: Money
    sku: str | None = None  # None: the delivery charge, a refund

    @property
    def total(self) -> Money:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Document:
    """An invoice or a credit note before it has a number: its lines, their VAT rate and totals."""

    kind: DocumentKind
    currency: str
    vat_rate: Decimal
    lines: tuple[DocumentLine, ...]

    @property
    def total(self) -> Money:
        return Money.total((line.total for line in self.lines), self.currency)

    @property
    def vat(self) -> Money:
        return Money.total((line.vat for line in self.lines), self.currency)


@dataclass(frozen=True)
class SoldLine:
    """A line of the contract as the order keeps it (RS-V.5.8: the price of the order)."""

    sku: str
    name: str
    quantity: int
    unit_price: Money


DELIVERY = "delivery"
"""The description of the delivery charge's line (each message words it in its own language)."""


def invoice(lines: Sequence[SoldLine], delivery_charge: Money, vat_rate: Decimal) -> Document:
    """RS-IV.8–9: the invoice of the lines confirmed available and the delivery charge (a line when
    there is one), each line's VAT part at the order's rate (RS-III.1)."""
    if not lines:
        raise ValueError("an invoice documents at least one line of the contract (RS-IV.6)")
    items = [DocumentLine(line.name, line.quantity, line.unit_price, vat_part(line.unit_price * line.quantity,
                                                                               vat_rate), line.sku)
             for line in lines]
    if delivery_charge.amount_minor:
        items.append(DocumentLine(DELIVERY, 1, delivery_charge, vat_part(delivery_charge, vat_rate)))
    return Document(DocumentKind.INVOICE, delivery_charge.currency, vat_rate, tuple(items))


def credit_note(*, invoiced: Money, credited: Money, refund: Money, reason: str,
                vat_rate: Decimal) -> Document | None:
    """RS-IV.10: the corrected invoice of a refund of `refund`, for the part the invoice still holds
    (`invoiced` less what earlier credit notes `credited`); None when the invoice holds none of it."""
    amount = min(refund, invoiced - credited)
    if amount.amount_minor <= 0:
        return None
    line = DocumentLine(reason, 1, amount, vat_part(amount, vat_rate))
    return Document(DocumentKind.CREDIT_NOTE, amount.currency, vat_rate, (line,))


def series_year(issued_at: datetime, market: Market | str) -> int:
    """The year of the series a document issued at `issued_at` is numbered in: the market's (T-5)."""
    return local_date(issued_at, market).year


def document_number(kind: DocumentKind, market: Market | str, year: int, sequence: int) -> str:
    """`INV-RS-2026-000001`: the kind, the market, the local year and the place in that series."""
    if sequence < 1:
        raise ValueError("a series counts from 1")
    return f"{NUMBER_PREFIX[kind]}-{Market(market).value}-{year}-{sequence:06d}"
