"""The stores: all of the shop's SQL, one module per kind of record, each the one writer of its
tables. Statements are SQLAlchemy Core on the tables of shop.adapters.tables, run through
SQLAlchemy's public API on the unit of work's connection."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, or_, select
from sqlalchemy.engine import Connection, Row


def grouped(connection: Connection, statement: Any, ids: Collection[str], *, by: str = "order_id"
            ) -> dict[str, list[Row[Any]]]:
    """The rows `statement` reads for these ids (bound as `b_ids`), grouped by their column `by`, in
    the statement's order: one statement however many ids, none for no id."""
    found: dict[str, list[Row[Any]]] = {}
    if ids:
        for row in connection.execute(statement, {"b_ids": list(ids)}):
            found.setdefault(getattr(row, by), []).append(row)
    return found


def after_row(table: Table, by: str, *, cursor: str = "b_after", newest_first: bool = False) -> ColumnElement[bool]:
    """The rows after the one whose id the bind parameter `cursor` names, in the order (`by`, id),
    ascending or `newest_first`: the next page of a list, wherever that row is now (its `by` read by
    a scalar subquery on an alias of the table)."""
    previous = table.alias("previous")
    at = select(previous.c[by]).where(previous.c.id == bindparam(cursor)).scalar_subquery()
    column, row_id = table.c[by], table.c.id
    if newest_first:
        return or_(column < at, and_(column == at, row_id < bindparam(cursor)))
    return or_(column > at, and_(column == at, row_id > bindparam(cursor)))
