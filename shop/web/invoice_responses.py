"""What the routes answer about an order's invoices (RS-IV.8–10): the VAT invoice and each credit
note, as an order's `invoices` show them, and the credit note a refund names."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from shop.web.out import Decimal, Instant, Money, Out


class CorrectedInvoiceOut(Out):
    id: str
    number: str


class InvoiceLineOut(Out):
    sku: str | None
    description: Annotated[str, msgspec.Meta(description="the product's name; `delivery` for the delivery "
                                                         "charge; a credit note's: the refund's reason")]
    quantity: int
    unit_price: Money
    total: Money
    vat: Money


class SellerOut(Out):
    """RS-IV.8–9: who sells in the market, as its terms name it."""

    name: str
    address: str
    registration: Annotated[str, msgspec.Meta(examples=["matični broj 21777170"])]
    tax_id: Annotated[str, msgspec.Meta(examples=["PIB 112959045"])]


class BuyerOut(Out):
    name: str | None
    email: str | None
    address: Annotated[str | None, msgspec.Meta(description="a courier delivery's address; none for a store pickup")]


class InvoiceOut(Out):
    """RS-IV.8–9: the VAT invoice, issued when the seller confirms the order (of the lines confirmed);
    RS-IV.10: a credit note for each refund after it."""

    id: str
    kind: Literal["invoice", "credit_note"]
    number: Annotated[str, msgspec.Meta(examples=["INV-RS-2026-000001", "CN-RS-2026-000001"])]
    issued_at: Instant
    total: Money
    vat: Money
    vat_rate: Decimal
    lines: list[InvoiceLineOut]
    seller: SellerOut
    buyer: BuyerOut
    corrects: Annotated[str | None, msgspec.Meta(description="a credit note's: the invoice number it corrects")]
    refund_id: Annotated[str | None, msgspec.Meta(description="a credit note's: the refund it documents")]
    sent_to: str | None
    email_accepted_at: Annotated[Instant | None, msgspec.Meta(description=(
        "when the shop's mail server accepted its e-mail: the first step towards the customer's mail server, "
        "whose receipt is the moment RS-IV.8–9 names; null until then"))]
