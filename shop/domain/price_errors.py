"""Price errors (RS-III.2): an order accepted at a price the website showed by mistake.

Seed 004, III: the seller may withdraw and end the contract where there is an indication that the
customer was aware of the error, in particular where the website price is materially lower than the
product's market price and the lower price is not the result of a consciously organised promotion or
sale; where the website price was materially and obviously higher than the prevailing retail price,
the seller lets the customer cancel and/or refunds the difference between that price and the
correct one.

The seller's side (`check_price_error`): staff cancel the order before delivery has started (the
ORDER machine's `price_error`, RS-III.2) naming each mispriced line and the market price they found;
everything paid is refunded (the cancellation path every seller's cancellation takes).

"Materially lower" is not defined by the contract. Decided: the unit price charged for the line is at
least 20 % below the market price staff state (`MATERIAL_SHORTFALL_PERCENT`), i.e. charged × 100 ≤
market × 80 in integer minor units; exactly 20 % below is material, a minor unit less of a gap is
not. Below that, a low price is a good price the seller must honour. A promotion is never an error:
an order placed with a campaign's coupon (`coupon_code`) is refused whatever its prices.

The customer's side (`check_corrections`): the right to cancel needs nothing new here. Before
delivery has started it is the customer's cancel (RS-IV.5, `POST /orders/{id}/cancel`, everything
refunded); after delivery, the withdrawal (RS-VII.1) and, for goods that lack conformity, the claim
(RS-VI). What is new is the refund of the difference: staff state the correct unit price of a line
of a paid order the customer keeps, and `(unit price charged − correct unit price) × quantity` goes
back. The seller acknowledging its own error needs no threshold: any correct price below the price
charged is refunded. What was refunded so far is kept on the line (`price_corrected_minor`), so a
later correction to a lower price refunds only the rest of the difference, one to the same or a
higher price nothing (refused), and in all never more than the line's price. A line withdrawn later
is refunded what the customer paid for it: its price less what was corrected
(`shop.domain.withdrawal.lines_price`, `shop.domain.conformity.lines_price`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shop.domain.errors import Conflict, InvalidInput
from shop.domain.lifecycle import OrderState
from shop.domain.order_lines import LineState

CLAUSE = "RS-III.2"
MATERIAL_SHORTFALL_PERCENT = 20  # RS-III.2: "materially lower", decided (module docstring, README)
PAID_STATES = (OrderState.PAID, OrderState.CONFIRMED, OrderState.SHIPPED, OrderState.DELIVERED)
"""RS-III.2: the orders whose price was paid and stands: a correction refunds part of it."""


@dataclass(frozen=True)
class MarketPrice:
    """Staff's evidence of a price error: a line of the order and the product's market unit price."""

    line_id: int
    market_price_minor: int


@dataclass(frozen=True)
class CorrectPrice:
    """A line of the order and the unit price it should have been charged."""

    line_id: int
    correct_unit_price_minor: int


@dataclass(frozen=True)
class Correction:
    """What a correction of one line refunds now, and the line's corrected amount after it."""

    line: Any
    correct_unit_price_minor: int
    refund_minor: int
    corrected_minor: int


def materially_lower(charged_minor: int, market_minor: int) -> bool:
    """RS-III.2: the unit price charged is at least 20 % below the market price."""
    return charged_minor * 100 <= market_minor * (100 - MATERIAL_SHORTFALL_PERCENT)


def highest_material_price(market_minor: int) -> int:
    """The highest unit price still materially lower than `market_minor` (RS-III.2)."""
    return market_minor * (100 - MATERIAL_SHORTFALL_PERCENT) // 100


def check_reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidInput("reason_missing", "say why: the price error and how it was found", clause=CLAUSE,
                           field="reason")
    return reason.strip()


def _named(lines: Sequence[Any], line_ids: Sequence[int]) -> list[Any]:
    """The lines named, in the order named: each of this order, each once."""
    if not line_ids:
        raise InvalidInput("no_lines", "name the mispriced lines", clause=CLAUSE, field="lines")
    by_id = {line.id: line for line in lines}
    seen: set[int] = set()
    for index, line_id in enumerate(line_ids):
        if line_id not in by_id:
            raise InvalidInput("unknown_line", f"no line {line_id} in this order", clause=CLAUSE,
                               field=f"lines[{index}].line_id")
        if line_id in seen:
            raise InvalidInput("line_named_twice", f"line {line_id} is named twice", clause=CLAUSE,
                               field=f"lines[{index}].line_id")
        seen.add(line_id)
    return [by_id[line_id] for line_id in line_ids]


