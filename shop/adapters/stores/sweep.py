"""What the sweep reads (RS-VII.7, RS-VII.10, RS-III.4, P-2, RS-X.3, RS-XIII): refunds still owed,
returns awaited, withdrawals without a label, unused perks about to lapse, complaints not answered
and notices of illegal content not decided, each with its order's number ("-": none), due by a given
instant in one market.

Reads only: it writes nothing, so it is safe to run twice and from two machines at once. Each
method reads one page, ordered by (deadline, id) and resumed after the last key of the page before
(keyset paging), so a long list is never held whole nor read in one long statement.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, literal, select, tuple_
from sqlalchemy.engine import Connection, Row

from shop.adapters.perk_tables import BundlePerk
from shop.adapters.after_sale_tables import Complaint
from shop.adapters.review_tables import ContentNotice, Review
from shop.adapters.tables import Order, OrderLine, Product, Refund, Withdrawal, WithdrawalLine, table_of

_refunds, _orders = table_of(Refund), table_of(Order)
_withdrawals, _covered, _lines = table_of(Withdrawal), table_of(WithdrawalLine), table_of(OrderLine)
_perks, _complaints = table_of(BundlePerk), table_of(Complaint)
_notices, _reviews, _products = table_of(ContentNotice), table_of(Review), table_of(Product)

Key = tuple[datetime, str]


def _page(statement: Select[Any], due: ColumnElement[Any], row_id: ColumnElement[Any],
          market: ColumnElement[Any] = _orders.c.market) -> dict[bool, Select[Any]]:
    """The statement limited to one market, due by `b_until`, one page ordered by (due, id); the
    second form resumes after (`b_after_due`, `b_after_id`)."""
    first = (statement.where(market == bindparam("b_market"), due <= bindparam("b_until"))
             .order_by(due, row_id).limit(bindparam("b_limit")))
    return {False: first,
            True: first.where(tuple_(due, row_id) > tuple_(bindparam("b_after_due", type_=due.type),
                                                           bindparam("b_after_id", type_=row_id.type)))}


_REFUNDS = _page(
    select(_refunds.c.id, _refunds.c.due_by.label("due"), _refunds.c.state, _refunds.c.clause,
           _refunds.c.amount_minor, _refunds.c.currency, _refunds.c.attempts, _refunds.c.failure,
           _orders.c.number.label("order_number"), _orders.c.market)
    .join(_orders, _orders.c.id == _refunds.c.order_id)
    .where(_refunds.c.state.in_(bindparam("b_states", expanding=True))),
    _refunds.c.due_by, _refunds.c.id)

def _of_covered(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """`value` over the lines the withdrawal covers: a subquery for the row's withdrawal alone."""
    return (select(value).select_from(_covered.join(_lines, _lines.c.id == _covered.c.line_id))
            .where(_covered.c.withdrawal_id == _withdrawals.c.id).correlate(_withdrawals).scalar_subquery())


def _withdrawals_due(due: ColumnElement[Any]) -> dict[bool, Select[Any]]:
    return _page(
        select(_withdrawals.c.id, due.label("due"), _withdrawals.c.state, _withdrawals.c.channel,
               _withdrawals.c.sent_at, _withdrawals.c.label_issued_at,
               func.coalesce(_of_covered(func.sum(  # what was paid: less a price error's refund (RS-III.2)
                   _lines.c.unit_price_minor * _lines.c.quantity - _lines.c.price_corrected_minor)), 0)
               .label("lines_minor"),
               _of_covered(func.count()).label("lines"),
               _orders.c.currency, _orders.c.number.label("order_number"), _orders.c.market)
        .join(_orders, _orders.c.id == _withdrawals.c.order_id)
        .where(_withdrawals.c.state == bindparam("b_state")),
        due, _withdrawals.c.id)


_PERKS = _page(
    select(_perks.c.id, _perks.c.lapses_at.label("due"), _perks.c.state, _perks.c.code, _perks.c.clause,
           _perks.c.opens_at, _orders.c.currency, _orders.c.number.label("order_number"), _orders.c.market)
    .join(_orders, _orders.c.id == _perks.c.order_id)
    .where(_perks.c.state.in_(bindparam("b_states", expanding=True))),
    _perks.c.lapses_at, _perks.c.id)

