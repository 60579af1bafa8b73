"""Turn domain values and the rows the stores read into the JSON shapes of STOREFRONT-API.md. A row
is read by attribute (`row.state`), whether a store read it or an INSERT … RETURNING gave it back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from shop.domain.complaints import answered_late
from shop.domain.deadlines import order_deadlines
from shop.domain.checkout import Quote
from shop.domain.markets import Market
from shop.domain.perk_eligibility import PerkEligibility, eligibility
from shop.domain.perk_lifecycle import PerkState
from shop.domain.perks import perk_terms
from shop.services.ledger import OrderLedger
from shop.services.orders_common import OrderAggregate

if TYPE_CHECKING:
    from sqlalchemy.engine import Row


def instant(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, to the second (deadlines end at 23:59:59 local)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def money(amount_minor: int, currency: str) -> dict[str, Any]:
    return {"amount_minor": amount_minor, "currency": currency}


def stored_account(user: Row[Any]) -> dict[str, Any]:
    """RS-I.2: the account as stored, the guardian's consent it registered with included."""
    consent = ({"guardian_name": user.guardian_name, "given_at": user.guardian_consent_given_at.isoformat()}
               if user.guardian_name is not None and user.guardian_consent_given_at is not None else None)
    return {"id": user.id, "email": user.email, "full_name": user.full_name,
            "birth_date": user.birth_date.isoformat(), "phone": user.phone, "is_ops": user.is_ops,
            "registered_at": instant(user.created_at), "guardian_consent": consent,
            "erased_at": None if user.erased_at is None else instant(user.erased_at),
            "blocked": None if user.blocked_at is None else {"at": instant(user.blocked_at),
                                                             "reason": user.blocked_reason, "by": user.blocked_by}}


def ops_account(user: Row[Any], blocks: list[Row[Any]]) -> dict[str, Any]:
    """The account as stored and its block history (RS-XIII), for staff."""
    return {**stored_account(user), "blocks": [
        {"blocked_at": instant(block.blocked_at), "blocked_by": block.blocked_by, "reason": block.reason,
         "unblocked_at": instant(block.unblocked_at),
         "unblocked_by": block.unblocked_by} for block in blocks]}


def product(row: Row[Any]) -> dict[str, Any]:
    return {
        "sku": row.sku, "name": row.name, "model": row.model, "market": row.market,
        "category": row.category, "price": money(row.price_minor, row.currency),
        "vat_rate": row.vat_rate, "in_stock": row.available,
        "max_per_customer": row.max_per_customer, "returnable": row.returnable,
        "delivery_methods": row.delivery_methods, "delivery_areas": row.delivery_areas, "set_items": row.set_items,
    }


def stock(row: Row[Any]) -> dict[str, Any]:
    return {"sku": row.sku, "on_hand": row.on_hand, "reserved": row.reserved,
            "in_stock": row.on_hand - row.reserved}


def quote(q: Quote) -> dict[str, Any]:
    lines = []
    for line in q.lines:
        terms_version, perks = line_perks(line.product.model, q.market, q.quoted_on)
        lines.append({
            "sku": line.product.sku, "name": line.product.name, "quantity": line.quantity,
            "unit_price": line.unit_price.to_dict(), "total": line.total.to_dict(),
            "vat": line.vat.to_dict(), "available": line.available,
            "perk_terms_version": terms_version, "perks": perks})
    return {
        "market": q.market.value,
        "lines": lines,
        "items": q.items.to_dict(),
        "delivery_charge": q.delivery_charge.to_dict(),
        "vat": q.vat.to_dict(),
        "vat_rate": str(q.vat_rate),
        "total": q.total.to_dict(),
        "expected_delivery_on": q.expected_delivery_on.isoformat(),
        "expected_delivery_clause": "RS-V.5.2",
    }


