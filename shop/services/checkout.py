"""Quote and place an order (RS-III.3, RS-IV.1–IV.2, RS-V.1, RS-V.5.5, RS-V.5.8, RS-XV)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cache, partial
from typing import Any

from sqlalchemy import Integer, Select, String, bindparam, case, func, union_all
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from shop.adapters.prepared import (
    NewRows, Prepared, Row, Statements, driver_reads, driver_transaction, warm_insert_rows,
)
from shop.adapters.stripe_gateway import CreatedIntent, PaymentProviderError
from shop.adapters.tables import (
    Order, OrderLine, OutboxEmail, PaymentEvent, Product, TimelineEntry, User, table_of,
)
from shop.domain.checkout import (
    OrderRequest, ProductFacts, Quote, check_orderable, check_terms, quote,
)
from shop.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, Unauthorized
from shop.domain.lifecycle import OrderState
from shop.services import stock
from shop.services.context import ShopContext
from shop.services.mail import QueuedEmail, notice_row, send_after_answer
from shop.services.orders_common import OrderAggregate
from shop.services.idempotency import (
    IdempotencyClaim, answer_row, earlier_answer, remember_answers, remember_refusal,
)
from shop.services.order_rows import (
    Offer, Present, intent_created, line_row, order_received, order_row, placed_entry,
)

log = logging.getLogger(__name__)

CARD = "card"
INSTALLMENTS = "installments"


class ProviderUnavailable(DomainError):
    status = 503
    title = "Payment provider unavailable"


@dataclass(frozen=True)
class Placed:
    order_id: str | None
    created: OrderAggregate | None = None
    """The order as just written (no need to read it back for the answer)."""
    body: dict[str, Any] | None = None
    """A keyed order's answer as kept for its key (built once, in the transaction that wrote it)."""
    answer: Row | None = None
    """The Idempotency-Key's kept answer (`status_code`, `body`, `resource_id`) when no order was
    created now: an earlier request's, or this request's refusal."""


Refusal = Callable[[DomainError], dict[str, Any]]
"""The answer's body for a refusal (the web layer's problem details)."""


# The order path's statements, prepared once on the Core tables and run on the driver
# (shop/adapters/prepared.py): building a SQLAlchemy expression costs more (about 150 µs) than SQLite
# takes to run it, and SQLAlchemy's execution steps about 55 µs a statement, so the hot path only
# binds values. One statement per SKU, not `IN (…)`: an expanding parameter is compiled again on
# every call, and an order has one or a few SKUs.
_products, _orders, _lines, _users = table_of(Product), table_of(Order), table_of(OrderLine), table_of(User)
_timeline, _outbox, _facts = table_of(TimelineEntry), table_of(OutboxEmail), table_of(PaymentEvent)
_free_units = _products.c.on_hand - _products.c.reserved
# The customer's orders first, then each one's lines of the SKU through the lines' covering index:
# a correlated subquery, so that PostgreSQL cannot turn it into a hash join. As a join it did, and
# read every line of every customer (measured, PostgreSQL, 128 customers: 0.56 ms a count at 3,200
# orders, 14.5 ms at 100,000; this form 0.22 and 2.7 ms, growing with the customer's orders only).
def _units_ordered_of(customer_id: Any, sku: Any) -> Select[Any]:
    """RS-V.5.5: the customer's units of the SKU in orders and lines that are not cancelled."""
    in_order = (select(func.sum(_lines.c.quantity))
                .where(_lines.c.order_id == _orders.c.id, _lines.c.sku == sku, _lines.c.state != "cancelled")
                .correlate_except(_lines).scalar_subquery())
    return (select(func.coalesce(func.sum(in_order), 0).label("units"))
            .where(_orders.c.customer_id == customer_id, _orders.c.state != OrderState.CANCELLED.value)
            .correlate_except(_orders))


