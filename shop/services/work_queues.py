"""Staff's work queues of withdrawals (RS-VII) and service cases (KZ-4.5 … KZ-4.7), beside the
orders' (shop.services.order_views.orders_in_state): what waits in one state for staff, a page at a
time, in the order staff should take it; each page continues after the previous page's last item,
wherever staff have moved that item since (422 `unknown_cursor` naming `after` when there is none).

Decided here:
- a withdrawal waits for staff while `requested` (the return label to issue, RS-VII.7) and while
  `awaiting_return` (the goods to receive, RS-VII.8). The first is read by `refund_due_by`: the
  refund is owed 14 days from the statement (RS-VII.10) whatever staff do, so the label of the
  statement whose refund falls due first goes out first. The second by `return_due_by`: the goods
  due back first (RS-VII.7). Earliest due first, then id. `received` is no queue: the refund is
  recorded in the same transaction as the receipt (shop.services.withdrawal_refunds), so no
  withdrawal rests there; `refunded` and `rejected` are final (open one from its order).
- a service case waits while it is not closed (OPEN_STATES: the machine's states not final):
  `opened` for staff (refuse for an exclusion, refer, estimate, or repair: KZ-4.5, KZ-4.6, KZ-4.7),
  `estimated` for the customer's answer to the estimate, which staff record and chase (KZ-4.7: the
  device stays with the service centre meanwhile, as an order awaiting payment waits for the
  customer and is still staff's queue), `accepted` for staff (the repair, labour free, KZ-4.7).
  The oldest opened first, then id. `repaired`, `refused`, `referred`, `declined` are final.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.errors import InvalidInput
from shop.domain.markets import Market
from shop.domain.service_cases import OPEN_STATES, ServiceCaseState
from shop.domain.withdrawal import WithdrawalState
from shop.services.context import ShopContext
from shop.services.pages import PAGE, cut, unknown_cursor
from shop.services.perks import redeemed_on_lines
from shop.services.service_cases import CaseView, views
from shop.services.withdrawals import WithdrawalAggregate

WITHDRAWAL_QUEUES = {
    WithdrawalState.REQUESTED: "refund_due_by",  # RS-VII.10: owed 14 days from the statement
    WithdrawalState.AWAITING_RETURN: "return_due_by",  # RS-VII.7: back 14 days from the label
}
"""The states a withdrawal waits for staff in, each with the deadline its queue is read by."""
SERVICE_CASE_QUEUES = OPEN_STATES
"""The states a service case waits in (opened, estimated, accepted): every one not final."""


def _not_a_queue(kind: str, queues: Sequence[str], state: str) -> InvalidInput:
    return InvalidInput("not_a_work_queue", f"{kind} are listed by a state still waiting for someone "
                        f"({', '.join(queues)}), not by {state}: open one by its id", field="state")


async def withdrawals_waiting(ctx: ShopContext, state: WithdrawalState, *, market: Market | None = None,
                              limit: int = PAGE, after: str | None = None
                              ) -> tuple[list[WithdrawalAggregate], bool]:
    """A page of the withdrawals in `state` (of orders of `market`), the earliest due first, each as
    its own routes answer it, with its order's number and market: at most `limit`, those after the
    withdrawal `after`; and whether more follow. A state that is no queue: 422 naming `state`."""
    by = WITHDRAWAL_QUEUES.get(state)
    if by is None:
        raise _not_a_queue("withdrawals", list(WITHDRAWAL_QUEUES), state)

    def page(uow: UnitOfWork) -> tuple[list[WithdrawalAggregate], bool]:
        if after is not None and not uow.withdrawals.has_deadline(after, by):
            raise InvalidInput("unknown_cursor", f"no withdrawal {after} in the {state} queue's order to "
                               "continue from", field="after")
        rows = uow.withdrawals.in_state(state.value, by=by, market=market.value if market else None,
                                        limit=limit + 1, after=after)
        found, more = cut(rows, limit)
        return _withdrawals(uow, found), more
    return await ctx.db.read(page)


def _withdrawals(uow: UnitOfWork, rows: Sequence[Any]) -> list[WithdrawalAggregate]:
    """The withdrawals with their lines and, of KZ orders, the perks of the lines' devices already
    redeemed (P-3, as `shop.services.withdrawals.aggregate` gives one): two statements at most."""
    lines = uow.withdrawals.lines_of([row.id for row in rows])
    kz_lines = [line.id for row in rows if row.market == Market.KZ for line in lines.get(row.id, [])]
    redeemed: dict[int, list[Any]] = {}
    for perk in redeemed_on_lines(uow, kz_lines):
        redeemed.setdefault(perk.line_id, []).append(perk)
    return [WithdrawalAggregate(row, lines.get(row.id, []), redeemed_perks=[
        perk for line in lines.get(row.id, []) for perk in redeemed.get(line.id, [])]) for row in rows]


async def service_cases_waiting(ctx: ShopContext, state: ServiceCaseState, *, limit: int = PAGE,
                                after: str | None = None) -> tuple[list[CaseView], bool]:
    """A page of the service cases in `state`, the oldest opened first, each as `GET
    /ops/service-cases/{id}` answers it: at most `limit`, those after the case `after`; and whether
    more follow. A final state: 422 naming `state`."""
    if state not in SERVICE_CASE_QUEUES:
        raise _not_a_queue("service cases", SERVICE_CASE_QUEUES, state)

    def page(uow: UnitOfWork) -> tuple[list[CaseView], bool]:
        if after is not None and not uow.service_cases.known(after):
            raise unknown_cursor("service case", after)
        cases = uow.service_cases.in_state(state.value, limit=limit + 1, after=after)
        found, more = cut(cases, limit)
        return views(uow, found, uow.now()), more
    return await ctx.db.read(page)
