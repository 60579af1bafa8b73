"""Routes: each turns a request into a use-case call and its result into JSON; nothing else."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from shop.clock import system_now
from shop.domain.errors import NotFound
from shop.domain.lifecycle import OrderState
from shop.domain.markets import Market, market_info
from shop.domain.price_errors import CorrectPrice, MarketPrice
from shop.domain.withdrawal import WithdrawalState
from shop.services import (
    accounts, catalogue, checkout, ledger, orders, price_corrections, refunds, test_clock, withdrawal_refunds,
    withdrawals,
)
from shop.services.accounts import Registration
from shop.services.context import ShopContext
from shop.services.idempotency import Kept, claim_for
from shop.services.order_views import order_view, orders_in_state, orders_of_customer
from shop.services.pages import PAGE
from shop.services.work_queues import withdrawals_waiting
from shop.web import paging, presenters
from shop.web.auth import ACCOUNT_READ_BY_USE_CASE, Principal, issue_token, ops_only
from shop.web.errors import PROBLEM, domain_error
from shop.web.responses import (
    AccountOut, ClockOut, FlaggedPaymentsOut, OpsOrderOut, OrderOut, ProductOut, PublicOperation, QueuedWithdrawalOut,
    QuoteOut, StockOut, TermsOut, TokenOut, WithdrawalOut, problems,
)
from shop.web.schemas import (
    INT_MAX, CancelIn, ClockIn, ConfirmIn, DeliverIn, DeliveryFailedIn, InstallmentDecisionIn, LoginIn,
    OrderIn, PriceCorrectionIn, PriceErrorIn, ProofIn, QuoteIn, ReceiveIn, RegisterIn, RejectIn, ShipIn,
    StatementIn, StockIn, WithdrawalIn,
)

IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)]
MarketParam = Annotated[Market, QueryParameter(name="market", description="RS or KZ")]
FlaggedLimit = Annotated[int, QueryParameter(ge=1, le=ledger.MOST_FLAGGED, description="facts a page")]
FlaggedBefore = Annotated[int | None, QueryParameter(
    ge=1, le=INT_MAX, description="the page after the one whose last fact had this id (its `next_before`)")]
OrdersLimit = paging.limit("orders")
OrdersBefore = paging.cursor("order")
OrdersAfter = paging.cursor("order")
QueueState = Annotated[OrderState, QueryParameter(name="state", description=(
    "the state the orders wait in: awaiting_payment, awaiting_installment_approval, paid, confirmed or shipped"))]
QueueMarket = Annotated[Market | None, QueryParameter(description="RS or KZ; both when left out")]
WithdrawalQueue = Annotated[WithdrawalState, QueryParameter(name="state", description=(
    "the state the withdrawals wait in: requested (a return label to issue, RS-VII.7) or awaiting_return "
    "(the goods to receive)"))]
WithdrawalsLimit = paging.limit("withdrawals")
WithdrawalsAfter = paging.cursor("withdrawal")
Json = dict[str, Any]
Ctx = NamedDependency[ShopContext]
OPS_PROBLEMS = (400, 401, 403, 404, 409, 422)
"""What every operations route on an order or refund may answer besides its 2xx (400: its path)."""


def withdrawal_json(made: withdrawals.WithdrawalAggregate) -> Json:
    return presenters.withdrawal(made.withdrawal, made.lines,
                                 redeemed_perks=[(perk, perk.line_id) for perk in made.redeemed_perks])


def queued_withdrawal_json(made: withdrawals.WithdrawalAggregate) -> Json:
    """A withdrawal of staff's work queue: as its routes answer it, with its order's id, number, market."""
    w = made.withdrawal
    return {**withdrawal_json(made), "order_id": w.order_id, "order_number": w.order_number, "market": w.market}


async def order_json(ctx: ShopContext, order_id: str, *, customer_id: int | None = None) -> Json:
    return presenters.order(await order_view(ctx, order_id, customer_id=customer_id))


class AccountController(Controller):
    path = "/auth"
    tags = ["accounts"]

    @post("/register", status_code=201, operation_class=PublicOperation, responses=problems(400, 409, 413, 422, 503))
    async def register(self, ctx: Ctx, data: JSONBody[RegisterIn]) -> AccountOut:
        """RS-I.1, RS-I.2: a customer account; under 18 only with a guardian's consent."""
        consent = data.guardian_consent.to_domain() if data.guardian_consent else None
        user = await accounts.register(ctx, Registration(
            data.email, data.password, data.full_name, data.birth_date, data.phone, consent))
        return {"id": user.id, "email": user.email, "full_name": user.full_name,
                "birth_date": user.birth_date.isoformat()}

    @post("/login", status_code=200, operation_class=PublicOperation, responses=problems(400, 401, 413, 429, 503))
    async def login(self, ctx: Ctx, data: JSONBody[LoginIn], request: Request[Any, Any, Any]) -> TokenOut:
        """Too many failed logins for the e-mail or from the address: 429 with Retry-After; too many
        logins and registrations at once: 503 with Retry-After (shop.adapters.password_work)."""
        address = request.client.host if request.client else "unknown"
        user = await accounts.log_in(ctx, request.app.state["login_throttle"], data.email, data.password,
                                     address=address)
        token = issue_token(request.app.state["jwt"], user.id, user.is_ops)  # type: ignore[arg-type]
        return {"access_token": token, "token_type": "bearer"}


