"""Reads only: what the stores hold of one customer that the contract may still need (RS-XII), for
shop.domain.privacy to judge before the account is erased: the customer's orders, and the refunds,
withdrawals, conformity claims, complaints, take-backs, service cases and KZ perks of them, each with
its order's number and its state. Every table's writer is its own store; this one writes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from shop.adapters.after_sale_tables import Complaint, ConformityClaim, TakeBack
from shop.adapters.perk_tables import BundlePerk, PerkBundle, ServiceCase
from shop.adapters.tables import Order, Refund, Withdrawal, table_of
from shop.domain.privacy import CustomerMatters

_orders, _refunds, _withdrawals = table_of(Order), table_of(Refund), table_of(Withdrawal)
_claims, _complaints, _take_backs = table_of(ConformityClaim), table_of(Complaint), table_of(TakeBack)
_perks, _bundles, _cases = table_of(BundlePerk), table_of(PerkBundle), table_of(ServiceCase)
_CUSTOMER = bindparam("customer_id")
_NUMBER = _orders.c.number.label("number")


def _of_orders(table: Any, *columns: Any) -> Any:
    """`table`'s rows of the customer's orders, with the order's number and the row's state."""
    return (select(table.c.id, table.c.state, _NUMBER, *columns)
            .join(_orders, _orders.c.id == table.c.order_id).where(_orders.c.customer_id == _CUSTOMER))


_STATEMENTS = {
    "orders": select(_orders.c.id, _orders.c.number, _orders.c.state, _orders.c.market, _orders.c.delivered_at)
    .where(_orders.c.customer_id == _CUSTOMER),
    "refunds": _of_orders(_refunds),
    "withdrawals": _of_orders(_withdrawals),
    "conformity_claims": _of_orders(_claims),
    "take_backs": _of_orders(_take_backs),
    "service_cases": _of_orders(_cases),
    "complaints": select(_complaints.c.id, _complaints.c.state,
                         func.coalesce(_orders.c.number, _complaints.c.id).label("number"))
    .outerjoin(_orders, _orders.c.id == _complaints.c.order_id).where(_complaints.c.customer_id == _CUSTOMER),
    "perks": _of_orders(_perks, _perks.c.code, _perks.c.opens_at, _perks.c.lapses_at, _bundles.c.terms_version)
    .join(_bundles, _bundles.c.id == _perks.c.bundle_id),
}


class PrivacyStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def matters_of(self, customer_id: int) -> CustomerMatters:
        """Everything of the customer's that may still be open, one statement a kind (not a hot path:
        an account is erased once)."""
        return CustomerMatters(**{kind: self._db.execute(statement, {"customer_id": customer_id}).all()
                                  for kind, statement in _STATEMENTS.items()})
