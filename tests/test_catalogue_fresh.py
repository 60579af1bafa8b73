"""The catalogue shows true stock at once (RS-V.5.6): on SQLite it serves its rows again while the
database is unchanged, so every way the stock changes must show in the very next read — an order in
this process, staff's count, and a commit by another process (expire-payments releasing units)."""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import make_url

from tests.ops_support import set_stock
from tests.support import order_body

CHARGER = "rs-charger-67w"


async def in_stock(shop, sku: str = CHARGER) -> int:
    products = (await shop.http.get("/api/v1/products", params={"market": "RS"})).json()
    return next(p["in_stock"] for p in products if p["sku"] == sku)


async def test_the_catalogue_shows_an_order_s_units_held_at_once_RS_V_5_6(shop):
    await set_stock(shop, CHARGER, 10)
    assert await in_stock(shop) == 10 and await in_stock(shop) == 10  # read, then served again

    await shop.place(await shop.customer(), order_body(lines=[(CHARGER, 3)]))

    assert await in_stock(shop) == 7


async def test_the_catalogue_shows_staff_s_count_at_once_RS_V_5_6(shop):
    await set_stock(shop, CHARGER, 10)
    assert await in_stock(shop) == 10

    await set_stock(shop, CHARGER, 4)

    assert await in_stock(shop) == 4


async def test_the_catalogue_shows_another_process_s_commit_at_once_RS_V_5_6(shop, database_url):
    """Another connection to the same database (as `make expire-payments` is) commits a change."""
    await set_stock(shop, CHARGER, 10)
    assert await in_stock(shop) == 10

    if database_url.startswith("sqlite"):
        with sqlite3.connect(make_url(database_url).database) as other:
            other.execute("UPDATE products SET on_hand = 6 WHERE sku = ?", (CHARGER,))
    else:
        import asyncpg

        other = await asyncpg.connect(database_url)
        try:
            await other.execute("UPDATE products SET on_hand = 6 WHERE sku = $1", CHARGER)
        finally:
            await other.close()

    assert await in_stock(shop) == 6
