"""The unit of work a use case is given: the stores of one transaction.

A use case speaks to stores (`uow.orders`, `uow.timeline`, `uow.ledger` …), never to SQL; each store
is the one writer of its tables (shop/adapters/stores/). The unit of work is created by
`shop.adapters.database.Database` for one transaction (or for reads) and lives as long as it.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from sqlalchemy.engine import Connection

from shop.adapters.stores.accounts import AccountStore
from shop.adapters.stores.clock import test_clock_now
from shop.adapters.stores.idempotency import IdempotencyStore
from shop.adapters.stores.ledger import LedgerStore
from shop.adapters.stores.orders import OrderStore
from shop.adapters.stores.outbox import OutboxStore
from shop.adapters.stores.products import ProductStore
from shop.adapters.stores.refunds import RefundStore
from shop.adapters.stores.sweep import SweepStore
from shop.adapters.stores.timeline import TimelineStore
from shop.adapters.stores.withdrawals import WithdrawalStore
from shop.clock import system_now


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

    # --- the stores, each created on first use ----------------------------------------------------
    @cached_property
    def accounts(self) -> AccountStore:
        return AccountStore(self.connection)

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        return IdempotencyStore(self.connection)

    @cached_property
    def ledger(self) -> LedgerStore:
        return LedgerStore(self.connection)

    @cached_property
    def orders(self) -> OrderStore:
        return OrderStore(self.connection)

    @cached_property
    def outbox(self) -> OutboxStore:
        return OutboxStore(self.connection)

    @cached_property
    def products(self) -> ProductStore:
        return ProductStore(self.connection)

    @cached_property
    def refunds(self) -> RefundStore:
        return RefundStore(self.connection)

    @cached_property
    def sweep(self) -> SweepStore:
        """Reads only: what is owed near or past its deadline (shop.services.sweep)."""
        return SweepStore(self.connection)

    @cached_property
    def timeline(self) -> TimelineStore:
        return TimelineStore(self.connection)

    @cached_property
    def withdrawals(self) -> WithdrawalStore:
        return WithdrawalStore(self.connection)
