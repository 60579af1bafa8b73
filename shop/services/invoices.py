"""The invoice of a sale, issued on the seller's confirmation (RS-IV.8–9), and the corrected invoice of
each refund after it (RS-IV.10): numbered in their series, written once and e-mailed to the customer
in the transaction of the step that issues them (the rules: shop.domain.invoices)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain import notices
from shop.domain.invoices import (
    Document, DocumentKind, SoldLine, credit_note, document_number, invoice, series_year,
)
from shop.domain.delivery import DeliveryMethod
from shop.domain.markets import Market, market_info
from shop.domain.money import Money
from shop.services.mail import queue_notice


def issue_invoice(uow: UnitOfWork, order: Any, confirmed: Sequence[Any], now: datetime) -> Any:
    """RS-IV.8–9: the invoice of the lines confirmed available (RS-IV.6) and the delivery charge, at
    the rate every line of the order carries (its tax point's), e-mailed to the customer."""
    currency = order.currency
    document = invoice([SoldLine(line.sku, line.name, line.quantity, Money(line.unit_price_minor, currency))
                        for line in confirmed],
                       Money(order.delivery_minor, currency), Decimal(confirmed[0].vat_rate))
    return _issue(uow, order, document, now)


def correct_invoice(uow: UnitOfWork, order: Any, refund: Any, now: datetime) -> Any | None:
    """RS-IV.10: the credit note of a refund after the order's invoice, for the part of the refund
    the invoice still holds; None when the order has no invoice or it holds none of the refund."""
    issued = uow.invoices.invoice_of(order.id)
    if issued is None:
        return None
    currency = issued.currency
    document = credit_note(invoiced=Money(issued.total_minor, currency),
                           credited=Money(uow.invoices.credited_minor(issued.id), currency),
                           refund=Money(refund.amount_minor, refund.currency), reason=refund.reason,
                           vat_rate=Decimal(issued.vat_rate))
    if document is None:
        return None
    return _issue(uow, order, document, now, corrects=issued, refund=refund)


def _parties(uow: UnitOfWork, order: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """The seller (the market's, as its terms name it) and the buyer: the account holder, with the
    address a courier delivered to (a store pickup has none of the buyer's)."""
    seller = market_info(order.market).seller
    account = uow.accounts.get(order.customer_id)
    delivery = order.delivery or {}
    address = delivery.get("address") if delivery.get("method") == DeliveryMethod.COURIER.value else None
    buyer = {"name": account.full_name if account else delivery.get("recipient"),
             "email": account.email if account else None,
             "address": None if not address else ", ".join(
                 str(address[key]) for key in ("street", "postal_code", "city", "country") if address.get(key))}
    return ({"name": seller.name, "address": seller.address, "registration": seller.registration,
             "tax_id": seller.tax_id}, buyer)


def _issue(uow: UnitOfWork, order: Any, document: Document, now: datetime, *, corrects: Any | None = None,
           refund: Any | None = None) -> Any:
    """The document numbered in its series, its e-mail queued, the two written together. A credit
    note names the parties its invoice named."""
    market = Market(order.market)
    year = series_year(now, market)
    number = document_number(document.kind, market, year, uow.invoices.next_number(document.kind, market, year))
    seller, buyer = (corrects.seller, corrects.buyer) if corrects is not None else _parties(uow, order)
    email = queue_notice(uow, order, _notice(order, document, number, now, corrects, refund, seller, buyer), now)
    return uow.invoices.add({
        "id": str(uuid.uuid4()), "order_id": order.id, "kind": document.kind.value, "number": number,
        "seller": seller, "buyer": buyer,
        "issued_at": now, "currency": document.currency, "vat_rate": str(document.vat_rate),
        "total_minor": document.total.amount_minor, "vat_minor": document.vat.amount_minor,
        "lines": [{"sku": line.sku, "description": line.description, "quantity": line.quantity,
                   "unit_price_minor": line.unit_price.amount_minor, "total_minor": line.total.amount_minor,
                   "vat_minor": line.vat.amount_minor} for line in document.lines],
        "corrects_id": corrects.id if corrects is not None else None,
        "refund_id": refund.id if refund is not None else None,
        "email_id": email.id})


def _notice(order: Any, document: Document, number: str, now: datetime, corrects: Any | None,
            refund: Any | None, seller: dict[str, str], buyer: dict[str, Any]) -> notices.Notice:
    market = Market(order.market)
    if document.kind == DocumentKind.CREDIT_NOTE:
        assert corrects is not None and refund is not None
        return notices.credit_note_issued(market, order.number, number, corrects.number, now, refund.reason,
                                          refund.clause, document.vat, document.total, seller, buyer)
    lines = [{"description": None if line.sku is None else line.description, "quantity": line.quantity,
              "unit_price": line.unit_price, "total": line.total} for line in document.lines]
    percent = f"{(document.vat_rate * 100).normalize():f}"  # 0.20 → 20
    return notices.invoice_issued(market, order.number, number, now, lines, percent, document.vat, document.total,
                                  seller, buyer)
