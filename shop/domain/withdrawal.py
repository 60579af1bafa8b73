"""The right of withdrawal (RS-VII): the `WITHDRAWAL` lifecycle and its rules as plain functions.

A withdrawal is the customer's statement that they withdraw from the contract for some or all of a
delivered order's lines, with no reason needed (RS-VII.1). It is `requested` when the statement is
received (on the web, or recorded by staff with the moment it was sent: T-6), `awaiting_return`
once the shop issued the return label it pays for (RS-VII.7, RS-VII.12), `received` when the goods
are back (RS-VII.8, RS-VII.9), `refunded` once the refund is recorded (RS-VII.10; its own machine,
shop.domain.refunds, follows the money to the customer), or `rejected` for a recorded reason. The
refund is withheld until the goods or proof of their return arrive, whichever first (RS-VII.11): on
proof it is released at once (`refund_on_proof`) and the goods, when they come, are received without
a second refund (`receive_after_refund`).

The period is judged before the withdrawal exists (`check_statement`): creating it has no guards,
as placing an order has none; the rules below raise a `DomainError` with their clause.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from shop.domain.calendar import as_utc, in_time
from shop.domain.deadlines import withdrawal_deadline
from shop.domain.delivery import DeliveryMethod, delivery_charge
from shop.domain.errors import Conflict, InvalidInput
from shop.domain.machine import Lifecycle, Step
from shop.domain.markets import Market

RETURN_DAYS = 14  # RS-VII.7: calendar days, not rolled


class WithdrawalState(StrEnum):
    REQUESTED = "requested"
    AWAITING_RETURN = "awaiting_return"
    RECEIVED = "received"
    REFUNDED = "refunded"
    REJECTED = "rejected"


class Channel(StrEnum):
    """RS-VII.3: how the statement came; recorded with it."""

    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    ORDER_CENTRE = "order_centre"
    WEB = "web"  # the customer's own statement on the web shop, sent when it arrives


W = WithdrawalState


def refunded_on_proof(*, proof_of_return_at: datetime | None, received_at: datetime | None, **_: Any) -> bool:
    """RS-VII.11: only goods refunded on proof of their return, and not yet received, arrive after
    their refund."""
    if proof_of_return_at is None or received_at is not None:
        raise Conflict("receive_not_allowed", "these goods were already received and refunded", clause="RS-VII.8")
    return True


WITHDRAWAL_STEPS: tuple[Step[WithdrawalState], ...] = (
    Step("request", (), W.REQUESTED, "RS-VII.1",
         "the customer's statement of withdrawal, sent within 14 days of taking possession (RS-VII.2, T-6)"),
    Step("issue_label", (W.REQUESTED,), W.AWAITING_RETURN, "RS-VII.7",
         "the shop issues the return label and pays the shipping (RS-VII.12); the goods are due back "
         "within 14 calendar days"),
    Step("receive", (W.AWAITING_RETURN,), W.RECEIVED, "RS-VII.8",
         "the goods are back with the label and proof of purchase, with all that came with them (RS-VII.9)"),
    Step("refund", (W.RECEIVED,), W.REFUNDED, "RS-VII.10",
         "everything paid for the withdrawn lines is refunded, less a recorded diminished value"),
    Step("reject", (W.REQUESTED, W.AWAITING_RETURN), W.REJECTED, "RS-VII.14",
         "staff refuse the withdrawal for a recorded reason"),
    Step("refund_on_proof", (W.REQUESTED, W.AWAITING_RETURN), W.REFUNDED, "RS-VII.11",
         "proof the goods were sent back came before them: the refund is released now, with no deduction"),
    Step("receive_after_refund", (W.REFUNDED,), W.REFUNDED, "RS-VII.11",
         "the goods refunded on proof of their return arrive: their condition recorded, resaleable units "
         "restocked, no second refund", (refunded_on_proof,)),
)

WITHDRAWAL: Lifecycle[WithdrawalState] = Lifecycle(
    "withdrawal", WithdrawalState, WITHDRAWAL_STEPS, initial=(W.REQUESTED,), final=(W.REFUNDED, W.REJECTED),
)


class Line(Protocol):
    """What the rules read of an order line (a row of `order_lines`)."""

    id: int
    quantity: int
    unit_price_minor: int
    price_corrected_minor: int  # RS-III.2: refunded of the line's price for a price error
    returnable: bool
    set_items: list[str]
    state: str


# --- the statement: RS-VII.1, RS-VII.2, T-1, T-6 -----------------------------------------------------

def check_statement(*, sent_at: datetime, delivered_at: datetime, market: Market, now: datetime) -> datetime:
    """RS-VII.1, RS-VII.2, T-6: a statement counts when it was *sent* within the period (14 days
    from possession, T-1 on the market's calendar), whenever it is recorded; it cannot have been
    sent in the future or before the goods were delivered. Returns the period's end."""
    if as_utc(sent_at) > as_utc(now):
        raise InvalidInput("sent_at_in_future", "sent_at lies in the future", clause="T-6", field="sent_at")
    if as_utc(sent_at) < as_utc(delivered_at):
        raise InvalidInput("sent_before_delivery", "sent_at is earlier than the delivery",
                           clause="RS-VII.1", field="sent_at")
    deadline = withdrawal_deadline(delivered_at, market)
    if not in_time(sent_at, deadline):
        raise Conflict("withdrawal_period_expired",
                       f"the withdrawal period ended at {deadline.isoformat()}", clause="RS-VII.1")
    return deadline


# --- the lines: RS-VII.13, RS-VII.14 -----------------------------------------------------------------

def covered_lines(lines: Sequence[Line], named: Collection[int] | None, withdrawn: Collection[int], *,
                  delivered: Collection[str] = ("confirmed", "withdrawn")) -> list[Line]:
    """The lines a statement covers. None named: every delivered line that can still be withdrawn
    (returnable, not yet withdrawn); named: exactly those, each of which must be delivered,
    returnable (RS-VII.14) and not already withdrawn. `delivered`: the states of a line that
    was delivered (confirmed, and withdrawn since). A line sold as a set is withdrawn whole, every
    item of the set with it (RS-VII.13): a line is never split."""
    delivered_lines = [line for line in lines if line.state in delivered]
    if named is None:
        open_lines = [line for line in delivered_lines if line.id not in withdrawn]
        chosen = [line for line in open_lines if line.returnable]
        if not chosen:
            if open_lines:
                raise Conflict("not_returnable", "no line left in this order can be withdrawn",
                               clause="RS-VII.14", field="line_ids")
            raise Conflict("line_already_withdrawn", "every line of this order is already withdrawn",
                           field="line_ids")
        return chosen
    if not named:
        raise InvalidInput("no_line_named", "name at least one line, or none for all", field="line_ids")
    by_id = {line.id: line for line in delivered_lines}
    unknown = sorted(set(named) - set(by_id))
    if unknown:
        raise InvalidInput("unknown_line", f"no delivered line {unknown} in this order", field="line_ids")
    chosen = [by_id[line_id] for line_id in sorted(set(named))]
    refused = [line.id for line in chosen if not line.returnable]
    if refused:
        raise Conflict("not_returnable", f"line(s) {refused} cannot be returned", clause="RS-VII.14",
                       field="line_ids")
    twice = [line.id for line in chosen if line.id in withdrawn]
    if twice:
        raise Conflict("line_already_withdrawn", f"line(s) {twice} are already withdrawn", field="line_ids")
    return chosen


# --- the goods back: RS-VII.9, RS-VII.13 ------------------------------------------------------------

CAME_WITH = "accessories, gifts and promotional items that came with it"  # RS-VII.9


class Condition(StrEnum):
    AS_NEW = "as_new"
    USED = "used"
    DAMAGED = "damaged"


@dataclass(frozen=True)
class ItemReceipt:
    """What staff found when a line came back."""

    line_id: int
    condition: Condition = Condition.AS_NEW
    resaleable: bool = True
    missing: tuple[str, ...] = ()


def checklist(line: Line) -> list[str]:
    """What had to come back with the line: every item of its set (RS-VII.13) and all that came
    with it (RS-VII.9)."""
    return [*line.set_items, CAME_WITH]


def receipts(lines: Sequence[Line], given: Sequence[ItemReceipt] | None, *, resaleable: bool = True
             ) -> dict[int, dict[str, Any]]:
    """Each covered line's receipt, by line id: its condition, whether it goes back to stock, and
    its checklist with what was missing (RS-VII.9, RS-VII.13). None given: every line as new, as
    `resaleable` says; given: exactly the covered lines, each once."""
    if given is None:
        given = [ItemReceipt(line.id, resaleable=resaleable) for line in lines]
    by_id = {line.id: line for line in lines}
    named = [item.line_id for item in given]
    if len(set(named)) != len(named) or set(named) != set(by_id):
        raise InvalidInput("items_do_not_match_lines",
                           f"name each line the withdrawal covers once: {sorted(by_id)}", field="items")
    found = {}
    for item in given:
        expected = checklist(by_id[item.line_id])
        missing = list(dict.fromkeys(item.missing))
        found[item.line_id] = {
            "condition": Condition(item.condition).value, "resaleable": item.resaleable,
            "checklist": [{"item": name, "returned": name not in missing} for name in expected]
                         + [{"item": name, "returned": False} for name in missing if name not in expected],
            "missing": missing}
    return found


# --- the return: RS-VII.7 ----------------------------------------------------------------------------

def return_due_by(label_received_at: datetime) -> datetime:
    """RS-VII.7: the goods go back within 14 calendar days of the customer receiving the label; on
    the clock, not rolled to a working day (the customer's act, counted as written)."""
    return as_utc(label_received_at) + timedelta(days=RETURN_DAYS)


# --- the refund: RS-VII.10, RS-VII.11 ----------------------------------------------------------------

@dataclass(frozen=True)
class RefundOwed:
    lines_minor: int
    delivery_minor: int
    deduction_minor: int

    @property
    def amount_minor(self) -> int:
        return self.lines_minor + self.delivery_minor - self.deduction_minor


def lines_price(lines: Sequence[Line]) -> int:
    """What the customer paid for the lines: their price, less what was refunded of it for a price
    charged above the correct one (RS-III.2)."""
    return sum(line.unit_price_minor * line.quantity - line.price_corrected_minor for line in lines)


def refundable_delivery(order: Any) -> int:
    """RS-VII.10: the initial delivery charge, except the extra over the cheapest standard delivery
    offered: the courier's tariff for the order's goods (shop.domain.delivery; store pickup is no
    delivery and charges nothing)."""
    cheapest = delivery_charge(Market(order.market), DeliveryMethod.COURIER, order.items_minor)
    return max(0, min(order.delivery_minor, cheapest))


def refund_owed(order: Any, lines: Sequence[Line], *, whole_order: bool, deduction_minor: int) -> RefundOwed:
    """RS-VII.10: the withdrawn lines' price, plus the initial delivery charge when the whole order
    is withdrawn (with this withdrawal the last of its delivered lines), less the diminished value
    staff record (RS-VII.11), which is never negative and never more than the lines' price."""
    price = lines_price(lines)
    if deduction_minor < 0 or deduction_minor > price:
        raise InvalidInput("deduction_out_of_bounds",
                           f"deduction_minor must be between 0 and the lines' price {price}",
                           clause="RS-VII.10", field="deduction_minor")
    return RefundOwed(price, refundable_delivery(order) if whole_order else 0, deduction_minor)