class CatalogueController(Controller):
    path = "/"
    tags = ["catalogue"]

    @get("/terms", operation_class=PublicOperation, responses=problems(400))
    async def terms(self, market: MarketParam) -> TermsOut:
        """RS-XV: the terms edition in force for the market; an order must accept it."""
        info = market_info(market)
        return {"market": info.market.value, "version": info.terms_version,
                "in_force_from": info.terms_in_force_from.isoformat(), "title": info.terms_title,
                "clause": "RS-XV"}

    @get("/products", operation_class=PublicOperation, responses=problems(400))
    async def products(self, ctx: Ctx, market: MarketParam) -> list[ProductOut]:
        return [presenters.product(row) for row in await catalogue.list_products(ctx, market)]


class OrderController(Controller):
    path = "/"
    tags = ["orders"]

    @post("/checkout/quote", status_code=200, operation_class=PublicOperation, responses=problems(400, 409, 413, 422))
    async def quote(self, ctx: Ctx, data: JSONBody[QuoteIn]) -> QuoteOut:
        """RS-III.3: every charge and the expected delivery date, before ordering; nothing is kept."""
        return presenters.quote(await checkout.price(ctx, data.to_domain()))

    @post("/orders", status_code=201, responses=problems(400, 401, 403, 409, 413, 422, 503),
          opt={ACCOUNT_READ_BY_USE_CASE: True})
    async def place(self, ctx: Ctx, request: Request[Principal, Any, Any], data: JSONBody[OrderIn],
                    idempotency_key: IdempotencyKey) -> Response[OrderOut]:
        principal = request.user  # its account is read and judged by checkout.place_order
        claim = claim_for(f"{principal.id} POST /orders", idempotency_key, data)
        placed = await checkout.place_order(ctx, data.to_domain(), customer_id=principal.id, claim=claim,
                                            present=presenters.order,
                                            refusal=lambda error: domain_error(request, error).content)
        if placed.body is not None:
            return Response(placed.body, status_code=201)
        kept = placed.answer
        if kept is not None and kept.body is not None:
            status = kept.status_code or 201
            if status >= 400:
                return Response(kept.body, status_code=status, media_type=PROBLEM)
            return Response(kept.body, status_code=status)
        body = (presenters.order(placed.created) if placed.created is not None
                else await order_json(ctx, placed.order_id or "", customer_id=principal.id))
        return Response(body, status_code=201)

    @get("/orders", responses=problems(400, 401, 422),
         response_headers=paging.link_header("/api/v1/orders?limit=20&before=…"))
    async def list_orders(self, ctx: Ctx, request: Request[Principal, Any, Any], limit: OrdersLimit = PAGE,
                          before: OrdersBefore = None) -> Response[list[OrderOut]]:
        """The customer's orders, newest first, a page at a time, each with what followed its sale: nine
        statements however many a page holds (shop.services.order_views); the next page in `Link`."""
        found, more = await orders_of_customer(ctx, request.user.id, limit=limit, before=before)
        return paging.page([presenters.order(order) for order in found], path="/api/v1/orders",
                           query={"limit": limit}, after=found[-1].order.id if more else None, cursor="before")

    @get("/orders/{order_id:str}", responses=problems(400, 401, 404))
    async def get_order(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str]) -> OrderOut:
        return await order_json(ctx, order_id, customer_id=request.user.id)

    @post("/orders/{order_id:str}/cancel", status_code=200, responses=problems(400, 401, 404, 409, 413, 422))
    async def cancel(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str],
                     data: JSONBody[CancelIn | None] = None) -> OrderOut:
        """RS-IV.5: until delivery has started; whatever was paid is refunded."""
        await orders.cancel_by_customer(ctx, order_id, customer_id=request.user.id,
                                        reason=data.reason if data else None)
        return await order_json(ctx, order_id, customer_id=request.user.id)

    @post("/orders/{order_id:str}/withdrawals", status_code=201, responses=problems(400, 401, 404, 409, 413, 422))
    async def withdraw(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str],
                       idempotency_key: IdempotencyKey,
                       data: JSONBody[WithdrawalIn | None] = None) -> Response[WithdrawalOut]:
        """RS-VII.1, RS-VII.2: the customer withdraws, with no reason, within 14 days of taking
        possession; all lines, or those named (a set whole, RS-VII.13). After the period: 409
        RS-VII.1. With an Idempotency-Key, the same key answers the same withdrawal, or the same refusal."""
        data = data or WithdrawalIn()
        claim = claim_for(f"{request.user.id} POST /orders/{order_id}/withdrawals", idempotency_key, data)
        made = await withdrawals.withdraw(ctx, order_id, customer_id=request.user.id, line_ids=data.line_ids,
                                          claim=claim, present=withdrawal_json,
                                          refusal=lambda error: domain_error(request, error).content)
        if isinstance(made, Kept):  # the key's answer: a withdrawal, or a refusal kept
            return Response(made.body, status_code=made.status_code,
                            media_type=PROBLEM if made.status_code >= 400 else MediaType.JSON)
        return Response(withdrawal_json(made), status_code=201)