def line_perks(model: str, market: Market, quoted_on: date) -> tuple[str | None, list[dict[str, Any]]]:
    """STOREFRONT-API.md: the perks that would come with a line ordered today, as GET
    /perks/eligibility judges them for the quote's local date (P-1 Decision: the purchase date is the
    local date of the order); none for a line outside the bundle (KZ-1, KZ-5.3, before the terms).
    Computed here, for the quote's answer only: placing an order does not pay for it."""
    judged = eligibility(model, market, quoted_on)
    if judged.terms is None:
        return None, []
    return judged.terms.version, [perk_eligibility(item) for item in judged.perks]


def perk_eligibility(item: PerkEligibility) -> dict[str, Any]:
    """One perk as judged for a purchase (KZ-1 … KZ-4.7, P-2): the eligibility route's and the
    quote's item (responses.PerkEligibilityOut)."""
    return {
        "code": item.perk.code, "qualifies": item.qualifies, "clause": item.clause, "reason": item.reason,
        "starts": item.perk.start.value,
        "opens_after_activation": item.opens_after.describe() if item.opens_after else None,
        "activate_by": instant(item.activate_by), "use_by": instant(item.use_by),
        "redemption": item.perk.redemption.value,
        "conditions": [condition.value for condition in item.perk.conditions],
    }


def refund(row: Row[Any], corrected_by: Row[Any] | None = None) -> dict[str, Any]:
    """A refund and the corrected invoice it produced (RS-IV.10), if it came after the invoice."""
    return {
        "id": row.id, "amount": money(row.amount_minor, row.currency), "reason": row.reason,
        "clause": row.clause, "state": row.state, "due_by": instant(row.due_by),
        "stripe_refund_id": row.stripe_refund_id, "failure": row.failure,
        "created_at": instant(row.created_at),
        "corrected_invoice": None if corrected_by is None else {"id": corrected_by.id, "number": corrected_by.number},
    }


