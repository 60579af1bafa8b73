"""The rules of a batch of payments (shop.services.payments.apply_payments) on a fake unit of work:
no database, no Stripe, no web — the stores the use case speaks to, kept in dictionaries. What is
proved here is the use case's own logic (duplicates within one batch, a flagged report beside a
correct payment, the payment window of RS-V.1); tests/test_payments.py proves the same path
through the API on both databases."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shop.domain.lifecycle import OrderState
from shop.domain.money import Money
from shop.domain.payment_events import PaymentSucceeded
from shop.domain.payment_facts import PaymentFact
from shop.services.payments import APPLIED_APART, apply_payments

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DUE = NOW + timedelta(hours=1)


@dataclass
class FakeOrder:
    id: str
    state: str = OrderState.AWAITING_PAYMENT.value
    total_minor: int = 399_000
    currency: str = "RSD"
    payment_due_at: datetime | None = DUE
    payment_intent_id: str | None = None


@dataclass
class FakeOrders:
    rows: dict[str, FakeOrder] = field(default_factory=dict)

    def lock_for_payments(self, ids: list[str]) -> list[FakeOrder]:
        return [self.rows[i] for i in sorted(ids) if i in self.rows]

    def lock_by_payment_intent(self, intent_id: str) -> FakeOrder | None:
        return next((o for o in self.rows.values() if o.payment_intent_id == intent_id), None)

    def move_all(self, moves: list[tuple[FakeOrder, Any]], now: datetime) -> None:
        for order, transition in moves:
            self.rows[order.id].state = str(transition.to_state)


@dataclass
class FakeLedger:
    facts: dict[str, PaymentFact] = field(default_factory=dict)

    def append(self, facts: list[PaymentFact]) -> set[str]:
        new = {fact.key for fact in facts if fact.key not in self.facts}
        self.facts.update({fact.key: fact for fact in facts if fact.key in new})
        return new


@dataclass
class FakeTimeline:
    entries: list[dict[str, Any]] = field(default_factory=list)

    def record_entries(self, entries: list[dict[str, Any]]) -> None:
        self.entries.extend(entries)


@dataclass
class FakeUnitOfWork:
    orders: FakeOrders = field(default_factory=FakeOrders)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    timeline: FakeTimeline = field(default_factory=FakeTimeline)

    def now(self) -> datetime:
        return NOW


def paid(order_id: str | None, *, event_id: str, intent: str = "pi_1", amount: int = 399_000,
         at: datetime = NOW) -> PaymentSucceeded:
    return PaymentSucceeded(event_id, at, intent, order_id, Money(amount, "RSD"))


def test_a_payment_within_the_window_pays_its_order_once_RS_V_1():
    uow = FakeUnitOfWork(FakeOrders({"o1": FakeOrder("o1")}))
    assert apply_payments(uow, [paid("o1", event_id="evt_1")]) == ["paid"]
    assert uow.orders.rows["o1"].state == "paid"
    assert [(e["event"], e["from_state"], e["to_state"], e["clause"]) for e in uow.timeline.entries] == [
        ("pay", "awaiting_payment", "paid", "RS-V.1")]
    assert list(uow.ledger.facts) == ["pi_1:succeeded"]


def test_two_events_of_one_payment_in_one_batch_count_once():
    """Stripe may state one success twice (a redelivery, a second event): the second is a duplicate,
    in the same batch as across batches."""
    uow = FakeUnitOfWork(FakeOrders({"o1": FakeOrder("o1")}))
    outcomes = apply_payments(uow, [paid("o1", event_id="evt_1"), paid("o1", event_id="evt_2")])
    assert outcomes == ["paid", "duplicate"]
    assert len(uow.timeline.entries) == 1 and len(uow.ledger.facts) == 1
    assert apply_payments(uow, [paid("o1", event_id="evt_3")]) == ["duplicate"]


def test_a_flagged_report_never_makes_the_correct_payment_a_duplicate_RS_III_4():
    """A success of the wrong amount is recorded for staff under its event's id; the correct event
    of the same PaymentIntent, after it in the same batch, still pays the order."""
    uow = FakeUnitOfWork(FakeOrders({"o1": FakeOrder("o1")}))
    outcomes = apply_payments(uow, [paid("o1", event_id="evt_wrong", amount=1), paid("o1", event_id="evt_ok")])
    assert outcomes == ["flagged", "paid"]
    assert uow.ledger.facts["evt_wrong"].flagged.startswith("amount_mismatch")
    assert uow.ledger.facts["pi_1:succeeded"].flagged is None
    assert uow.orders.rows["o1"].state == "paid"


def test_a_payment_for_no_known_order_is_flagged_not_applied():
    uow = FakeUnitOfWork()
    assert apply_payments(uow, [paid("o-unknown", event_id="evt_1")]) == ["flagged"]
    assert uow.ledger.facts["evt_1"].flagged == "unknown_order" and not uow.timeline.entries


def test_late_and_cancelled_orders_are_left_to_the_path_that_refunds_RS_V_1():
    """A payment Stripe recorded after the window, or one for a cancelled order, needs lines, stock
    and refunds: the batch leaves both to `_payment_applied_apart`, writing nothing of them."""
    orders = FakeOrders({"late": FakeOrder("late"), "gone": FakeOrder("gone", state="cancelled")})
    uow = FakeUnitOfWork(orders)
    outcomes = apply_payments(uow, [paid("late", event_id="evt_1", intent="pi_late", at=DUE + timedelta(seconds=1)),
                                    paid("gone", event_id="evt_2", intent="pi_gone")])
    assert outcomes == [APPLIED_APART, APPLIED_APART]
    assert not uow.ledger.facts and not uow.timeline.entries
    assert [o.state for o in orders.rows.values()] == ["awaiting_payment", "cancelled"]


def test_a_payment_found_by_its_intent_when_the_metadata_names_no_order():
    orders = FakeOrders({"o1": replace(FakeOrder("o1"), payment_intent_id="pi_9")})
    uow = FakeUnitOfWork(orders)
    assert apply_payments(uow, [paid(None, event_id="evt_1", intent="pi_9")]) == ["paid"]
    assert orders.rows["o1"].state == "paid"
