"""Quote and place an order (RS-III.3, RS-IV.1–IV.2, RS-IV.4, RS-V.1, RS-V.5.5, RS-V.5.8, RS-XV)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from shop.adapters.stores.idempotency import KeyTaken
from shop.adapters.stripe_gateway import CreatedIntent, PaymentProviderError
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.accounts import account_gone
from shop.domain.checkout import OrderRequest, Quote, check_orderable, check_terms, quote
from shop.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, Unauthorized
from shop.domain.interruptions import refuse_new_orders
from shop.services.context import ShopContext
from shop.services.idempotency import (
    IdempotencyClaim, answer_row, checked_answer, earlier_answer, remember_answers, remember_refusal,
)
from shop.services.mail import QueuedEmail, notice_row, send_after_answer
from shop.services.order_rows import (
    Offer, Present, intent_created, line_row, order_received, order_row, placed_entry,
)
from shop.services.orders_common import OrderAggregate

log = logging.getLogger(__name__)

CARD = "card"
INSTALLMENTS = "installments"


ORDERS_AT_ONCE = 4
"""Orders written in one transaction at most (group commit). A batch holds the customers' and the
product's row locks until it commits, and on SQLite the event loop as well (a transaction never
yields it): every request in flight waits for the whole batch, their Stripe calls included. Measured
(`tests.bench.ab`, keyed orders at concurrency 16, 4 rounds of 600, pairs run both ways): against
batches of up to 32, at most 6 took the p99 from 39.1 and 41.7 ms to 28.5 and 30.0 on SQLite, and
on PostgreSQL from 65.5 and 61.3 ms to 46.7 and 45.2, keyed orders/s 506 and 525 to 573 and 571;
at most 4 did as well on SQLite (31.4 and 29.3 ms) and better on PostgreSQL (460 and 461 orders/s
against 429 and 389 at 6); at most 2, 442 against 591 at 4 (PostgreSQL). Payments keep the default:
their transactions are short, and at most 6 cost 4-13 % of webhook events/s."""


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
    answer: Any | None = None
    """The Idempotency-Key's kept answer (`status_code`, `body`, `resource_id`) when no order was
    created now: an earlier request's, or this request's refusal."""


Refusal = Callable[[DomainError], dict[str, Any]]
"""The answer's body for a refusal (the web layer's problem details)."""


async def price(ctx: ShopContext, request: OrderRequest) -> Quote:
    """RS-III.3: every charge before the order; nothing is reserved or stored."""
    skus = [line.sku for line in request.lines]
    now, products = await ctx.db.read(lambda uow: (uow.now(), uow.products.facts(skus)))
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
    skus = [line.sku for line in request.lines]

    def read_offer(uow: UnitOfWork) -> tuple[datetime, dict[str, Any], Any | None]:
        """What the offer is checked against, and the key's earlier answer (one statement for both);
        re-checked in the transaction that writes."""
        now = uow.now()
        products, record = uow.offers.facts(skus, customer_id=customer_id, now=now,
                                            key=None if claim is None else (claim.scope, claim.key))
        _check_customer_account(uow, products, customer_id)
        return now, products, None if claim is None else checked_answer(claim, record)

    now, products, record = await ctx.db.read(read_offer)
    if record is not None:
        return Placed(record.resource_id, answer=record)
    # RS-IV.4: during an announced interruption a new order is refused (503) and its key stays free
    refuse_new_orders(request.market, max(
        (product.interrupted_until for product in products.values() if product.interrupted_until is not None),
        default=None), now)
    refused: DomainError | None = None
    try:
        check_terms(request.market, request.terms_version)
        priced = quote(request, products, now=now)
        check_orderable(priced, {sku: int(product.ordered) for sku, product in products.items()})
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
    record = await remember_refusal(ctx, claim, refused.status, refusal(refused), now)
    return Placed(record.resource_id, answer=record)


def _check_customer_account(uow: UnitOfWork, products: dict[str, Any], customer_id: int) -> None:
    """RS-I.1: a customer orders from an account of their own. The route reads no account before
    (shop.web.auth.ACCOUNT_READ_BY_USE_CASE): the products' statement brought it along. An account
    that is gone is a 401 (its token outlived it); a staff account may not order (403, decided:
    staff order with a customer account of their own)."""
    if products:
        is_ops = next(iter(products.values())).account_is_ops
    else:  # no product of the order exists: the account alone
        is_ops = uow.accounts.staff_rights(customer_id)
    if is_ops is None:
        raise account_gone()
    if is_ops:
        raise Forbidden("ops_cannot_order", "an operations account cannot place customer orders; "
                        "use a customer account", field="Authorization")




async def _place(ctx: ShopContext, offer: Offer) -> Placed:
    if offer.request.payment_method == CARD:
        offer = replace(offer, intent=await _create_intent(ctx, offer.order_id, offer.priced))
    try:
        created, email, answer = await ctx.db.together("orders", write_orders, offer, most=ORDERS_AT_ONCE)
    except KeyTaken:  # a concurrent twin with the same key won
        await _abandon_intent(ctx, offer.intent)
        claim = offer.claim
        assert claim is not None  # only a keyed order keeps an answer
        record = await ctx.db.read(lambda uow: earlier_answer(uow, claim))
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


def write_orders(uow: UnitOfWork, offers: list[Offer]
                 ) -> list[tuple[OrderAggregate, QueuedEmail, dict[str, Any] | None]]:
    """Orders that arrive together written in one transaction (group commit, see
    shop.adapters.group_commit), each as if alone and in the order they came: their customers locked
    and their earlier units counted again, the batch's own earlier orders with them (RS-V.5.5); then
    the orders, their lines, first timeline entries, ledger facts and e-mails, one statement a table
    for all; the units held last (RS-V.5.6), one statement a product. An order that does not fit (a
    limit, the stock) fails the batch, whose orders are then written one at a time: its error is its
    own. A keyed order's answer is kept in the same transaction, built from the rows as written.
    Returns each order's rows as written (for the answer), its queued e-mail and its kept answer."""
    addresses = uow.accounts.lock_customers(sorted({offer.customer_id for offer in offers}))
    ordered = uow.orders.units_ordered([(offer.customer_id, line.product.sku)
                                        for offer in offers for line in offer.priced.lines])
    for offer in offers:
        if offer.customer_id not in addresses:  # deleted since the offer was read
            raise account_gone()
        check_orderable(offer.priced, {sku: units for (customer_id, sku), units in ordered.items()
                                       if customer_id == offer.customer_id})
        for line in offer.priced.lines:
            ordered[offer.customer_id, line.product.sku] += line.quantity
    order_rows = [order_row(offer) for offer in offers]
    orders, lines = uow.orders.add_placed(
        order_rows, [line_row(offer, line) for offer in offers for line in offer.priced.lines])
    entries = [placed_entry(offer) for offer in offers]
    uow.timeline.record_entries(entries)
    uow.ledger.append([intent_created(offer) for offer in offers if offer.intent])
    emails = uow.outbox.queue_emails([notice_row(row["id"], order_received(row), row["placed_at"],
                                                         address=addresses[row["customer_id"]])
                                              for row in order_rows])
    lines_of: dict[str, list[Any]] = {}
    for line in lines:  # in the order they were given
        lines_of.setdefault(line.order_id, []).append(line)
    created = [OrderAggregate(order, lines_of[order.id], [SimpleNamespace(**entry)], [])
               for order, entry in zip(orders, entries, strict=True)]
    answers = [None if offer.claim is None or offer.present is None else
               answer_row(offer.claim, resource_id=offer.order_id, status=201, body=offer.present(order),
                          now=offer.now) for offer, order in zip(offers, created, strict=True)]
    remember_answers(uow, [answer for answer in answers if answer is not None])
    _reserve_units(uow, offers)
    return list(zip(created, emails, answers, strict=True))


def _reserve_units(uow: UnitOfWork, offers: list[Offer]) -> None:
    """RS-V.5.6: hold the units, or refuse the whole order. Last in the transaction: a product's row
    is the one row every order of it writes, and holds its lock until the commit. One statement a
    product for the whole batch, in the order of the SKUs (no two batches wait in a circle)."""
    wanted: dict[str, int] = {}
    names: dict[str, str] = {}
    for line in (line for offer in offers for line in offer.priced.lines):
        wanted[line.product.sku] = wanted.get(line.product.sku, 0) + line.quantity
        names.setdefault(line.product.sku, line.product.name)
    for sku in sorted(wanted):
        if not uow.products.reserve(sku, wanted[sku]):
            raise Conflict("out_of_stock", f"{names[sku]} is out of stock", clause="RS-V.5.6")