def invoices(rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    """An order's invoice and credit notes (RS-IV.8–10): each with its lines, the invoice a credit
    note corrects, and when the shop's mail server accepted its e-mail (`email_accepted_at`, None
    until then: the first step towards the customer's receipt, RS-IV.8–9)."""
    numbers = {row.id: row.number for row in rows}
    return [{
        "id": row.id, "kind": row.kind, "number": row.number, "issued_at": instant(row.issued_at),
        "total": money(row.total_minor, row.currency), "vat": money(row.vat_minor, row.currency),
        "vat_rate": row.vat_rate,
        "lines": [{"sku": line["sku"], "description": line["description"], "quantity": line["quantity"],
                   "unit_price": money(line["unit_price_minor"], row.currency),
                   "total": money(line["total_minor"], row.currency), "vat": money(line["vat_minor"], row.currency)}
                  for line in row.lines],
        "seller": row.seller, "buyer": row.buyer,
        "corrects": numbers.get(row.corrects_id) if row.corrects_id else None,
        "refund_id": row.refund_id, "sent_to": row.sent_to, "email_accepted_at": instant(row.email_accepted_at),
    } for row in rows]


def payment_fact(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id, "kind": row.kind, "fact_key": row.fact_key, "order_id": row.order_id,
        "payment_intent_id": row.payment_intent_id,
        "amount": money(row.amount_minor, row.currency) if row.amount_minor is not None and row.currency else None,
        "flagged": row.flagged, "occurred_at": instant(row.occurred_at), "recorded_at": instant(row.recorded_at),
    }


def ledger(of: OrderLedger) -> dict[str, Any]:
    return {"paid": money(of.paid_minor, of.currency), "refunded": money(of.refunded_minor, of.currency),
            "facts": [payment_fact(row) for row in of.facts]}


def order(agg: OrderAggregate) -> dict[str, Any]:
    o = agg.order
    market = Market(o.market)
    corrected_by = {row.refund_id: row for row in agg.invoices if row.refund_id is not None}
    body: dict[str, Any] = {
        "id": o.id, "number": o.number, "market": o.market, "state": o.state,
        "payment_method": o.payment_method, "terms_version": o.terms_version,
        "lines": [
            {"id": line.id, "sku": line.sku, "name": line.name, "model": line.model,
             "quantity": line.quantity, "unit_price": money(line.unit_price_minor, o.currency),
             "vat_rate": line.vat_rate, "state": line.state, "imeis": line.imeis,
             "returnable": line.returnable, "set_items": line.set_items,
             "market_price": None if line.market_price_minor is None else money(line.market_price_minor, o.currency),
             "price_corrected": money(line.price_corrected_minor, o.currency)}
            for line in agg.lines
        ],
        "items": money(o.items_minor, o.currency),
        "delivery_charge": money(o.delivery_minor, o.currency),
        "vat": money(o.vat_minor, o.currency),
        "total": money(o.total_minor, o.currency),
        "delivery": o.delivery,
        "placed_at": instant(o.placed_at),
        "payment_due_at": instant(o.payment_due_at),
        "expected_delivery_on": o.expected_delivery_on.isoformat(),
        "delivered_at": instant(o.delivered_at),
        "carrier": o.carrier, "tracking_number": o.tracking_number,
        "deadlines": [
            {"name": d.name, "due_at": instant(d.due_at), "clause": d.clause}
            for d in order_deadlines(market=market, payment_due=o.payment_due_at,
                                     expected_delivery_on=o.expected_delivery_on, delivered_at=o.delivered_at)
        ],
        "timeline": [
            {"at": instant(e.at), "from_state": e.from_state, "to_state": e.to_state, "event": e.event,
             "actor": e.actor, "reason": e.reason, "clause": e.clause}
            for e in agg.timeline if e.subject_id is None  # the order's own: its lines' stay on record
        ],
        "refunds": [refund(r, corrected_by.get(r.id)) for r in agg.refunds],
        "withdrawals": _withdrawals(agg),
        "invoices": invoices(agg.invoices),
        "perks": [perk_bundle(bundle) for bundle in agg.perks],
        "conformity_claims": [conformity_claim(row) for row in agg.conformity_claims],
        "complaints": [complaint(row) for row in agg.complaints],
        "take_backs": [take_back(row) for row in agg.take_backs],
    }
    if o.payment_intent_id:
        body["payment"] = {"provider": "stripe", "payment_intent_id": o.payment_intent_id,
                           "client_secret": o.client_secret}
    return body


def withdrawal(w: Any, lines: Sequence[Any], receipts: dict[int, Any] | None = None,
               redeemed_perks: Sequence[tuple[Any, int]] = ()) -> dict[str, Any]:
    """A withdrawal with the lines it covers (RS-VII) and its deadlines; for a KZ order, the perks
    of the lines' devices already redeemed (perk row, line id), for the refund decision (P-3,
    RS-VII.9, RS-VII.10)."""
    return {
        "id": w.id, "state": w.state, "channel": w.channel, "sent_at": instant(w.sent_at),
        "recorded_at": instant(w.recorded_at), "refund_due_by": instant(w.refund_due_by),
        "return_due_by": instant(w.return_due_by), "label_issued_at": instant(w.label_issued_at),
        "received_at": instant(w.received_at), "deduction_minor": w.deduction_minor, "note": w.note,
        "refund_id": w.refund_id, "rejected_reason": w.rejected_reason,
        "proof_of_return_at": instant(w.proof_of_return_at),
        "lines": [{"line_id": line.id, "sku": line.sku, "name": line.name, "quantity": line.quantity,
                   "set_items": list(line.set_items),
                   "receipt": (receipts or {}).get(line.id, getattr(line, "receipt", None))} for line in lines],
        "redeemed_perks": [{"perk_id": perk.id, "code": perk.code, "line_id": line_id,
                            "redeemed_at": instant(perk.redeemed_at)} for perk, line_id in redeemed_perks],
    }


def _withdrawals(agg: OrderAggregate) -> list[dict[str, Any]]:
    lines = {line.id: line for line in agg.lines}
    redeemed: dict[int, list[tuple[Any, int]]] = {}
    for bundle in agg.perks:
        redeemed.setdefault(bundle.row.line_id, []).extend(
            (item.row, bundle.row.line_id) for item in bundle.perks if item.row.state == PerkState.REDEEMED)
    return [withdrawal(view.row, [lines[line_id] for line_id in view.line_ids], view.receipts,
                       [pair for line_id in view.line_ids for pair in redeemed.get(line_id, [])])
            for view in agg.withdrawals]


def perk_bundle(bundle: Any) -> dict[str, Any]:
    """A device's perk bundle (P-1) with each perk as of the read (shop.services.perks.BundleNow)."""
    b = bundle.row
    terms = perk_terms(b.terms_version)
    return {"id": b.id, "line_id": b.line_id, "unit": b.unit, "model": b.model, "imei": b.imei,
            "terms_version": b.terms_version, "purchased_on": b.purchased_on.isoformat(),
            "perks": [perk(item.row, item.state.value, terms.perk(item.row.code), item.cases)
                      for item in bundle.perks]}


def perk(row: Any, state: str, terms: Any, cases: Sequence[Any] = ()) -> dict[str, Any]:
    return {"id": row.id, "code": row.code, "state": state, "clause": row.clause, "reason": row.reason,
            "starts": terms.start.value, "redemption": terms.redemption.value, "how": terms.how,
            "activate_by": instant(row.activate_by), "use_by": instant(row.use_by),
            "opens_at": instant(row.opens_at), "lapses_at": instant(row.lapses_at),
            "redeemed_at": instant(row.redeemed_at), "code_hint": row.code_hint,
            "service_cases": [{"id": c.id, "kind": c.kind, "state": c.state, "opened_at": instant(c.opened_at),
                               "closed_at": instant(c.closed_at), "exclusion": c.exclusion} for c in cases]}


def conformity_claim(row: Any) -> dict[str, Any]:
    """A claim under the legal guarantee of conformity (RS-VI): its routes' body and an order's item
    (after_sale_responses.ConformityClaimOut)."""
    return {
        "id": row.id, "order_id": row.order_id, "line_ids": list(row.line_ids), "defect": row.defect,
        "remedy": row.remedy, "state": row.state, "claimed_at": instant(row.claimed_at),
        "updated_at": instant(row.updated_at), "reason": row.reason, "statement_at": instant(row.statement_at),
        "reduction": None if row.reduction_minor is None else money(row.reduction_minor, row.currency),
        "goods_back_at": instant(row.goods_back_at), "refund_id": row.refund_id,
    }


def complaint(row: Any) -> dict[str, Any]:
    """A complaint and its answer (RS-X): its routes' body and an order's item (ComplaintOut)."""
    return {
        "id": row.id, "state": row.state, "market": row.market, "channel": row.channel, "about": row.about,
        "order_id": row.order_id, "name": row.name, "answer_by": row.answer_by, "email": row.email,
        "postal_address": row.postal_address, "description": row.description, "remedy": row.remedy,
        "received_at": instant(row.received_at), "answer_due_by": instant(row.answer_due_by),
        "answered_at": instant(row.answered_at), "answered_late": answered_late(row.answered_at, row.answer_due_by),
        "answer": row.answer,
    }


def take_back(row: Any) -> dict[str, Any]:
    """The take-back of an old device (RS-V.5.4) as its customer sees it: their routes' body and an
    order's item (TakeBackOut)."""
    return {
        "id": row.id, "order_id": row.order_id, "line_id": row.line_id, "sku": row.sku,
        "description": row.description, "address": dict(row.address), "state": row.state,
        "requested_at": instant(row.requested_at), "collected_at": instant(row.collected_at),
        "reason": row.reason, "closed_at": instant(row.closed_at),
    }