_PRODUCT = (*_products.c, case((_free_units > 0, _free_units), else_=0).label("available"))
_PRODUCTS = Prepared(select(*_PRODUCT).where(_products.c.sku == bindparam("sku")))
_ACCOUNT_IS_OPS = select(_users.c.is_ops).where(_users.c.id == bindparam("account_id"))
_ACCOUNT = Prepared(_ACCOUNT_IS_OPS)
_PRODUCTS_AND_UNITS_ORDERED = Prepared(  # one round trip for the three (PostgreSQL)
    select(*_PRODUCT, _units_ordered_of(bindparam("customer_id"), _products.c.sku).scalar_subquery()
           .label("ordered"), _ACCOUNT_IS_OPS.scalar_subquery().label("account_is_ops"))
    .where(_products.c.sku == bindparam("sku")))


async def products_for(db: Statements, skus: Iterable[str], *,
                       customer_id: int | None = None) -> dict[str, ProductFacts]:
    """The catalogue rows of these SKUs, each with its free units as `available`; for a customer,
    with the units of it in their orders that are not cancelled as `ordered` (RS-V.5.5)."""
    found: dict[str, ProductFacts] = {}
    for sku in dict.fromkeys(skus):
        product = await (db.first(_PRODUCTS, sku=sku) if customer_id is None else
                         db.first(_PRODUCTS_AND_UNITS_ORDERED, sku=sku, customer_id=customer_id,
                                  account_id=customer_id))
        if product is not None:
            found[sku] = product  # type: ignore[assignment]
    return found


async def price(ctx: ShopContext, request: OrderRequest) -> Quote:
    """RS-III.3: every charge before the order; nothing is reserved or stored."""
    async with driver_reads(ctx.engine) as db:
        now = await ctx.now(db)
        products = await products_for(db, (line.sku for line in request.lines))
    return quote(request, products, now=now)


async def place_order(
    ctx: ShopContext, request: OrderRequest, *, customer_id: int, claim: IdempotencyClaim | None = None,
    present: Present | None = None, refusal: Refusal | None = None,
) -> Placed:
    """The customer's offer (RS-IV.1): checked, priced, its stock reserved and its prices kept
    (RS-V.5.8); a card order gets a Stripe PaymentIntent and 2 hours to pay (RS-V.1). With a
    `claim` (Idempotency-Key), `present` and `refusal` give the answer the key keeps: the order's,
    or a business refusal's once the request has started (see shop.services.idempotency)."""
    if request.payment_method not in (CARD, INSTALLMENTS):
        raise InvalidInput("invalid_payment_method", "payment_method must be card or installments",
                           clause="RS-III.4", field="payment_method")
    refused: DomainError | None = None
    async with driver_reads(ctx.engine) as db:  # re-checked in the transaction that writes
        now = await ctx.now(db)
        products = await products_for(db, (line.sku for line in request.lines), customer_id=customer_id)
        await _check_customer_account(db, products, customer_id)
        if claim is not None and (record := await earlier_answer(db, claim)) is not None:
            return Placed(record.resource_id, answer=record)
        try:
            check_terms(request.market, request.terms_version)
            priced = quote(request, products, now=now)
            check_orderable(priced, {sku: int(product.ordered) for sku, product in products.items()})  # type: ignore[attr-defined]
        except DomainError as error:
            if claim is None:
                raise
            refused = error
    if refused is None:
        try:
            return await _place(ctx, Offer(str(uuid.uuid4()), request, priced, customer_id, None, now, claim,
                                            present))
        except DomainError as error:
            # 503: nothing ordered, the key stays free to retry; 401: the account went away meanwhile,
            # no answer of the customer's request to keep
            if claim is None or error.status >= 500 or isinstance(error, Unauthorized):
                raise
            refused = error
    assert claim is not None and refusal is not None
    record = await remember_refusal(ctx.engine, claim, refused.status, refusal(refused), now)
    return Placed(record.resource_id, answer=record)


async def _check_customer_account(db: Statements, products: dict[str, ProductFacts], customer_id: int) -> None:
    """RS-I.1: a customer orders from an account of their own. The route reads no account before
    (shop.web.auth.ACCOUNT_READ_BY_USE_CASE): the products' statement brought it along. An account
    that is gone is a 401 (its token outlived it); a staff account may not order (403, decided:
    staff order with a customer account of their own)."""
    if products:
        is_ops = next(iter(products.values())).account_is_ops  # type: ignore[attr-defined]
    else:  # no product of the order exists: the account alone
        account = await db.first(_ACCOUNT, account_id=customer_id)
        is_ops = None if account is None else account.is_ops
    if is_ops is None:
        raise _account_gone()
    if is_ops:
        raise Forbidden("ops_cannot_order", "an operations account cannot place customer orders; "
                        "use a customer account", field="Authorization")


