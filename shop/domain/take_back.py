"""The free take-back of an old device (RS-V.5.4): the `TAKE_BACK` lifecycle and its rules as plain
functions.

The terms (seed 004, V.4): Xiaomi organises the free take-back of household equipment at the place
the new equipment is delivered to, provided the old equipment is of the same type and performs the
same functions as the Product delivered under the purchase contract; the take-back of the waste
electronic equipment and the delivery may be on different dates; the service exists only for
addresses in Serbia (equipment elsewhere is the customer's to send to an address there).

So the customer asks for it for one line of their own paid order, says what the old device is and
declares it of the same type and function; staff collect it at the order's delivery address (a
store pickup's is the store's, RS-V.5.3), on any date (before or after the delivery), or refuse it
when it turns out not to be of the same type or function; the customer may cancel it before it is
collected.

Decisions (the terms are silent):
- Only the RS market: the KZ terms have no take-back, and RS-V.5.4 is for addresses in Serbia.
- A paid order that is not cancelled or withdrawn (paid, confirmed, shipped, delivered): the
  take-back goes with a Product delivered under a purchase contract, so not before payment; a
  delivered order stays eligible (the dates may differ), with no deadline of its own.
- Devices are the catalogue's categories `phone` and `tv` (`DEVICE_CATEGORIES`): electronic
  equipment with a function of its own that an old one of the same type replaces. Accessories
  (chargers, earbuds) and sets are not taken back.
- A take-back not yet collected lapses when its line is cancelled (the order cancelled by either
  side, a failed delivery): the Product it goes with is not delivered. A line withdrawn after
  delivery (RS-VII) leaves it to staff: the old device may be on its way already.
- One old device per unit of the line (a line of 2 phones: two take-backs); requested and collected
  take-backs count, refused and cancelled ones do not. The line must still be contracted (ordered
  or confirmed, not cancelled or withdrawn).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from shop.domain.calendar import as_utc
from shop.domain.errors import Conflict, InvalidInput
from shop.domain.lifecycle import OrderState
from shop.domain.machine import Lifecycle, Step
from shop.domain.markets import Market, market_info
from shop.domain.order_lines import LineState

CLAUSE = "RS-V.5.4"
DEVICE_CATEGORIES = frozenset({"phone", "tv"})  # RS-V.5.4 (Decision: household electronic equipment)
ELIGIBLE_ORDER_STATES = (OrderState.PAID, OrderState.CONFIRMED, OrderState.SHIPPED, OrderState.DELIVERED)
CONTRACTED_LINE_STATES = (LineState.ORDERED, LineState.CONFIRMED)
MAX_DESCRIPTION = 500


class TakeBackState(StrEnum):
    REQUESTED = "requested"
    COLLECTED = "collected"
    REFUSED = "refused"
    CANCELLED = "cancelled"


T = TakeBackState
COUNTED = (T.REQUESTED, T.COLLECTED)
"""The take-backs that use up a unit of their line (RS-V.5.4: one old device per new one)."""

TAKE_BACK_STEPS: tuple[Step[TakeBackState], ...] = (
    Step("request", (), T.REQUESTED, CLAUSE,
         "the customer asks for the free take-back of one old device of the same type and function as a "
         "device of their paid order, at its delivery address in Serbia"),
    Step("collect", (T.REQUESTED,), T.COLLECTED, CLAUSE,
         "staff collect the old device at the delivery address, on the day of delivery or another"),
    Step("refuse", (T.REQUESTED,), T.REFUSED, CLAUSE,
         "the old device is not of the same type or function as the one delivered: not taken back, for a "
         "recorded reason"),
    Step("cancel", (T.REQUESTED,), T.CANCELLED, CLAUSE,
         "the customer calls the take-back off before it is collected"),
    Step("lapse", (T.REQUESTED,), T.CANCELLED, CLAUSE,
         "the order or the line it came with is cancelled before it was collected: no Product is delivered "
         "under the contract, so there is nothing to take back"),
)

TAKE_BACK: Lifecycle[TakeBackState] = Lifecycle(
    "take-back", TakeBackState, TAKE_BACK_STEPS, initial=(T.REQUESTED,),
    final=(T.COLLECTED, T.REFUSED, T.CANCELLED),
)


def check_place(market: Market | str, address: Mapping[str, Any] | None) -> None:
    """RS-V.5.4: the free take-back is only for addresses in Serbia (the RS market's orders; a
    KZ order has none)."""
    serbia = market_info(Market.RS).country
    if Market(market) is not Market.RS or address is None or str(address.get("country", "")).upper() != serbia:
        raise InvalidInput("take_back_outside_serbia",
                           "the free take-back of old devices is only for delivery addresses in Serbia",
                           clause=CLAUSE, field="order_id")


def check_order(state: str) -> None:
    """RS-V.5.4: the take-back goes with a Product delivered under a purchase contract: the order is
    paid and neither cancelled nor withdrawn (delivered or not: the dates may differ)."""
    if state not in ELIGIBLE_ORDER_STATES:
        raise Conflict("order_not_eligible_for_take_back",
                       f"an order that is {state} has no take-back: the order must be paid and not cancelled "
                       "or withdrawn", clause=CLAUSE, field="order_id")


def check_line(line: Any | None, line_id: int, *, taken: int) -> None:
    """RS-V.5.4: `line` (None: not in this order) is a device, still contracted, with a unit left
    that no requested or collected take-back (`taken`) uses."""
    if line is None:
        raise InvalidInput("unknown_line", f"no line {line_id} in this order", field="line_id")
    if line.category not in DEVICE_CATEGORIES:
        raise InvalidInput("line_not_a_device",
                           f"only devices ({', '.join(sorted(DEVICE_CATEGORIES))}) are taken back, "
                           f"not a {line.category}", clause=CLAUSE, field="line_id")
    if line.state not in CONTRACTED_LINE_STATES:
        raise Conflict("line_not_contracted", f"line {line_id} is {line.state}: nothing is delivered for it",
                       clause=CLAUSE, field="line_id")
    if taken >= line.quantity:
        raise Conflict("take_back_limit_reached",
                       f"one old device per unit: line {line_id} has {line.quantity} and as many take-backs",
                       clause=CLAUSE, field="line_id")


def check_statement(description: str, same_type_and_function: bool) -> str:
    """RS-V.5.4: what the old device is, declared of the same type and function as the one
    delivered. The description, stripped."""
    if not same_type_and_function:
        raise InvalidInput("not_same_type_and_function",
                           "only an old device of the same type and function as the one delivered is taken back",
                           clause=CLAUSE, field="same_type_and_function")
    text = description.strip()
    if not 1 <= len(text) <= MAX_DESCRIPTION:
        raise InvalidInput("description_missing", f"say what the old device is (1 to {MAX_DESCRIPTION} characters)",
                           clause=CLAUSE, field="description")
    return text


def check_collected_at(collected_at: datetime, *, requested_at: datetime, now: datetime) -> None:
    """The old device was collected at a moment that has come, not before it was asked for (it may
    be another day than the delivery's, RS-V.5.4). To the second, as instants are shown: the
    request's own second, as the API shows it, is not before it."""
    if as_utc(collected_at) > as_utc(now):
        raise InvalidInput("collected_at_in_future", "collected_at may not lie in the future",
                           clause=CLAUSE, field="collected_at")
    if as_utc(collected_at) < as_utc(requested_at).replace(microsecond=0):
        raise InvalidInput("collected_before_request", "collected_at lies before the take-back was requested",
                           clause=CLAUSE, field="collected_at")


def check_reason(reason: str) -> str:
    """A refusal says why the old device is not of the same type or function."""
    text = reason.strip()
    if not text:
        raise InvalidInput("reason_missing", "give the reason", clause=CLAUSE, field="reason")
    return text
