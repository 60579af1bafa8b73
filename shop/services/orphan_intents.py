"""No PaymentIntent stays payable without its order (RS-V.1; issue 16).

A card order's PaymentIntent is created before the order is written, so that a Stripe failure
leaves no half-written order. A process killed between the two leaves an intent whose order was
never written; its client secret was never shown, but it is payable at Stripe. `make
expire-payments` sweeps them: the intents Stripe created in the last `LOOKBACK`, older than
`GRACE` (an order being written now is not touched), whose metadata names an order the shop does not
have, are cancelled. Nothing is added to the order path (a journal row before each intent would
cost every order a transaction)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shop.adapters.stripe_gateway import ListedIntent, PaymentProviderError
from shop.services.context import ShopContext

GRACE = timedelta(minutes=10)
"""Longer than an order takes from its intent to its commit (Stripe's timeout, three tries, the write)."""
LOOKBACK = timedelta(hours=6)
"""The window each run reads at Stripe: expire-payments runs far more often than this."""
CANCELABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"})


@dataclass
class OrphanSweep:
    cancelled: list[ListedIntent] = field(default_factory=list)
    failed: list[ListedIntent] = field(default_factory=list)
    """Left for the next run (Stripe refused or could not be reached)."""


async def cancel_orphan_intents(ctx: ShopContext, now: datetime, *,
                                on_cancelled: Callable[[ListedIntent], None] | None = None) -> OrphanSweep:
    sweep = OrphanSweep()
    until = int((now - GRACE).timestamp())
    listed = await ctx.stripe.payment_intents_since(int((now - LOOKBACK).timestamp()))
    candidates = [intent for intent in listed
                  if intent.order_id and intent.created <= until and intent.status in CANCELABLE]
    asked = [intent.order_id for intent in candidates if intent.order_id]
    known = await ctx.db.read(lambda uow: uow.orders.known(asked))
    for intent in candidates:
        if intent.order_id in known:
            continue
        try:
            await ctx.stripe.cancel_payment_intent(intent.id)
        except PaymentProviderError:
            sweep.failed.append(intent)
            continue
        sweep.cancelled.append(intent)
        if on_cancelled is not None:
            on_cancelled(intent)
    return sweep