def _account_gone() -> Unauthorized:
    return Unauthorized("account_not_found", "the account behind this token no longer exists",
                        field="Authorization")


async def _place(ctx: ShopContext, offer: Offer) -> Placed:
    if offer.request.payment_method == CARD:
        offer = replace(offer, intent=await _create_intent(ctx, offer.order_id, offer.priced))
    try:
        created, email, answer = await ctx.group_commit.submit("orders", partial(_write_orders, ctx), offer)
    except IntegrityError:
        await _abandon_intent(ctx, offer.intent)
        if offer.claim is None:
            raise
        async with driver_reads(ctx.engine) as db:  # a concurrent twin with the same key won
            record = await earlier_answer(db, offer.claim)
        if record is None:
            raise
        return Placed(record.resource_id, answer=record)
    except BaseException:
        await _abandon_intent(ctx, offer.intent)
        raise
    send_after_answer(ctx, [email])
    return Placed(offer.order_id, created=created, body=None if answer is None else answer["body"])


async def _create_intent(ctx: ShopContext, order_id: str, priced: Quote) -> CreatedIntent:
    try:
        return await ctx.stripe.create_payment_intent(
            order_id=order_id,
            amount_minor=priced.total.amount_minor,
            currency=priced.total.currency,
            idempotency_key=f"order:{order_id}:intent",
        )
    except PaymentProviderError as error:
        raise ProviderUnavailable(
            "payment_provider_unavailable",
            f"the card payment could not be set up, nothing was ordered: {error}",
        ) from error


async def _abandon_intent(ctx: ShopContext, intent: CreatedIntent | None) -> None:
    if intent is None:
        return
    try:
        await ctx.stripe.cancel_payment_intent(intent.id)
    except PaymentProviderError as error:  # never confirmable: its client secret was never shown
        log.warning("could not cancel abandoned PaymentIntent %s: %s", intent.id, error)


async def _write_orders(ctx: ShopContext, offers: list[Offer]
                        ) -> list[tuple[OrderAggregate, QueuedEmail, dict[str, Any] | None]]:
    """Orders that arrive together written in one transaction (group commit, see
    shop.adapters.group_commit), each as if alone and in the order they came: their customers locked
    and their earlier units counted again, the batch's own earlier orders with them (RS-V.5.5); then
    the orders, their lines, first timeline entries, ledger facts and e-mails, one statement a table
    for all (on PostgreSQL one for all tables: `Statements.insert_together`); the units held last
    (RS-V.5.6), one statement a product. An order that does not fit (a
    limit, the stock) fails the batch, whose orders are then written one at a time: its error is its
    own. A keyed order's answer is kept in the same transaction, built from the rows as written.
    Returns each order's rows as written (for the answer), its queued e-mail and its kept answer."""
    async with driver_transaction(ctx.engine) as db:
        addresses = await _lock_customers(db, sorted({offer.customer_id for offer in offers}))
        ordered = await _units_ordered(db, [(offer.customer_id, line.product.sku)
                                            for offer in offers for line in offer.priced.lines])
        for offer in offers:
            if offer.customer_id not in addresses:  # deleted since the offer was read
                raise _account_gone()
            check_orderable(offer.priced, {sku: units for (customer_id, sku), units in ordered.items()
                                           if customer_id == offer.customer_id})
            for line in offer.priced.lines:
                ordered[offer.customer_id, line.product.sku] += line.quantity
        order_rows = [order_row(offer) for offer in offers]
        written_orders, lines, written_entries, _, written_emails = await db.insert_together(
            NewRows(_orders, order_rows),
            NewRows(_lines, [line_row(offer, line) for offer in offers for line in offer.priced.lines]),
            NewRows(_timeline, [placed_entry(offer) for offer in offers]),
            NewRows(_facts, [intent_created(offer) for offer in offers if offer.intent]),
            NewRows(_outbox, [notice_row(row["id"], order_received(row), row["placed_at"],
                                         address=addresses[row["customer_id"]]) for row in order_rows]))
        orders = {row.id: row for row in written_orders}
        entries = {row.order_id: row for row in written_entries}
        emails = {row.order_id: row for row in written_emails}
        lines_of: dict[str, list[Row]] = {}
        for line in sorted(lines, key=lambda row: row.id):  # ids in the order the lines were written
            lines_of.setdefault(line.order_id, []).append(line)
        created = {offer.order_id: OrderAggregate(orders[offer.order_id], lines_of[offer.order_id],
                                                  [entries[offer.order_id]], []) for offer in offers}
        answers = {offer.order_id: answer_row(offer.claim, resource_id=offer.order_id, status=201,
                                              body=offer.present(created[offer.order_id]), now=offer.now)
                   for offer in offers if offer.claim is not None and offer.present is not None}
        if answers:
            await remember_answers(db, list(answers.values()))
        await _reserve_units(db, offers)
    return [(created[offer.order_id], emails[offer.order_id], answers.get(offer.order_id)) for offer in offers]


