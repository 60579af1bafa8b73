"""What the shop tells the customer, and when (RS-III.2, RS-IV.5, RS-IV.6, RS-IV.8–9, RS-IV.10, RS-V.1, RS-V.3,
RS-V.5.4, RS-V.5.6, RS-VI, RS-VII.1, RS-VII.6, RS-VII.7, RS-VII.10, RS-X.3, RS-XIII): which message, to a customer
of which market, with which facts. The wording, in the market's language with English after it and
instants in its local time (T-5), is shop.messages'."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shop.domain.markets import Market
from shop.domain.money import Money


@dataclass(frozen=True)
class Notice:
    kind: str
    market: Market
    facts: Mapping[str, object]


class Cause(StrEnum):
    """Why an order was cancelled, as the customer is told (each has its wording in every language)."""

    BY_CUSTOMER = "by_customer"  # RS-IV.5
    NOT_PAID_IN_TIME = "not_paid_in_time"  # RS-V.1
    PAID_TOO_LATE = "paid_too_late"  # RS-V.1
    INSTALMENTS_DECLINED = "instalments_declined"  # RS-V.1
    OUT_OF_STOCK = "out_of_stock"  # RS-V.5.6
    NONE_AVAILABLE = "none_available"  # RS-IV.6
    DELIVERY_FAILED = "delivery_failed"  # RS-V.3
    PRICE_ERROR = "price_error"  # RS-III.2


def order_received(market: Market, number: str, total: Money, due: datetime | None) -> Notice:
    """RS-IV.5: after the order, the customer gets an order-information message."""
    return Notice("order_received", market, {"number": number, "total": total, "due": due})


def delivery_started(market: Market, number: str, carrier: str, tracking: str) -> Notice:
    """RS-IV.5: the message that delivery has started ends the right to cancel the order."""
    return Notice("delivery_started", market, {"number": number, "carrier": carrier, "tracking": tracking})


def order_cancelled(market: Market, number: str, cause: Cause, clause: str, refund: Money | None) -> Notice:
    """Every cancellation tells the customer why, with the clause, and what comes back."""
    return Notice("order_cancelled", market, {"number": number, "cause": cause, "clause": clause, "refund": refund})



def order_confirmed(market: Market, number: str, total: Money, vat: Money,
                    unavailable: Sequence[str] = (), refund: Money | None = None) -> Notice:
    """RS-IV.6: the seller's confirmation of acceptance and availability forms the contract. A partial
    confirmation names the lines left out (`unavailable`), the recalculated `total` and `vat` of
    what stays, and the `refund` of what was paid for the rest."""
    return Notice("order_confirmed", market, {"number": number, "total": total, "vat": vat,
                                              "unavailable": tuple(unavailable), "refund": refund})


def delivered(market: Market, number: str, delivered_at: datetime, withdrawal_by: datetime) -> Notice:
    """RS-VII.1: possession starts the 14-day withdrawal period; the customer is told when it ends."""
    return Notice("delivered", market, {"number": number, "delivered_at": delivered_at,
                                        "withdrawal_by": withdrawal_by})


def withdrawal_received(market: Market, number: str, received_at: datetime, refund_due: datetime) -> Notice:
    """RS-VII.6: the customer gets a confirmation that the statement was received; RS-VII.10: the
    refund is due within 14 days of it."""
    return Notice("withdrawal_received", market, {"number": number, "received_at": received_at,
                                                  "refund_due": refund_due})


def return_label(market: Market, number: str, return_due: datetime, label: str | None = None) -> Notice:
    """RS-VII.7: the goods go back within 14 days of receiving the label, with it and the proof of
    purchase (RS-VII.8); the shop pays the return shipping (RS-VII.12)."""
    return Notice("return_label", market, {"number": number, "return_due": return_due, "label": label})


def price_corrected(market: Market, number: str, lines: Sequence[Mapping[str, object]], refund: Money, *,
                    can_cancel: bool) -> Notice:
    """RS-III.2: lines were charged above their correct price; the difference comes back, and the
    customer is reminded of the right to cancel or withdraw. `lines`: each corrected line's
    `quantity`, `name`, the unit price `charged` and the `correct` one; `can_cancel` before delivery
    has started (RS-IV.5), the withdrawal after (RS-VII.1)."""
    return Notice("price_corrected", market, {"number": number, "lines": tuple(lines), "refund": refund,
                                              "can_cancel": can_cancel})


def refund_sent(market: Market, number: str, amount: Money) -> Notice:
    """RS-VII.10: everything paid comes back, through the original payment method (RS-III.4)."""
    return Notice("refund_sent", market, {"number": number, "amount": amount})


def invoice_issued(market: Market, number: str, invoice_number: str, issued_at: datetime,
                   lines: Sequence[Mapping[str, object]], vat_percent: str, vat: Money, total: Money,
                   seller: Mapping[str, str], buyer: Mapping[str, object]) -> Notice:
    """RS-IV.8–9: each sale is documented by a VAT invoice sent to the customer's e-mail; its receipt
    is the e-mail's arrival at the customer's mail server. `lines`: each line's `description`
    (None: the delivery charge), `quantity`, `unit_price` and `total`; `seller` and `buyer` as the
    invoice names them."""
    return Notice("invoice_issued", market, {"number": number, "invoice_number": invoice_number,
                                             "issued_at": issued_at, "lines": tuple(lines), "vat_percent": vat_percent,
                                             "vat": vat, "total": total, "seller": seller, "buyer": buyer})


def credit_note_issued(market: Market, number: str, note_number: str, invoice_number: str, issued_at: datetime,
                       reason: str, clause: str, vat: Money, total: Money, seller: Mapping[str, str],
                       buyer: Mapping[str, object]) -> Notice:
    """RS-IV.10: a refund after the invoice produces a corrected invoice that refers to it, with the
    refund's reason and clause, between the invoice's parties."""
    return Notice("credit_note_issued", market, {"number": number, "note_number": note_number,
                                                 "invoice_number": invoice_number, "issued_at": issued_at,
                                                 "reason": reason, "clause": clause, "vat": vat,
                                                 "total": total, "seller": seller, "buyer": buyer})


def complaint_received(market: Market, reference: str, received_at: datetime, answer_due: datetime,
                       order_number: str | None) -> Notice:
    """RS-X.3: the complaint is answered within 8 days of its receipt; the complainant is told when
    it was received and by when the answer comes."""
    return Notice("complaint_received", market, {"reference": reference, "received_at": received_at,
                                                 "answer_due": answer_due, "number": order_number})


def complaint_answered(market: Market, reference: str, received_at: datetime, answer: str) -> Notice:
    """RS-X.2, RS-X.3: the answer to a complaint, electronically to the address it gave."""
    return Notice("complaint_answered", market, {"reference": reference, "received_at": received_at,
                                                 "answer": answer})


def conformity_claim(market: Market, number: str, claim: str, event: str, remedy: str, reason: str | None = None,
                     amount: Money | None = None) -> Notice:
    """RS-VI.1 … RS-VI.10: each step of a conformity claim, told to the customer: the claim received,
    staff's decision with its reason, the customer's own statement received, the money refunded."""
    return Notice("conformity_claim", market, {"number": number, "claim": claim, "event": event, "remedy": remedy,
                                               "reason": reason, "amount": amount})


def perk_code(market: Market, number: str, perk: str, clause: str, link: str, hint: str,
              use_by: datetime | None) -> Notice:
    """KZ-4.1 iii, KZ-4.2: the seller e-mails a LINK to the one-time service code, never the code (the
    outbox keeps no code); its last characters (`hint`) let the customer tell it apart."""
    return Notice("perk_code", market, {"number": number, "perk": perk, "clause": clause, "link": link,
                                        "hint": hint, "use_by": use_by})


# --- the free take-back of an old device (RS-V.5.4): the RS market's alone ---------------------------
# Each names the order (`number`), the take-back (`reference`), the old device as the customer
# described it (`device`) and the product of the line it goes with (`product`).

def take_back_requested(market: Market, number: str, reference: str, device: str, product: str,
                        address: Mapping[str, str]) -> Notice:
    """RS-V.5.4: the free take-back is asked for, at the place of delivery (`address`: street, city,
    postal_code, country, as copied onto the take-back); its date may differ from the delivery's.
    The customer may call it off until it is collected."""
    return Notice("take_back_requested", market, {"number": number, "reference": reference, "device": device,
                                                  "product": product, "address": dict(address)})


def take_back_collected(market: Market, number: str, reference: str, device: str, product: str,
                        collected_at: datetime) -> Notice:
    """RS-V.5.4: the old device was taken back, free of charge, at `collected_at`."""
    return Notice("take_back_collected", market, {"number": number, "reference": reference, "device": device,
                                                  "product": product, "collected_at": collected_at})


def take_back_refused(market: Market, number: str, reference: str, device: str, product: str,
                      reason: str) -> Notice:
    """RS-V.5.4: the old device is not of the same type or function as the product: not taken back,
    for staff's `reason`."""
    return Notice("take_back_refused", market, {"number": number, "reference": reference, "device": device,
                                                "product": product, "reason": reason})