class OpsController(Controller):
    path = "/ops"
    tags = ["operations"]
    guards = [ops_only]

    @get("/orders", responses=problems(400, 401, 403, 422),
         response_headers=paging.link_header("/api/v1/ops/orders?state=paid&limit=20&after=…"))
    async def orders_in_state(self, ctx: Ctx, waiting_in: QueueState, market: QueueMarket = None,
                              limit: OrdersLimit = PAGE, after: OrdersAfter = None) -> Response[list[OrderOut]]:
        """Staff's work queues: the orders waiting in `state` (for payment, the instalment decision,
        confirmation, shipment or delivery), of one market or both, the longest placed first, a page
        at a time; the next page's address in `Link`. Open one by its id for its payment ledger."""
        found, more = await orders_in_state(ctx, waiting_in, market=market, limit=limit, after=after)
        query = {"state": waiting_in.value, **({"market": market.value} if market else {}), "limit": limit}
        return paging.page([presenters.order(order) for order in found], path="/api/v1/ops/orders", query=query,
                           after=found[-1].order.id if more else None)

    @get("/withdrawals", responses=problems(400, 401, 403, 422),
         response_headers=paging.link_header("/api/v1/ops/withdrawals?state=requested&limit=20&after=…"))
    async def withdrawals_waiting(self, ctx: Ctx, waiting_in: WithdrawalQueue, market: QueueMarket = None,
                                  limit: WithdrawalsLimit = PAGE, after: WithdrawalsAfter = None
                                  ) -> Response[list[QueuedWithdrawalOut]]:
        """Staff's work queue of withdrawals (RS-VII): those waiting in `state`, `requested` for the
        return label (RS-VII.7) by the refund's deadline (RS-VII.10), `awaiting_return` for the goods by
        their return deadline (RS-VII.7); the earliest due first, of one market or both, a page at a
        time, the next page's address in `Link`. A final state is no queue (422)."""
        found, more = await withdrawals_waiting(ctx, waiting_in, market=market, limit=limit, after=after)
        query = {"state": waiting_in.value, **({"market": market.value} if market else {}), "limit": limit}
        return paging.page([queued_withdrawal_json(made) for made in found], path="/api/v1/ops/withdrawals",
                           query=query, after=found[-1].withdrawal.id if more else None)

    @post("/orders/{order_id:str}/confirm", status_code=200, responses=problems(413, *OPS_PROBLEMS))
    async def confirm(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str],
                      data: JSONBody[ConfirmIn]) -> OrderOut:
        availability = {line.line_id: line.available for line in data.lines}
        await orders.confirm(ctx, order_id, availability, actor=request.user.actor)
        return await order_json(ctx, order_id)

    @post("/orders/{order_id:str}/ship", status_code=200, responses=problems(413, *OPS_PROBLEMS))
    async def ship(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str],
                   data: JSONBody[ShipIn]) -> OrderOut:
        devices = {device.line_id: device.imeis for device in data.devices}
        await orders.ship(ctx, order_id, orders.Shipment(data.carrier, data.tracking_number, devices),
                          actor=request.user.actor)
        return await order_json(ctx, order_id)

    @post("/orders/{order_id:str}/deliver", status_code=200, responses=problems(413, *OPS_PROBLEMS))
    async def deliver(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str],
                      data: JSONBody[DeliverIn]) -> OrderOut:
        await orders.deliver(ctx, order_id, data.delivered_at, actor=request.user.actor, signed_by=data.signed_by)
        return await order_json(ctx, order_id)

    @post("/orders/{order_id:str}/delivery-failed", status_code=200, responses=problems(413, *OPS_PROBLEMS))
    async def delivery_failed(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str],
                              data: JSONBody[DeliveryFailedIn]) -> OrderOut:
        await orders.delivery_failed(ctx, order_id, orders.DeliveryFailure(data.reason),
                                     actor=request.user.actor)
        return await order_json(ctx, order_id)

    @post("/orders/{order_id:str}/out-of-stock", status_code=200, responses=problems(*OPS_PROBLEMS))
    async def out_of_stock(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str]) -> OrderOut:
        await orders.cancel_out_of_stock(ctx, order_id, actor=request.user.actor)
        return await order_json(ctx, order_id)

    @post("/orders/{order_id:str}/price-error", status_code=200, responses=problems(413, *OPS_PROBLEMS))
    async def price_error(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str],
                          data: JSONBody[PriceErrorIn]) -> OrderOut:
        """RS-III.2: the seller cancels an order placed at an obvious price error (each line named at
        least 20 % below the market price stated, no promotion) before delivery has started, and
        refunds everything; the reason and the market prices are kept."""
        evidence = [MarketPrice(line.line_id, line.market_price_minor) for line in data.lines]
        await orders.cancel_price_error(ctx, order_id, evidence, reason=data.reason, actor=request.user.actor)
        return await order_json(ctx, order_id)

    @post("/orders/{order_id:str}/price-corrections", status_code=200, responses=problems(413, *OPS_PROBLEMS))
    async def correct_prices(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str],
                             idempotency_key: IdempotencyKey, data: JSONBody[PriceCorrectionIn]) -> OrderOut:
        """RS-III.2: lines of a paid order charged above their correct price: the difference refunded
        (a credit note with it after the invoice, RS-IV.10) and the customer e-mailed. The customer's
        own cancellation is RS-IV.5's, or the withdrawal after delivery. With an Idempotency-Key, the
        same key refunds once and answers the order as it stands."""
        claim = claim_for(f"{request.user.id} POST /ops/orders/{order_id}/price-corrections", idempotency_key, data)
        await price_corrections.correct_prices(
            ctx, order_id, [CorrectPrice(line.line_id, line.correct_unit_price_minor) for line in data.lines],
            reason=data.reason, actor=request.user.actor, claim=claim)
        return await order_json(ctx, order_id)

    @post("/orders/{order_id:str}/installment-decision", status_code=200, responses=problems(413, *OPS_PROBLEMS))
    async def installment_decision(self, ctx: Ctx, request: Request[Principal, Any, Any],
                                   order_id: FromPath[str], data: JSONBody[InstallmentDecisionIn]) -> OrderOut:
        await orders.installment_decision(ctx, order_id, data.approved, actor=request.user.actor)
        return await order_json(ctx, order_id)

    @get("/orders/{order_id:str}", responses=problems(400, 401, 403, 404))
    async def get_order(self, ctx: Ctx, order_id: FromPath[str]) -> OpsOrderOut:
        """The order as its customer sees it, and its payment ledger: every fact, flagged ones too,
        with what the order has received and given back."""
        return {**await order_json(ctx, order_id), "ledger": presenters.ledger(await ledger.ledger_of(ctx, order_id))}

    @get("/payments/flagged", responses=problems(400, 401, 403))
    async def flagged_payments(self, ctx: Ctx, limit: FlaggedLimit = 50,
                               before: FlaggedBefore = None) -> FlaggedPaymentsOut:
        """Payment facts the shop recorded but did not apply (an amount or currency that does not
        match the order, an order it does not know), newest first, for staff to act on."""
        facts = await ledger.flagged_facts(ctx, limit=limit, before=before)
        return {"facts": [presenters.payment_fact(row) for row in facts],
                "next_before": facts[-1].id if len(facts) == limit else None}

    @post("/refunds/{refund_id:str}/retry", status_code=200, responses=problems(*OPS_PROBLEMS, 503))
    async def retry_refund(self, ctx: Ctx, refund_id: FromPath[str]) -> OrderOut:
        """A failed refund stays visible; staff send it again (same rules: never more than paid)."""
        refund = await refunds.retry_refund(ctx, refund_id)
        return await order_json(ctx, refund.order_id)

    @post("/refunds/{refund_id:str}/provider-paid", status_code=200, responses=problems(*OPS_PROBLEMS))
    async def provider_paid(self, ctx: Ctx, refund_id: FromPath[str]) -> OrderOut:
        """An instalment order's refund is paid back by the provider; staff record that it was."""
        refund = await refunds.record_provider_refund(ctx, refund_id)
        return await order_json(ctx, refund.order_id)

    @post("/orders/{order_id:str}/withdrawals", status_code=201, responses=problems(413, *OPS_PROBLEMS))
    async def record_statement(self, ctx: Ctx, request: Request[Principal, Any, Any], order_id: FromPath[str],
                               data: JSONBody[StatementIn]) -> WithdrawalOut:
        """RS-VII.3, T-6: a statement by e-mail, phone, chat or the order centre, judged by when it
        was sent (never in the future), whenever it is recorded."""
        return withdrawal_json(await withdrawals.record_statement(
            ctx, order_id, channel=data.channel, sent_at=data.sent_at, line_ids=data.line_ids,
            actor=request.user.actor))

    @post("/withdrawals/{withdrawal_id:str}/return-label", status_code=200, responses=problems(*OPS_PROBLEMS))
    async def return_label(self, ctx: Ctx, request: Request[Principal, Any, Any],
                           withdrawal_id: FromPath[str]) -> WithdrawalOut:
        """RS-VII.7, RS-VII.12: the shop's return label; the goods due back 14 days after it."""
        return withdrawal_json(await withdrawals.issue_return_label(ctx, withdrawal_id, actor=request.user.actor))

    @post("/withdrawals/{withdrawal_id:str}/receive", status_code=200, responses=problems(413, *OPS_PROBLEMS, 503))
    async def receive(self, ctx: Ctx, request: Request[Principal, Any, Any], withdrawal_id: FromPath[str],
                      data: JSONBody[ReceiveIn]) -> WithdrawalOut:
        """RS-VII.8–VII.11: the goods back, resaleable units to stock; the refund recorded (the
        lines' price, the delivery charge with the order's last withdrawal, less the diminished
        value) and sent to Stripe."""
        return withdrawal_json(await withdrawal_refunds.receive_return(
            ctx, withdrawal_id, deduction_minor=data.deduction_minor, note=data.note, resaleable=data.resaleable,
            items=data.receipts(), actor=request.user.actor))

    @post("/withdrawals/{withdrawal_id:str}/proof-of-return", status_code=200,
          responses=problems(413, *OPS_PROBLEMS, 503))
    async def proof_of_return(self, ctx: Ctx, request: Request[Principal, Any, Any], withdrawal_id: FromPath[str],
                              data: JSONBody[ProofIn]) -> WithdrawalOut:
        """RS-VII.11: proof the goods were sent back came before them: the refund is released now, in
        full; the goods, when they come, are received without a second refund and without a deduction."""
        return withdrawal_json(await withdrawal_refunds.refund_on_proof(
            ctx, withdrawal_id, note=data.note, actor=request.user.actor))

    @post("/withdrawals/{withdrawal_id:str}/reject", status_code=200, responses=problems(413, *OPS_PROBLEMS))
    async def reject_withdrawal(self, ctx: Ctx, request: Request[Principal, Any, Any], withdrawal_id: FromPath[str],
                                data: JSONBody[RejectIn]) -> WithdrawalOut:
        """RS-VII.14: staff refuse a withdrawal not yet back, for a recorded reason; its lines may be
        withdrawn again while the period runs."""
        return withdrawal_json(await withdrawals.reject(ctx, withdrawal_id, reason=data.reason,
                                                        actor=request.user.actor))

    @put("/products/{sku:str}/stock", status_code=200, responses=problems(413, *OPS_PROBLEMS))
    async def set_stock(self, ctx: Ctx, sku: FromPath[str], data: JSONBody[StockIn]) -> StockOut:
        return presenters.stock(await catalogue.set_stock(ctx, sku, data.in_stock))


class TestClockController(Controller):
    """Only with SHOP_ENV=test; 404 elsewhere (STOREFRONT-API.md, Test clock)."""

    path = "/test/clock"
    tags = ["test"]

    @put("/", status_code=200, operation_class=PublicOperation, responses=problems(400, 413))
    async def set_clock(self, ctx: Ctx, data: JSONBody[ClockIn]) -> ClockOut:
        _test_only(ctx)
        await test_clock.set_test_clock(ctx, data.now)
        return {"now": presenters.instant(data.now), "frozen": True}

    @delete("/", status_code=200, operation_class=PublicOperation)
    async def clear_clock(self, ctx: Ctx) -> ClockOut:
        _test_only(ctx)
        await test_clock.clear_test_clock(ctx)
        return {"now": presenters.instant(system_now()), "frozen": False}


def _test_only(ctx: ShopContext) -> None:
    if not ctx.settings.is_test:
        raise NotFound("not_found", "no such resource")