def warm_batches(dialect: Dialect, most: int) -> None:
    """Compile the statements of `_write_orders` for every batch size up to `most` (a serving
    process, at start: compiling one when a batch of that size first comes stops the event loop for
    2-20 ms, and every order in flight with it)."""
    for count in range(1, most + 1):
        for table in (_orders, _lines, _timeline, _facts, _outbox):
            warm_insert_rows(dialect, table, count)
        _customers_locked(count).compile_ahead(dialect)
        _units_ordered_by(count).compile_ahead(dialect)


@cache
def _customers_locked(count: int) -> Prepared:
    """Serialises each customer's orders so the per-customer limit holds under concurrency (RS-V.5.5),
    in the order of their ids (two batches never wait for each other in a circle); the addresses
    for the e-mails come with them."""
    ids = [bindparam(f"customer_{i}") for i in range(count)]
    return Prepared(select(_users.c.id, _users.c.email).where(_users.c.id.in_(ids))
                    .order_by(_users.c.id).with_for_update())


async def _lock_customers(db: Statements, customer_ids: list[int]) -> dict[int, str]:
    rows = await db.fetch(_customers_locked(len(customer_ids)),
                          **{f"customer_{i}": customer_id for i, customer_id in enumerate(customer_ids)})
    return {row.id: row.email for row in rows}


@cache
def _units_ordered_by(count: int) -> Prepared:
    """The per-customer count of `products_for` for `count` (customer, SKU) pairs in one statement,
    each pair named in its row."""
    pairs = []
    for i in range(count):
        customer, sku = bindparam(f"customer_{i}", type_=Integer), bindparam(f"sku_{i}", type_=String)
        units = _units_ordered_of(customer, sku).scalar_subquery()
        pairs.append(select(customer.label("customer_id"), sku.label("sku"), units.label("units")))
    return Prepared(union_all(*pairs) if count > 1 else pairs[0])


async def _units_ordered(db: Statements, pairs: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """RS-V.5.5: units of each product in each customer's orders that are not cancelled."""
    distinct = list(dict.fromkeys(pairs))
    params = {name: value for i, (customer_id, sku) in enumerate(distinct)
              for name, value in ((f"customer_{i}", customer_id), (f"sku_{i}", sku))}
    rows = await db.fetch(_units_ordered_by(len(distinct)), **params)
    return {(row.customer_id, row.sku): int(row.units) for row in rows}


async def _reserve_units(db: Statements, offers: list[Offer]) -> None:
    """RS-V.5.6: hold the units, or refuse the whole order. Last in the transaction: a product's row
    is the one row every order of it writes, and holds its lock until the commit. One statement a
    product for the whole batch, in the order of the SKUs (no two batches wait in a circle)."""
    wanted: dict[str, int] = {}
    names: dict[str, str] = {}
    for line in (line for offer in offers for line in offer.priced.lines):
        wanted[line.product.sku] = wanted.get(line.product.sku, 0) + line.quantity
        names.setdefault(line.product.sku, line.product.name)
    for sku in sorted(wanted):
        if not await stock.reserve(db, sku, wanted[sku]):
            raise Conflict("out_of_stock", f"{names[sku]} is out of stock", clause="RS-V.5.6")