def take_back_lapsed(market: Market, number: str, reference: str, device: str, product: str) -> Notice:
    """RS-V.5.4: the take-back goes with a product delivered; the order or the line was cancelled
    before the old device was collected, so it is off."""
    return Notice("take_back_lapsed", market, {"number": number, "reference": reference, "device": device,
                                               "product": product})


def take_back_cancelled(market: Market, number: str, reference: str, device: str, product: str) -> Notice:
    """RS-V.5.4: the customer called the take-back off before it was collected."""
    return Notice("take_back_cancelled", market, {"number": number, "reference": reference, "device": device,
                                                  "product": product})


# --- reviews, notices of illegal content, blocked accounts (RS-XIII): the RS market's alone ----------

def content_notice_received(market: Market, reference: str, review: str, received_at: datetime) -> Notice:
    """RS-XIII 12.5: the confirmation of receipt of a notice of illegal content about `review`."""
    return Notice("content_notice_received", market, {"reference": reference, "review": review,
                                                      "received_at": received_at})


def content_notice_decided(market: Market, reference: str, review: str, removed: bool, reasons: str) -> Notice:
    """RS-XIII 12.5: the notifier is told staff's decision on their notice, its reasons and the means
    of redress."""
    return Notice("content_notice_decided", market, {"reference": reference, "review": review,
                                                     "removed": removed, "reasons": reasons})


def review_removed(market: Market, review: str, product: str, notice: str, reasons: str,
                   removed_at: datetime) -> Notice:
    """RS-XIII 12.4: the author of a removed review is told, at the latest when it is removed, with a
    clear and specific statement of reasons: the measure and its scope, that it followed a notice,
    that a person decided it (no automated means) and the means of redress."""
    return Notice("review_removed", market, {"review": review, "product": product, "notice": notice,
                                             "reasons": reasons, "removed_at": removed_at})


def account_blocked(market: Market, reason: str, blocked_at: datetime) -> Notice:
    """RS-XIII: the user is told by e-mail that access to reviews and notices is blocked, and why,
    until the problem is solved (ordering is not blocked)."""
    return Notice("account_blocked", market, {"reason": reason, "blocked_at": blocked_at})


def account_unblocked(market: Market, unblocked_at: datetime) -> Notice:
    """RS-XIII: the problem is solved: access to reviews and notices is restored."""
    return Notice("account_unblocked", market, {"unblocked_at": unblocked_at})
