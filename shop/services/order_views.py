"""What the customer and staff read of orders: each order with its lines, timeline, refunds, invoices
and what followed its sale (conformity claims, complaints, take-backs), a page of them in nine
statements however many orders it holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.errors import InvalidInput, NotFound
from shop.domain.lifecycle import OrderState
from shop.domain.markets import Market
from shop.services.context import ShopContext
from shop.services.orders_common import OrderAggregate
from shop.services.pages import PAGE, cut, unknown_cursor
from shop.services.perks import as_of


async def order_view(ctx: ShopContext, order_id: str, *, customer_id: int | None = None) -> OrderAggregate:
    """The order as a whole; 404 when there is none or, for a customer, it is not theirs."""
    return await ctx.db.read(
        lambda uow: aggregates(uow, [uow.orders.get(order_id, customer_id=customer_id)])[0])


async def orders_of_customer(ctx: ShopContext, customer_id: int, *, limit: int = PAGE,
                             before: str | None = None) -> tuple[list[OrderAggregate], bool]:
    """A page of the customer's orders, newest first, each as a whole: at most `limit`, those placed
    after the order `before` (the previous page's last, which must be the customer's: 422 naming
    `before` otherwise); and whether more follow."""
    def page(uow: UnitOfWork) -> tuple[list[OrderAggregate], bool]:
        if before is not None:
            try:
                uow.orders.get(before, customer_id=customer_id)
            except NotFound:
                raise unknown_cursor("order", before, field="before", of_yours=True) from None
        orders = uow.orders.of_customer(customer_id, limit=limit + 1, before=before)
        found, more = cut(orders, limit)
        return aggregates(uow, found), more
    return await ctx.db.read(page)


QUEUES = (OrderState.AWAITING_PAYMENT, OrderState.AWAITING_INSTALLMENT_APPROVAL, OrderState.PAID,
          OrderState.CONFIRMED, OrderState.SHIPPED)
"""The states staff list orders by: each an order waiting for someone (the customer's payment, the
instalment lender, staff's confirmation, the shipment, the delivery), so each list is as long as the
work in hand. A final state (delivered, cancelled, withdrawn) only grows: its orders are opened by id."""


async def orders_in_state(ctx: ShopContext, state: OrderState, *, market: Market | None = None,
                          limit: int = PAGE, after: str | None = None) -> tuple[list[OrderAggregate], bool]:
    """Staff's work queue: a page of the orders in `state` (of `market`), the longest placed first,
    each as a whole: at most `limit`, those placed after the order `after` (the previous page's last,
    wherever it is now: staff move orders on while they page; 422 naming `after` if there is no such
    order); and whether more follow. A final state: 422 naming `state`."""
    if state not in QUEUES:
        raise InvalidInput("not_a_work_queue", f"orders are listed by a state still waiting for someone "
                           f"({', '.join(QUEUES)}), not by {state}: open a {state} order by its id", field="state")

    def page(uow: UnitOfWork) -> tuple[list[OrderAggregate], bool]:
        if after is not None and not uow.orders.known([after]):
            raise unknown_cursor("order", after)
        orders = uow.orders.in_state(state.value, market=market.value if market else None, limit=limit + 1, after=after)
        found, more = cut(orders, limit)
        return aggregates(uow, found), more
    return await ctx.db.read(page)


def aggregates(uow: UnitOfWork, orders: Sequence[Any]) -> list[OrderAggregate]:
    """These orders with their lines, timelines, refunds, withdrawals, invoices, conformity claims
    (RS-VI), the complaints that name them (RS-X), take-backs (RS-V.5.4) and (KZ) perk bundles: nine
    statements for all of them with the orders' own, twelve when one is a KZ order with perk bundles."""
    ids = [order.id for order in orders]
    lines, timeline, refunds = uow.orders.pieces(ids)
    withdrawals = uow.withdrawals.of_orders(ids)
    invoices = uow.invoices.of_orders(ids)
    claims = uow.conformity_claims.of_orders(ids)
    complaints = uow.complaints.of_orders(ids)
    take_backs = uow.take_backs.of_orders(ids)
    bundles = uow.perks.of_orders(ids) if any(order.market == Market.KZ for order in orders) else {}
    now = uow.now() if bundles else None
    cases = uow.service_cases.of_orders(list(bundles)) if bundles else {}
    return [OrderAggregate(order, lines.get(order.id, []), timeline.get(order.id, []), refunds.get(order.id, []),
                           withdrawals.get(order.id, []), as_of(bundles.get(order.id, []), now, cases) if now else [],
                           invoices.get(order.id, []), conformity_claims=claims.get(order.id, ()),
                           complaints=complaints.get(order.id, ()), take_backs=take_backs.get(order.id, ()))
            for order in orders]
