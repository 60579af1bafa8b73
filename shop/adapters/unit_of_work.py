"""The unit of work a use case is given: the stores of one transaction.

A use case speaks to stores (`uow.orders`, `uow.timeline`, `uow.ledger` …), never to SQL; each store
is the one writer of its tables (shop/adapters/stores/). The unit of work is created by
`shop.adapters.database.Database` for one transaction (or for reads) and lives as long as it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection

from shop.adapters.stores.accounts import AccountStore
from shop.adapters.stores.clock import test_clock_now
from shop.adapters.stores.complaints import ComplaintStore
from shop.adapters.stores.conformity import ConformityClaimStore
from shop.adapters.stores.devices import DeviceStore
from shop.adapters.stores.force_majeure import ForceMajeureStore
from shop.adapters.stores.interruptions import InterruptionStore
from shop.adapters.stores.idempotency import IdempotencyStore
from shop.adapters.stores.invoices import InvoiceStore
from shop.adapters.stores.ledger import LedgerStore
from shop.adapters.stores.orders import OrderStore
from shop.adapters.stores.outbox import OutboxStore
from shop.adapters.stores.perks import PerkStore
from shop.adapters.stores.offers import OfferStore
from shop.adapters.stores.privacy import PrivacyStore
from shop.adapters.stores.products import ProductStore
from shop.adapters.stores.refunds import RefundStore
from shop.adapters.stores.reviews import ReviewStore
from shop.adapters.stores.service_cases import ServiceCaseStore
from shop.adapters.stores.sweep import SweepStore
from shop.adapters.stores.take_backs import TakeBackStore
from shop.adapters.stores.timeline import TimelineStore
from shop.adapters.stores.withdrawals import WithdrawalStore
from shop.clock import system_now


S = TypeVar("S")


class _Store(Generic[S]):
    """A store of the unit of work, made on first use from its connection and kept for the rest of
    the transaction."""

    def __init__(self, make: Callable[[Connection], S]) -> None:
        self.make = make

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, uow: Any, owner: type | None = None) -> S:
        store = self.make(uow.connection)
        uow.__dict__[self.name] = store  # the next lookup finds the instance's own attribute
        return store


class UnitOfWork:
    def __init__(self, connection: Connection, *, test_clock: bool = False) -> None:
        self.connection = connection
        self.test_clock = test_clock

    def now(self) -> datetime:
        """The shop's one "now": the test clock when SHOP_ENV=test and it is set, else real time."""
        if not self.test_clock:
            return system_now()
        return test_clock_now(self.connection) or system_now()

    @property
    def dialect(self) -> str:
        return self.connection.dialect.name

    # --- the stores, each created on first use (one line a store) ------------------------------------
    accounts = _Store(AccountStore)
    complaints = _Store(ComplaintStore)  # RS-X
    conformity_claims = _Store(ConformityClaimStore)  # RS-VI
    devices = _Store(DeviceStore)  # device activations, by IMEI (KZ-1)
    force_majeure = _Store(ForceMajeureStore)  # RS-VIII, T-7
    idempotency = _Store(IdempotencyStore)
    interruptions = _Store(InterruptionStore)  # announced technical interruptions (RS-IV.4)
    invoices = _Store(InvoiceStore)  # invoices and credit notes (RS-IV.8–10)
    offers = _Store(OfferStore)  # reads only: what an order is checked against before it is written
    ledger = _Store(LedgerStore)
    orders = _Store(OrderStore)
    outbox = _Store(OutboxStore)
    perks = _Store(PerkStore)  # perk bundles and their perks (KZ)
    privacy = _Store(PrivacyStore)  # reads only: what the contract may still need of a customer (RS-XII)
    products = _Store(ProductStore)
    refunds = _Store(RefundStore)
    reviews = _Store(ReviewStore)  # reviews and notices of illegal content (RS-XIII)
    service_cases = _Store(ServiceCaseStore)  # repairs and warranty under the KZ perks
    sweep = _Store(SweepStore)  # reads only: what is owed near or past its deadline
    take_backs = _Store(TakeBackStore)  # free take-back of old devices (RS-V.5.4)
    timeline = _Store(TimelineStore)
    withdrawals = _Store(WithdrawalStore)
