"""The legal guarantee of conformity (RS-VI): the `CONFORMITY_CLAIM` lifecycle and its rules as plain
functions.

A claim is the customer's report that delivered lines lack conformity, made within 2 years of
delivery (RS-VI.1, T-2), with the remedy the customer chooses: repair or replacement (RS-VI.4). Staff
then
- accept it: the repair or replacement is made in reasonable time at the seller's cost, collection
  included (RS-VI.6: `remedying`, then `remedied`);
- reject it for a recorded reason: a deviation the customer was told of and expressly accepted
  (RS-VI.3), or no lack of conformity the seller answers for;
- or refuse the remedy, both being impossible or excessively costly (RS-VI.5: `remedy_refused`).
After a refused remedy, or while one is under way and fails (not in reasonable time, the defect
persists, RS-VI.7), the customer may ask for a price reduction (`reduction_requested`; staff grant
a proportional amount, refunded within 14 days of the customer's statement, RS-VI.8: `reduced`) or
withdraw from the claimed lines (`withdrawal_requested`). Staff may refuse a withdrawal for a minor
lack of conformity (RS-VI.9: back to `remedy_refused`, a reduction still open to the customer);
otherwise the goods come back at the seller's cost and their price is refunded within 14 days of
receiving them or proof of their return (RS-VI.10: `withdrawn`).

Decisions: a claim covers lines of one delivered order, each in one open claim at most; a line
withdrawn under RS-VI.7 is `withdrawn` as a line (shop.domain.order_lines), so it is never withdrawn
or refunded twice (RS-VII); the refund of a withdrawal is the lines' price (the delivery charge is
not part of it: the lines were delivered as contracted); a reduction is at least one minor unit and
at most the lines' price.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from shop.domain.calendar import in_time
from shop.domain.deadlines import legal_guarantee_ends
from shop.domain.errors import Conflict, InvalidInput
from shop.domain.machine import Lifecycle, Step
from shop.domain.markets import Market
from shop.domain.order_lines import LineState


class ClaimState(StrEnum):
    CLAIMED = "claimed"
    REMEDYING = "remedying"
    REMEDIED = "remedied"
    REJECTED = "rejected"
    REMEDY_REFUSED = "remedy_refused"
    REDUCTION_REQUESTED = "reduction_requested"
    REDUCED = "reduced"
    WITHDRAWAL_REQUESTED = "withdrawal_requested"
    WITHDRAWN = "withdrawn"


class Remedy(StrEnum):
    """RS-VI.4: the customer chooses."""

    REPAIR = "repair"
    REPLACEMENT = "replacement"


S = ClaimState
OPEN = (S.CLAIMED, S.REMEDYING, S.REMEDY_REFUSED, S.REDUCTION_REQUESTED, S.WITHDRAWAL_REQUESTED)
"""A line in a claim in one of these is held by it."""
REMEDY_FAILED_OR_REFUSED = (S.REMEDYING, S.REMEDY_REFUSED)
"""RS-VI.5, RS-VI.7: where the customer may turn to a price reduction or withdrawal."""

CLAIM_STEPS: tuple[Step[ClaimState], ...] = (
    Step("claim", (), S.CLAIMED, "RS-VI.1",
         "the customer reports a lack of conformity of delivered lines within 2 years of delivery and chooses "
         "repair or replacement (RS-VI.4)"),
    Step("accept", (S.CLAIMED,), S.REMEDYING, "RS-VI.6",
         "staff accept: the repair or replacement is made in reasonable time at the seller's cost, "
         "collection included"),
    Step("complete", (S.REMEDYING,), S.REMEDIED, "RS-VI.6", "the repair or replacement is done"),
    Step("reject", (S.CLAIMED,), S.REJECTED, "RS-VI.3",
         "no lack of conformity the seller answers for (a deviation told and expressly accepted): "
         "refused for a recorded reason"),
    Step("refuse_remedy", (S.CLAIMED,), S.REMEDY_REFUSED, "RS-VI.5",
         "repair and replacement both impossible or excessively costly: the customer may ask for a price "
         "reduction or withdraw"),
    Step("ask_reduction", REMEDY_FAILED_OR_REFUSED, S.REDUCTION_REQUESTED, "RS-VI.7",
         "the customer asks for a price reduction: the remedy was refused, or is not made in reasonable time, "
         "or the defect persists"),
    Step("grant_reduction", (S.REDUCTION_REQUESTED,), S.REDUCED, "RS-VI.8",
         "a proportional reduction, refunded within 14 days of the customer's statement"),
    Step("withdraw", REMEDY_FAILED_OR_REFUSED, S.WITHDRAWAL_REQUESTED, "RS-VI.7",
         "the customer withdraws from the claimed lines for the lack of conformity"),
    Step("refuse_withdrawal", (S.WITHDRAWAL_REQUESTED,), S.REMEDY_REFUSED, "RS-VI.9",
         "the lack of conformity is minor: staff refuse the withdrawal; a price reduction stays open"),
    Step("receive_return", (S.WITHDRAWAL_REQUESTED,), S.WITHDRAWN, "RS-VI.10",
         "the goods, or proof of their return, are back at the seller's cost: their price is refunded "
         "within 14 days"),
)

CONFORMITY_CLAIM: Lifecycle[ClaimState] = Lifecycle(
    "conformity claim", ClaimState, CLAIM_STEPS, initial=(S.CLAIMED,),
    final=(S.REMEDIED, S.REJECTED, S.REDUCED, S.WITHDRAWN),
)


def check_claim(*, delivered_at: datetime | None, market: Market, claimed_at: datetime, line_ids: Collection[int],
                lines: Sequence[Any], held: Collection[int]) -> list[Any]:
    """RS-VI.1: the lines claimed, of a delivered order, within 2 years of its delivery (T-2), each
    delivered and kept (`confirmed`: not withdrawn) and in no other open claim (`held`). The lines.
    A commercial warranty of the device (a KZ perk's repairs) is not asked about: it adds to the
    legal guarantee, never replaces it (RS-IX)."""
    if delivered_at is None:
        raise Conflict("order_not_delivered", "a lack of conformity is claimed for delivered goods", clause="RS-VI.1")
    if not in_time(claimed_at, legal_guarantee_ends(delivered_at, market)):
        raise Conflict("guarantee_expired", "the legal guarantee covers 2 years from delivery", clause="RS-VI.1")
    if not line_ids:
        raise InvalidInput("no_lines", "name the lines that lack conformity", field="line_ids")
    by_id = {line.id: line for line in lines}
    unknown = sorted(set(line_ids) - set(by_id))
    if unknown:
        raise InvalidInput("unknown_line", f"no line {unknown} in this order", field="line_ids")
    claimed = [by_id[line_id] for line_id in sorted(set(line_ids))]
    not_kept = [line.id for line in claimed if line.state != LineState.CONFIRMED]
    if not_kept:
        raise Conflict("line_not_claimable", f"lines {not_kept} were not delivered or were withdrawn",
                       clause="RS-VI.1")
    taken = sorted(set(line_ids) & set(held))
    if taken:
        raise Conflict("line_already_claimed", f"lines {taken} are in an open claim already", clause="RS-VI.1")
    return claimed


def lines_price(lines: Sequence[Any]) -> int:
    """What the claimed lines cost, in minor units (the price of the order, RS-V.5.8), less what was
    refunded of it for a price charged above the correct one (RS-III.2)."""
    return sum(line.unit_price_minor * line.quantity - line.price_corrected_minor for line in lines)


def check_reduction(amount_minor: int, lines: Sequence[Any]) -> None:
    """RS-VI.8: a proportional reduction, more than nothing and never more than the lines' price."""
    price = lines_price(lines)
    if not 0 < amount_minor <= price:
        raise InvalidInput("invalid_reduction", f"a reduction is from 1 to {price} minor units (the lines' price)",
                           clause="RS-VI.8", field="amount_minor")
