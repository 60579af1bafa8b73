"""Bulk-load the expiry scenario straight into the database, by the fastest path each one has:
SQLite through the sqlite3 module (executemany in large transactions), PostgreSQL through asyncpg's
COPY (`copy_records_to_table`).

`total` orders with one order_lines row each (SKU, quantity 1): the first `expired` are card orders
`awaiting_payment` whose `payment_due_at` has passed, each with its own PaymentIntent id; the others
are paid / confirmed / cancelled / delivered. The units of the awaiting ones are held:
products.reserved += expired. Column by column as alembic/versions/0001 and shop/adapters/tables.py
define them (every NOT NULL one filled, numbers unique, customers that exist)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from tests.bench.common import SKU

ORDER_COLUMNS = (
    "id", "number", "customer_id", "market", "state", "payment_method", "currency", "items_minor",
    "delivery_minor", "total_minor", "vat_minor", "terms_version", "delivery", "placed_at", "payment_due_at",
    "expected_delivery_on", "paid_at", "confirmed_at", "delivered_at", "cancelled_at", "payment_intent_id",
    "client_secret",
)
LINE_COLUMNS = (
    "order_id", "customer_id", "sku", "name", "model", "category", "quantity", "unit_price_minor", "vat_rate",
    "requires_imei", "returnable", "set_items", "state", "imeis",
)
OTHER_STATES = ("paid", "confirmed", "cancelled", "delivered")
LINE_STATE = {"awaiting_payment": "ordered", "paid": "ordered", "confirmed": "confirmed",
              "cancelled": "cancelled", "delivered": "confirmed"}
DELIVERY = json.dumps({"method": "courier", "recipient": "Ana Anić", "phone": "+381641234567", "store_id": None,
                       "address": {"street": "Knez Mihailova 1", "city": "Beograd", "postal_code": "11000",
                                   "country": "RS"}})


@dataclass(frozen=True)
class Scenario:
    total: int
    expired: int
    customers: Sequence[int]
    now: datetime
    """naive UTC: the instant expire-payments judges as of (every expired due time is before it)."""
    product: tuple[str, str, str, int]
    """(name, model, category, price_minor) of SKU, as the catalogue has it."""

    def order_id(self, i: int) -> str:
        return f"bulk-{i:010d}"

    def orders(self) -> Iterator[tuple]:
        name, model, category, price = self.product
        delivery_minor = 39_000 if price < 1_000_000 else 0
        total = price + delivery_minor
        vat = round(total * 20 / 120)
        for i in range(self.total):
            expired = i < self.expired
            state = "awaiting_payment" if expired else OTHER_STATES[i % len(OTHER_STATES)]
            # Expired: placed 3 to 25 h before `now` (so due 1 to 23 h before it); the others days ago.
            placed = self.now - timedelta(hours=3 if expired else 24 * (3 + i % 90), seconds=i % 79_200)
            due = placed + timedelta(hours=2)
            paid = placed + timedelta(minutes=30) if state in ("paid", "confirmed", "delivered") else None
            yield (
                self.order_id(i), f"BULK{i:010d}", self.customers[i % len(self.customers)], "RS", state, "card",
                "RSD", price, delivery_minor, total, vat, "2025-12-18", DELIVERY, placed, due,
                (placed + timedelta(days=3)).date(), paid,
                placed + timedelta(hours=5) if state in ("confirmed", "delivered") else None,
                placed + timedelta(days=3) if state == "delivered" else None,
                due if state == "cancelled" else None,
                f"pi_bulk_{i:010d}" if expired or paid else None,
                f"pi_bulk_{i:010d}_secret_x" if expired or paid else None,
            )

    def lines(self) -> Iterator[tuple]:
        name, model, category, price = self.product
        for i in range(self.total):
            state = "awaiting_payment" if i < self.expired else OTHER_STATES[i % len(OTHER_STATES)]
            yield (self.order_id(i), self.customers[i % len(self.customers)], SKU, name, model, category, 1, price,
                   "0.20", False, True, "[]", LINE_STATE[state], "[]")


def fill_sqlite(path: Path, scenario: Scenario, chunk: int = 200_000) -> None:
    db = sqlite3.connect(path, timeout=60)
    try:
        db.execute("PRAGMA synchronous=OFF")  # a bulk load: the file is synced when it is closed
        db.execute("PRAGMA cache_size=-262144")  # 256 MiB
        fmt_orders = (f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * len(ORDER_COLUMNS))})")
        fmt_lines = (f"INSERT INTO order_lines ({', '.join(LINE_COLUMNS)}) "
                     f"VALUES ({', '.join('?' * len(LINE_COLUMNS))})")

        def sqlite_row(row: tuple) -> tuple:  # dates and datetimes as SQLAlchemy's SQLite types store them
            return tuple(value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else
                         value.isoformat() if isinstance(value, date) else value for value in row)

        for statement, rows in ((fmt_orders, scenario.orders()), (fmt_lines, scenario.lines())):
            batch: list[tuple] = []
            for row in rows:
                batch.append(sqlite_row(row))
                if len(batch) == chunk:
                    with db:
                        db.executemany(statement, batch)
                    batch.clear()
            if batch:
                with db:
                    db.executemany(statement, batch)
        with db:
            db.execute("UPDATE products SET reserved = reserved + ? WHERE sku = ?", (scenario.expired, SKU))
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


async def fill_postgres(url: str, scenario: Scenario) -> None:
    import asyncpg

    db = await asyncpg.connect(url)
    try:
        await db.copy_records_to_table("orders", columns=list(ORDER_COLUMNS), records=scenario.orders())
        await db.copy_records_to_table("order_lines", columns=list(LINE_COLUMNS), records=scenario.lines())
        await db.execute("UPDATE products SET reserved = reserved + $1 WHERE sku = $2", scenario.expired, SKU)
        await db.execute("VACUUM ANALYZE orders")
        await db.execute("VACUUM ANALYZE order_lines")
        await db.execute("VACUUM ANALYZE products")
        await db.execute("CHECKPOINT")  # the load's dirty pages written now, not during the timed job
    finally:
        await db.close()