_COMPLAINTS = _page(  # a complaint may name no order: its own market, the order's number where there is one
    select(_complaints.c.id, _complaints.c.answer_due_by.label("due"), _complaints.c.channel, _complaints.c.about,
           _complaints.c.received_at, _complaints.c.market,
           func.coalesce(_orders.c.number, "-").label("order_number"))
    .outerjoin(_orders, _orders.c.id == _complaints.c.order_id)
    .where(_complaints.c.state == bindparam("b_state")),
    _complaints.c.answer_due_by, _complaints.c.id, market=_complaints.c.market)

_NOTICES = _page(  # a notice names no order: the market of the product its review is about
    select(_notices.c.id, _notices.c.decide_by.label("due"), _notices.c.received_at, _notices.c.review_id,
           _reviews.c.sku, _products.c.market, literal("-").label("order_number"))
    .join(_reviews, _reviews.c.id == _notices.c.review_id).join(_products, _products.c.sku == _reviews.c.sku)
    .where(_notices.c.state == bindparam("b_state")),
    _notices.c.decide_by, _notices.c.id, market=_products.c.market)

_RETURNS = _withdrawals_due(_withdrawals.c.return_due_by)
_STATEMENTS = _withdrawals_due(_withdrawals.c.refund_due_by)


class SweepStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def _read(self, statements: dict[bool, Select[Any]], values: dict[str, Any], after: Key | None,
              limit: int) -> list[Row[Any]]:
        if after is not None:
            values = {**values, "b_after_due": after[0], "b_after_id": after[1]}
        return list(self._db.execute(statements[after is not None], {**values, "b_limit": limit}))

    def refunds_due(self, states: Collection[str], *, market: str, until: datetime, after: Key | None = None,
                    limit: int = 1000) -> list[Row[Any]]:
        """Refunds in `states` of the market's orders due by `until` (RS-III.4, RS-VII.10), with
        `order_number`; a page after `after` (due, id)."""
        return self._read(_REFUNDS, {"b_states": list(states), "b_market": market, "b_until": until}, after, limit)

    def returns_due(self, state: str, *, market: str, until: datetime, after: Key | None = None,
                    limit: int = 1000) -> list[Row[Any]]:
        """Withdrawals in `state` (awaiting the goods) whose return is due by `until` (RS-VII.7), with
        `order_number`, `currency` and `lines_minor` (the covered lines' price, less what a price correction
        refunded of it, RS-III.2)."""
        return self._read(_RETURNS, {"b_state": state, "b_market": market, "b_until": until}, after, limit)

    def statements_due(self, state: str, *, market: str, until: datetime, after: Key | None = None,
                       limit: int = 1000) -> list[Row[Any]]:
        """Withdrawals in `state` (no label issued yet) whose refund is due by `until` (RS-VII.10:
        the clock runs from the statement), with the same columns as `returns_due`."""
        return self._read(_STATEMENTS, {"b_state": state, "b_market": market, "b_until": until}, after, limit)

    def perks_due(self, states: Collection[str], *, market: str, until: datetime, after: Key | None = None,
                  limit: int = 1000) -> list[Row[Any]]:
        """Perks in `states` (unused) of the market's orders whose last moment is by `until` (P-2),
        with `order_number`: the index on (state, lapses_at, id)."""
        return self._read(_PERKS, {"b_states": list(states), "b_market": market, "b_until": until}, after, limit)

    def complaints_due(self, state: str, *, market: str, until: datetime, after: Key | None = None,
                       limit: int = 1000) -> list[Row[Any]]:
        """Complaints in `state` (not answered) of the market whose answer is due by `until` (RS-X.3),
        with `order_number` ("-" without an order): the index on (state, answer_due_by, id)."""
        return self._read(_COMPLAINTS, {"b_state": state, "b_market": market, "b_until": until}, after, limit)

    def notices_due(self, state: str, *, market: str, until: datetime, after: Key | None = None,
                    limit: int = 1000) -> list[Row[Any]]:
        """Notices of illegal content in `state` (not decided) about reviews of the market's products
        whose decision is due by `until` (RS-XIII 12.5), with `review_id`, `sku` and `order_number`
        ("-"): the index on (state, decide_by, id)."""
        return self._read(_NOTICES, {"b_state": state, "b_market": market, "b_until": until}, after, limit)