def check_price_error(*, coupon_code: str | None, lines: Sequence[Any], evidence: Sequence[MarketPrice]
                      ) -> list[tuple[Any, int]]:
    """RS-III.2: the seller may cancel for an obvious price error, not for a promotion's price: every
    line named is of the order and part of it (not left out at confirmation), and its unit price is
    materially lower than the market price stated. The lines with their market prices."""
    named = _named(lines, [item.line_id for item in evidence])
    if coupon_code:
        raise Conflict("promotion_price", f"the order was placed with coupon {coupon_code}: a campaign's price "
                       "is meant, not an error", clause=CLAUSE, field="coupon_code")
    for index, (line, item) in enumerate(zip(named, evidence, strict=True)):
        if line.state == LineState.CANCELLED:
            raise Conflict("line_not_in_contract", f"line {line.id} was left out of the order", clause=CLAUSE,
                           field=f"lines[{index}].line_id")
        field = f"lines[{index}].market_price_minor"
        if item.market_price_minor < 1:
            raise InvalidInput("invalid_market_price", "a market price is at least 1 minor unit", clause=CLAUSE,
                               field=field)
        if not materially_lower(line.unit_price_minor, item.market_price_minor):
            raise InvalidInput(
                "price_not_materially_lower",
                f"line {line.id} was charged {line.unit_price_minor} a unit: not at least "
                f"{MATERIAL_SHORTFALL_PERCENT} % below the market price {item.market_price_minor} (at most "
                f"{highest_material_price(item.market_price_minor)}); the seller honours it",
                clause=CLAUSE, field=field)
    return [(line, item.market_price_minor) for line, item in zip(named, evidence, strict=True)]


def evidence_note(reason: str, priced: Sequence[tuple[Any, int]], currency: str) -> str:
    """The timeline's reason: staff's, then each line's price charged and the market price stated."""
    found = "; ".join(f"line {line.id} ({line.sku}) charged {line.unit_price_minor}, market {market} {currency}"
                      for line, market in priced)
    return f"{reason} [{found}]"


def check_corrections(*, order_state: str, lines: Sequence[Any], corrections: Sequence[CorrectPrice]
                      ) -> list[Correction]:
    """RS-III.2: the difference refunded for lines charged above their correct price, of an order
    paid and standing (`PAID_STATES`), each line one the customer keeps (not left out, not withdrawn).
    The correct price is below the price charged; what a line was corrected by before counts, and
    no line is ever refunded more than its price in all."""
    if order_state not in PAID_STATES:
        raise Conflict("order_not_paid", f"an order that is {order_state} has no price paid to correct",
                       clause=CLAUSE)
    named = _named(lines, [item.line_id for item in corrections])
    made = []
    for index, (line, item) in enumerate(zip(named, corrections, strict=True)):
        if line.state in (LineState.CANCELLED, LineState.WITHDRAWN):
            raise Conflict("line_not_kept", f"line {line.id} is {line.state}: its price was refunded",
                           clause=CLAUSE, field=f"lines[{index}].line_id")
        field = f"lines[{index}].correct_unit_price_minor"
        correct, charged = item.correct_unit_price_minor, line.unit_price_minor
        if correct >= charged:
            raise InvalidInput("correct_price_not_lower",
                               f"line {line.id} was charged {charged} a unit: a correct price of {correct} "
                               "owes no refund", clause=CLAUSE, field=field)
        price, corrected = charged * line.quantity, (charged - correct) * line.quantity
        if corrected > price:
            raise InvalidInput("correction_exceeds_line_price",
                               f"line {line.id} costs {price} in all: never refunded more", clause=CLAUSE,
                               field=field)
        if corrected <= line.price_corrected_minor:
            raise Conflict("price_already_corrected",
                           f"line {line.id} was refunded {line.price_corrected_minor} for its price already: "
                           f"a correct price of {correct} owes nothing more", clause=CLAUSE, field=field)
        made.append(Correction(line, correct, corrected - line.price_corrected_minor, corrected))
    return made
