"""The stores: all of the shop's SQL, one module per kind of record, each the one writer of its
tables. Statements are SQLAlchemy Core on the tables of shop.adapters.tables, run through
SQLAlchemy's public API on the unit of work's connection."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

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
