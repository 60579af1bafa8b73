"""The floor: the shop's work done by a bare Litestar app with the same SQL statements, written out as
text and, for orders and webhooks, run on the driver itself (sqlite3 or asyncpg: `Raw`), on a
connection from the same pool with the same engine settings (shop.adapters.db: one inline SQLite
connection and the same pragmas, or asyncpg), in the same transactions, plus the same Stripe call
(to the same stub, on aiohttp like the shop's Stripe SDK, outside the transaction). The expiry floor
runs its statements through SQLAlchemy Core `text()` (a batch's ids bound as the shop binds them).
No ORM, no domain code, no validation beyond what the statements need; the checks that are part of
the job stay (JWT bearer on orders, the Stripe-Signature HMAC on webhooks). Orders go through a
Litestar route handler, webhooks through a bare ASGI handler, as in the shop.

The statements are those tests/bench/capture.py records for the shop (`python -m tests.bench.capture`):
placing a card order is 1 read outside a transaction, the Stripe call, then 8 statements in a second
transaction (the shop answers from the rows it just wrote, so nothing is read back); applying
`payment_intent.succeeded` is 4 statements in one transaction; an expire-payments batch is 6. Orders
and payments that arrive while earlier ones are in the database share the next transaction, with the
same statements written for several rows (the shop's group commit, shop.adapters.group_commit, which
the floor uses as it is).

    python -m tests.bench.floor serve PORT                 (DATABASE_URL, STRIPE_API_BASE, SHOP_SECRET_KEY, STRIPE_WEBHOOK_SECRET)
    python -m tests.bench.floor expire --now ISO --log F   (DATABASE_URL; prints one JSON line)
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import jwt
from litestar import Litestar, Request, Response, asgi, get, post
from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send
from sqlalchemy import String, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from tests.bench.floor_engine import create_engine
from shop.adapters.group_commit import GroupCommit
from shop.services.checkout import ORDERS_AT_ONCE  # batches as the shop's

# --- the statements (as the shop sends them; `FOR UPDATE` and `RETURNING id` where it does) --------


def statements(postgres: bool) -> dict[str, Any]:
    # a batch's ids as the shop binds them: one array on PostgreSQL, an expanded IN on SQLite
    among = "= ANY(:ids)" if postgres else "IN :ids"
    ids = bindparam("ids", type_=ARRAY(String)) if postgres else bindparam("ids", expanding=True)
    returning = " RETURNING {}.id" if postgres else ""
    s = {
        "product": "SELECT products.sku, products.market, products.name, products.model, products.category, "
                   "products.price_minor, products.currency, products.vat_rate, products.on_hand, products.reserved, "
                   "products.max_per_customer, products.returnable, products.requires_imei, "
                   "products.delivery_methods, products.set_items, CASE WHEN (products.on_hand - products.reserved > 0) "
                   "THEN products.on_hand - products.reserved ELSE 0 END AS available, (SELECT coalesce(sum("
                   "order_lines.quantity), 0) AS units FROM order_lines WHERE order_lines.customer_id = :customer AND "
                   "order_lines.sku = products.sku AND order_lines.state <> 'cancelled') AS ordered, (SELECT "
                   "max(technical_interruptions.ends_at) FROM technical_interruptions WHERE "
                   "technical_interruptions.market = products.market AND technical_interruptions.state != "
                   "'called_off' AND technical_interruptions.starts_at <= :now AND technical_interruptions.ends_at > "
                   ":now) AS interrupted_until FROM products WHERE products.sku = :sku",
        "reserve": "UPDATE products SET reserved=(products.reserved + :q) WHERE products.sku = :sku AND "
                   "products.on_hand - products.reserved >= :q",
        "order": "INSERT INTO orders (id, number, customer_id, market, state, payment_method, currency, "
                 "items_minor, delivery_minor, total_minor, vat_minor, terms_version, delivery, coupon_code, f_code, "
                 "placed_at, payment_due_at, expected_delivery_on, paid_at, confirmed_at, shipped_at, delivered_at, "
                 "cancelled_at, carrier, tracking_number, payment_intent_id, client_secret) VALUES (:id, :number, "
                 ":customer, :market, :state, :payment_method, :currency, :items, :delivery_minor, :total, :vat, "
                 ":terms, :delivery, :coupon, :f_code, :placed, :due, :expected, NULL, NULL, NULL, NULL, NULL, NULL, "
                 "NULL, :pi, :secret)",
        "line": "INSERT INTO order_lines (order_id, customer_id, sku, name, model, category, quantity, unit_price_minor, "
                "vat_rate, requires_imei, returnable, set_items, state, imeis) VALUES (:order_id, :customer, :sku, "
                ":name, :model, :category, :q, :price, :vat_rate, :requires_imei, :returnable, :set_items, :state, :imeis)"
                + returning.format("order_lines"),
        "payment_event_row": "INSERT INTO payment_events (fact_key, kind, order_id, payment_intent_id, amount_minor, "
                         "currency, occurred_at, recorded_at, flagged) VALUES (:fact_key, :kind, :order_id, :pi, "
                         ":amount, :currency, :occurred, :recorded, :flagged)",
        "timeline": "INSERT INTO order_timeline (order_id, at, from_state, to_state, event, actor, reason, clause) "
                    "VALUES (:order_id, :at, :from_state, :to_state, :event, :actor, :reason, :clause)"
                    + returning.format("order_timeline"),
        "outbox": "INSERT INTO outbox_emails (created_at, claimed_until, sent_at, attempts, last_error, order_id, "
                  "\"to\", subject, body, kind, message_id, accepted_at) VALUES (:created, :claimed, NULL, 0, NULL, "
                  ":order_id, :to, :subject, :body, :kind, :message_id, NULL)" + returning.format("outbox_emails"),
        # Idempotency-Key (a keyed order): read with the product ("product_and_answer", below: a LEFT
        # JOIN, as shop.adapters.stores.offers reads it), written with the order
        "idempotency_write": "INSERT INTO idempotency_records (scope, key, request_hash, resource_id, status_code, "
                             "body, created_at) VALUES (:scope, :key, :hash, :resource, :status, :body, :created)",
        # the catalogue
        "catalogue": "SELECT products.sku, products.market, products.name, products.model, products.category, "
                     "products.price_minor, products.currency, products.vat_rate, products.max_per_customer, "
                     "products.returnable, products.delivery_methods, products.set_items, CASE WHEN "
                     "(products.on_hand - products.reserved > 0) THEN products.on_hand - products.reserved ELSE 0 "
                     "END AS available FROM products WHERE products.market = :market ORDER BY products.sku",
        # payment_intent.succeeded (with batch_statements)
        "pay": "UPDATE orders SET state=:state, paid_at=:at WHERE orders.id = :id",
        "timeline_entry": "INSERT INTO order_timeline (order_id, at, from_state, to_state, event, actor, reason, "
                          "clause) VALUES (:order_id, :at, :from_state, :to_state, :event, :actor, :reason, :clause)",
        # expire-payments, one batch
        "claim": "UPDATE orders SET state=:to_state, cancelled_at=:now WHERE orders.id IN (SELECT orders.id FROM orders "
                 "WHERE orders.state = :awaiting AND orders.payment_due_at < :now ORDER BY orders.payment_due_at "
                 "LIMIT :limit" + (" FOR UPDATE SKIP LOCKED" if postgres else "") + ") AND orders.state = :awaiting "
                 "RETURNING orders.id, orders.number, orders.payment_due_at",
        "expiry_timeline": text("INSERT INTO order_timeline (order_id, at, from_state, to_state, event, actor, "
                                "clause, reason) SELECT orders.id, :at, :from_state, :to_state, :event, :actor, "
                                ":clause, :reason || " + (
                                    "to_char(orders.payment_due_at, 'YYYY-MM-DD\"T\"HH24\\:MI\\:SS\"Z\"')" if postgres
                                    else "strftime('%Y-%m-%dT%H:%M:%SZ', orders.payment_due_at)")
                                + " FROM orders WHERE orders.id " + among).bindparams(ids),
        "held": text("SELECT order_lines.sku, sum(order_lines.quantity) AS sum_1 FROM order_lines WHERE "
                     "order_lines.order_id " + among + " AND order_lines.state != :cancelled GROUP BY order_lines.sku"
                     ).bindparams(ids),
        "release": "UPDATE products SET reserved=(products.reserved - :q) WHERE products.sku = :sku",
        "lines_cancelled": text("UPDATE order_lines SET state=:cancelled WHERE order_lines.order_id " + among
                                + " AND order_lines.state = :ordered").bindparams(ids),
        # The shop's wording has the order's number twice in the subject and the body (the local
        # language, then English; T-5), chosen by the order's market: here the RS wording only.
        "notices": text("INSERT INTO outbox_emails (order_id, \"to\", subject, body, kind, created_at, attempts, "
                        "message_id) "
                        "SELECT orders.id, users.email, :s0 || orders.number || :s1 || orders.number || :s2 AS anon_1, "
                        ":b0 || orders.number || :b1 || orders.number || :b2 AS anon_2, :kind AS anon_3, "
                        ":now AS anon_4, 0 AS anon_5, orders.id || :dot || :token AS anon_6 "
                        "FROM orders JOIN users ON users.id = orders.customer_id "
                        "WHERE orders.id " + among).bindparams(ids),
        "stripe_commands": text("INSERT INTO stripe_commands (kind, payment_intent_id, order_id, created_at, attempts) "
                                "SELECT :kind, orders.payment_intent_id, orders.id, :now, 0 FROM orders WHERE "
                                "orders.id " + among + " AND orders.payment_intent_id IS NOT NULL"
                                ).bindparams(ids),
    }
    s["product_and_answer"] = s["product"].replace(  # type: ignore[union-attr]
        " AS interrupted_until FROM products WHERE",
        " AS interrupted_until, earlier.scope AS earlier_scope, earlier.key AS earlier_key, earlier.request_hash AS "
        "earlier_request_hash, earlier.resource_id AS earlier_resource_id, earlier.status_code AS "
        "earlier_status_code, earlier.body AS earlier_body, earlier.created_at AS earlier_created_at FROM products "
        "LEFT OUTER JOIN idempotency_records AS earlier ON earlier.scope = :scope AND earlier.key = :key WHERE", 1)
    assert s["product_and_answer"] != s["product"], "the product statement no longer reads as expected"
    return {name: statement if not isinstance(statement, str) else text(statement) for name, statement in s.items()}


_FACT = ("fact_key", "kind", "order_id", "pi", "amount", "currency", "occurred", "recorded", "flagged")


_NAME = re.compile(r"(?<![:\w]):(\w+)")


def _rows_of(single: str, count: int, returning: str) -> Any:
    """A one-row INSERT … VALUES (…) of `statements` as `count` rows (`:name_0` …), as the shop's
    Statements.insert_rows sends it."""
    head, values = single.split(" VALUES ", 1)
    values = values.split(" RETURNING ")[0]
    return text(head + " VALUES " + ", ".join(_NAME.sub(lambda m: f":{m.group(1)}_{i}", values)
                                              for i in range(count)) + returning)


def _together(inserts: list[Any]) -> Any:
    """INSERTs as one statement, as the shop's former shop.adapters.prepared wrote them (`_together_sql`): each a WITH query
    (its parameters `:p{part}_{name}`), then each one's new ids, in the order of the parts and ids."""
    queries = [f"part_{part} AS ({_NAME.sub(lambda m, part=part: f':p{part}_{m.group(1)}', insert.text)})"
               for part, insert in enumerate(inserts)]
    answers = [f"SELECT {part} AS part, {'CAST(NULL AS BIGINT)' if part == 0 else 'id'} AS new_id, "
               f"CAST(NULL AS TEXT) AS key FROM part_{part}" for part in range(len(inserts))]
    return text(f"WITH {', '.join(queries)} {' UNION ALL '.join(answers)} ORDER BY part, new_id")


@functools.cache
def batch_statements(count: int, postgres: bool) -> dict[str, Any]:
    """A batch of `count` payments or orders, as the shop's group commit sends it
    (shop.services.payments, shop.services.checkout)."""
    lock = " FOR UPDATE" if postgres else ""
    single = statements(postgres)
    s = {
        "orders_locked": text("SELECT orders.id, orders.state, orders.total_minor, orders.currency, "
                              "orders.payment_intent_id FROM orders WHERE orders.id IN ("
                              + ", ".join(f":id_{i}" for i in range(count)) + ") ORDER BY orders.id" + lock),
        "record_once": text("INSERT INTO payment_events (fact_key, kind, order_id, payment_intent_id, amount_minor, "
                            "currency, occurred_at, recorded_at, flagged) VALUES "
                            + ", ".join("(" + ", ".join(f":{name}_{i}" for name in _FACT) + ")" for i in range(count))
                            + " ON CONFLICT (fact_key) DO NOTHING RETURNING " + ", ".join(
                                (f"payment_events.{name}" if postgres else name) for name in (
                                    "id", "fact_key", "kind", "order_id", "payment_intent_id", "amount_minor",
                                    "currency", "occurred_at", "recorded_at", "flagged"))),
        "customers_locked": text("SELECT users.id, users.email FROM users WHERE users.id IN ("
                                 + ", ".join(f":customer_{i}" for i in range(count)) + ") ORDER BY users.id" + lock),
        "ordered": text(" UNION ALL ".join(
            f"SELECT CAST(:customer_{i} AS INTEGER) AS customer_id, CAST(:sku_{i} AS VARCHAR) AS sku, (SELECT coalesce(sum("
            f"order_lines.quantity), 0) AS units FROM order_lines WHERE order_lines.customer_id = :customer_{i} AND "
            f"order_lines.sku = :sku_{i} AND order_lines.state <> 'cancelled') AS units"
            for i in range(count))),
        "orders": _rows_of(single["order"].text, count, " RETURNING orders.id"),
        "lines": _rows_of(single["line"].text, count, " RETURNING order_lines.id, order_lines.order_id"),
        "timeline": _rows_of(single["timeline"].text, count, " RETURNING order_timeline.id"),
        "outbox": _rows_of(single["outbox"].text, count, " RETURNING outbox_emails.id"),
    }
    if postgres:  # the shop's Statements.insert_together: the five INSERTs in one statement
        s["together"] = _together([s["orders"], s["lines"], s["timeline"],
                                   _rows_of(single["payment_event_row"].text, count, " RETURNING payment_events.id"),
                                   s["outbox"]])
    if postgres:
        _POSITIONAL.update({statement: Raw.positional(statement.text) for statement in s.values()})
    return s


class Values:
    """Python values as each driver binds them (the shop's types do the same conversions)."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def instant(self, value: datetime) -> Any:  # UTCDateTime: naive UTC
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return naive if self.postgres else naive.strftime("%Y-%m-%d %H:%M:%S.%f")

    def day(self, value: date) -> Any:
        return value if self.postgres else value.isoformat()

    def instant_from_db(self, value: Any) -> datetime:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


# --- the web floor -----------------------------------------------------------------------------------


class Raw:
    """The driver itself, as bare as it gets: sqlite3 takes the statements' `:name` parameters as
    written, asyncpg takes them as `$1…` (translated once per statement). Rows come back as dicts;
    no SQLAlchemy between the endpoint and the database."""

    _NAME = re.compile(r"(?<![:\w]):(\w+)")

    def __init__(self, driver: Any, postgres: bool) -> None:
        self.driver, self.postgres = driver, postgres

    @classmethod
    def positional(cls, sql: str) -> tuple[str, tuple[str, ...]]:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        return cls._NAME.sub(number, sql), tuple(names)

    async def rows(self, statement: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.postgres:
            sql, names = _POSITIONAL[statement]
            return [dict(record) for record in await self.driver.fetch(sql, *(params[n] for n in names))]
        cursor = self.driver.execute(statement.text, params)
        columns = [column[0] for column in cursor.description or ()]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]

    async def run(self, statement: Any, params: dict[str, Any]) -> int:
        """Rows changed (SQLite) or the command tag's count (PostgreSQL)."""
        if self.postgres:
            sql, names = _POSITIONAL[statement]
            status = await self.driver.execute(sql, *(params[n] for n in names))
            return int(status.rsplit(" ", 1)[-1])
        return self.driver.execute(statement.text, params).rowcount  # type: ignore[no-any-return]

    async def run_many(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        """executemany: one round trip on PostgreSQL."""
        if self.postgres:
            sql, names = _POSITIONAL[statement]
            await self.driver.executemany(sql, [tuple(params[n] for n in names) for params in rows])
        else:
            self.driver.executemany(statement.text, rows)

    async def insert_id(self, statement: Any, params: dict[str, Any]) -> int:
        """The new row's id: `RETURNING … id` on PostgreSQL, sqlite3's lastrowid on SQLite."""
        if self.postgres:
            return (await self.rows(statement, params))[0]["id"]  # type: ignore[no-any-return]
        return self.driver.execute(statement.text, params).lastrowid  # type: ignore[no-any-return]


_POSITIONAL: dict[Any, tuple[str, tuple[str, ...]]] = {}


@asynccontextmanager
async def raw(engine: AsyncEngine, *, begin: bool = False) -> AsyncIterator[Raw]:
    """The pool's connection, as the shop takes it (tests/bench/floor_engine.py: the engine settings the shop had,
    the one inline SQLite connection), then only the driver: in a transaction when `begin`, each
    statement on its own otherwise (as the shop's `driver_reads`)."""
    pooled = await greenlet_spawn(engine.sync_engine.pool.connect)
    postgres = engine.dialect.name == "postgresql"
    driver = pooled.driver_connection if postgres else pooled.driver_connection.sqlite
    try:
        if postgres and begin:
            async with driver.transaction():
                yield Raw(driver, postgres)
        else:
            try:
                yield Raw(driver, postgres)
            except BaseException:
                if not postgres:
                    driver.rollback()
                raise
            if not postgres:
                driver.commit()
    finally:
        await greenlet_spawn(pooled.close)


def build_app() -> Litestar:
    engine = create_engine(os.environ["DATABASE_URL"])
    postgres = engine.dialect.name == "postgresql"
    sql, v = statements(postgres), Values(postgres)
    if postgres:
        _POSITIONAL.update({statement: Raw.positional(statement.text) for statement in sql.values()})
    secret_key = os.environ["SHOP_SECRET_KEY"]
    webhook_secret = os.environ["STRIPE_WEBHOOK_SECRET"].encode()
    stripe_key = os.environ.get("STRIPE_SECRET_KEY", "sk_test_bench")
    holder: dict[str, aiohttp.ClientSession] = {}
    group_commit = GroupCommit()

    def customer_of(request: Request[Any, Any, Any]) -> int:
        header = request.headers.get("authorization", "")
        try:
            return int(jwt.decode(header.removeprefix("Bearer "), secret_key, algorithms=["HS256"])["sub"])
        except Exception as error:  # noqa: BLE001 - any bad token is a 401
            raise _unauthorized() from error

    @post("/api/v1/orders", status_code=201)
    async def place(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        customer = customer_of(request)
        body = await request.json()
        line = body["lines"][0]
        sku, quantity = line["sku"], int(line["quantity"])
        key = request.headers.get("idempotency-key")
        claim = None if key is None else {
            "scope": f"{customer} POST /orders", "key": key,
            "hash": hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()}
        async with raw(engine) as db:  # the shop's read (no transaction): the key's answer with the product
            facts = {"sku": sku, "customer": customer, "now": v.instant(datetime.now(UTC))}
            if claim is None:
                product, = await db.rows(sql["product"], facts)
            else:
                product, = await db.rows(sql["product_and_answer"], {**facts, "scope": claim["scope"], "key": key})
                if product["earlier_status_code"] is not None:
                    body = product["earlier_body"]
                    return Response(json.loads(body) if isinstance(body, str) else body,
                                    status_code=product["earlier_status_code"])
        if product["interrupted_until"] is not None:  # RS-IV.4, as the shop
            return Response({"code": "technical_interruption"}, status_code=503)
        if int(product["ordered"]) + quantity > product["max_per_customer"]:
            return Response({"code": "max_per_customer"}, status_code=409)
        items = product["price_minor"] * quantity
        delivery_minor = 0 if items >= 1_000_000 else 39_000
        total = items + delivery_minor
        vat = round(total * 20 / 120)
        order_id = str(uuid.uuid4())
        stripe = holder.get("stripe")
        if stripe is None:
            stripe = holder["stripe"] = aiohttp.ClientSession(
                base_url=os.environ["STRIPE_API_BASE"], timeout=aiohttp.ClientTimeout(total=80))
        async with stripe.post("/v1/payment_intents", data={
            "amount": str(total), "currency": product["currency"].lower(), "metadata[order_id]": order_id,
        }, headers={"Authorization": f"Bearer {stripe_key}", "Idempotency-Key": f"order:{order_id}:intent"}) as answer:
            if answer.status != 200:
                return Response({"code": "payment_provider_unavailable"}, status_code=503)
            intent = await answer.json()
        now = datetime.now(UTC)
        due = now + timedelta(hours=2)
        expected = now.date() + timedelta(days=3)
        number = f"RS{now:%y%m%d}-{secrets.token_hex(6).upper()}"
        delivery = body["delivery"]
        customer_actor = f"customer:{customer}"
        subject = f"Order {number} received"
        body_text = (f"We received your order {number} for {total / 100:.2f} {product['currency']}.\n"
                     f"Please pay by {due:%Y-%m-%d %H:%M} UTC (RS-V.1: unpaid orders are cancelled after 2 "
                     "hours).\nYou may cancel it until we tell you that delivery has started (RS-IV.5).\n")
        line_id = await group_commit.submit("orders", write_orders, {
            "customer": customer, "sku": sku, "quantity": quantity, "most": product["max_per_customer"],
            "claim": claim, "created": v.instant(now),
            "order": {
                "id": order_id, "number": number, "customer": customer, "market": "RS", "state": "awaiting_payment",
                "payment_method": "card", "currency": product["currency"], "items": items,
                "delivery_minor": delivery_minor, "total": total, "vat": vat, "terms": body["terms_version"],
                "delivery": json.dumps(delivery), "coupon": None, "f_code": None, "placed": v.instant(now),
                "due": v.instant(due), "expected": v.day(expected), "pi": intent["id"],
                "secret": intent["client_secret"]},
            "line": {
                "order_id": order_id, "customer": customer, "sku": sku, "name": product["name"],
                "model": product["model"], "category": product["category"], "q": quantity,
                "price": product["price_minor"], "vat_rate": "0.2",
                "requires_imei": bool(product["requires_imei"]), "returnable": bool(product["returnable"]),
                "set_items": "[]", "state": "ordered", "imeis": "[]"},
            "fact": {
                "fact_key": f"{intent['id']}:created", "kind": "payment_intent.created", "order_id": order_id,
                "pi": intent["id"], "amount": total, "currency": product["currency"], "occurred": v.instant(now),
                "recorded": v.instant(now), "flagged": None},
            "entry": {
                "order_id": order_id, "at": v.instant(now), "from_state": None, "to_state": "awaiting_payment",
                "event": "place", "actor": customer_actor, "reason": "terms 2025-12-18 accepted",
                "clause": "RS-IV.1"},
            "email": {
                "created": v.instant(now), "claimed": v.instant(now + timedelta(minutes=5)), "order_id": order_id,
                "subject": subject, "body": body_text, "kind": "order_received",
                "message_id": f"{order_id}.{secrets.token_hex(8)}"},
        }, most=ORDERS_AT_ONCE)
        money = {"currency": product["currency"]}
        stamp = now.replace(microsecond=0).isoformat().replace("+00:00", "Z")
        return Response({
            "id": order_id, "number": number, "market": "RS", "state": "awaiting_payment",
            "payment_method": "card", "terms_version": body["terms_version"],
            "lines": [{"id": line_id, "sku": sku, "name": product["name"], "model": product["model"],
                       "quantity": quantity, "unit_price": {"amount_minor": product["price_minor"], **money},
                       "vat_rate": "0.2", "state": "ordered", "imeis": [], "returnable": bool(product["returnable"]),
                       "set_items": []}],
            "items": {"amount_minor": items, **money}, "delivery_charge": {"amount_minor": delivery_minor, **money},
            "vat": {"amount_minor": vat, **money}, "total": {"amount_minor": total, **money},
            "delivery": delivery, "placed_at": stamp,
            "payment_due_at": due.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "expected_delivery_on": expected.isoformat(), "delivered_at": None, "carrier": None,
            "tracking_number": None, "deadlines": [], "refunds": [], "invoices": [], "perks": [],
            "timeline": [{"at": stamp, "from_state": None, "to_state": "awaiting_payment", "event": "place",
                          "actor": customer_actor, "reason": "terms 2025-12-18 accepted", "clause": "RS-IV.1"}],
            "payment": {"provider": "stripe", "payment_intent_id": intent["id"],
                        "client_secret": intent["client_secret"]},
        }, status_code=201)

    async def write_orders(offers: list[dict[str, Any]]) -> list[int]:
        """The shop's write transaction for orders that arrive together (its group commit)."""
        def rows(name: str) -> dict[str, Any]:
            return {f"{key}_{i}": value for i, offer in enumerate(offers) for key, value in offer[name].items()}

        batch = batch_statements(len(offers), postgres)
        customers = sorted({offer["customer"] for offer in offers})
        pairs = list(dict.fromkeys((offer["customer"], offer["sku"]) for offer in offers))
        async with raw(engine, begin=True) as db:
            emails = {row["id"]: row["email"] for row in await db.rows(
                batch_statements(len(customers), postgres)["customers_locked"],
                {f"customer_{i}": customer for i, customer in enumerate(customers)})}
            units = {(row["customer_id"], row["sku"]): int(row["units"]) for row in await db.rows(
                batch_statements(len(pairs), postgres)["ordered"],
                {**{name: value for i, (customer, sku) in enumerate(pairs)
                    for name, value in ((f"customer_{i}", customer), (f"sku_{i}", sku))}})}
            for offer in offers:
                if units[offer["customer"], offer["sku"]] + offer["quantity"] > offer["most"]:
                    raise RuntimeError("max_per_customer")
                units[offer["customer"], offer["sku"]] += offer["quantity"]
            for offer in offers:
                offer["email"]["to"] = emails[offer["customer"]]
            if postgres:
                parts = ("order", "line", "entry", "fact", "email")
                new = await db.rows(batch["together"], {f"p{part}_{name}": value for part, kind in enumerate(parts)
                                                        for name, value in rows(kind).items()})
                line_ids = dict(zip((offer["order"]["id"] for offer in offers),
                                    (row["new_id"] for row in new if row["part"] == 1)))
            else:
                await db.rows(batch["orders"], rows("order"))
                line_ids = {row["order_id"]: row["id"] for row in await db.rows(batch["lines"], rows("line"))}
                await db.run_many(sql["payment_event_row"], [offer["fact"] for offer in offers])
                await db.rows(batch["timeline"], rows("entry"))
                await db.rows(batch["outbox"], rows("email"))
            keyed = [offer for offer in offers if offer["claim"] is not None]
            if keyed:  # the key's answer in the order's transaction, as the shop keeps it
                await db.run_many(sql["idempotency_write"], [{
                    **offer["claim"], "resource": offer["order"]["id"], "status": 201, "created": offer["created"],
                    "body": json.dumps({**offer["order"], "line_id": line_ids[offer["order"]["id"]],
                                        "line": offer["line"], "entry": offer["entry"]}, default=str)}
                    for offer in keyed])
            wanted: dict[str, int] = {}
            for offer in offers:
                wanted[offer["sku"]] = wanted.get(offer["sku"], 0) + offer["quantity"]
            for sku, quantity in sorted(wanted.items()):  # last, as the shop
                if await db.run(sql["reserve"], {"q": quantity, "sku": sku}) != 1:
                    raise RuntimeError("out_of_stock")
        return [line_ids[offer["order"]["id"]] for offer in offers]

    @asgi("/api/v1/webhooks/stripe", is_mount=False, copy_scope=False)
    async def webhook(scope: Scope, receive: Receive, send: Send) -> None:
        """A bare ASGI handler, as the shop's (shop/web/stripe_webhook.py): the body, one header, JSON out."""
        payload = b""
        while True:
            message = await receive()
            payload += message.get("body", b"")
            if not message.get("more_body", False):
                break
        signature = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"stripe-signature"), "")
        status, result = await apply_payment(payload, signature)
        await ASGIResponse(body=json.dumps({"received": True, "result": result} if status == 200
                                           else {"code": result}).encode(),
                           status_code=status, media_type="application/json")(scope, receive, send)

    async def apply_payment(payload: bytes, signature: str) -> tuple[int, str]:
        if not verified(payload, signature, webhook_secret):
            return 400, "invalid_signature"
        return 200, await group_commit.submit("payments", apply_payments, json.loads(payload))

    async def apply_payments(events: list[dict[str, Any]]) -> list[str]:
        """The shop's statements for payment_intent.succeeded events that arrive together (its group
        commit, shop.adapters.group_commit, which the floor uses as it is)."""
        intents = [event["data"]["object"] for event in events]
        now = v.instant(datetime.now(UTC))
        ids = sorted({intent["metadata"]["order_id"] for intent in intents})
        batch = batch_statements(len(ids), postgres)
        async with raw(engine, begin=True) as db:
            found = await db.rows(batch["orders_locked"], {f"id_{i}": order_id for i, order_id in enumerate(ids)})
            orders = {order["id"]: order for order in found}
            facts: dict[str, dict[str, Any]] = {}
            for event, intent in zip(events, intents):
                order = orders.get(intent["metadata"]["order_id"])
                facts.setdefault(f"{intent['id']}:succeeded", {
                    "fact_key": f"{intent['id']}:succeeded", "kind": event["type"],
                    "order_id": order["id"] if order else None, "pi": intent["id"], "amount": intent["amount"],
                    "currency": intent["currency"].upper(),
                    "occurred": v.instant(datetime.fromtimestamp(event["created"], UTC)), "recorded": now,
                    "flagged": None if order else "unknown_order"})
            written = {row["fact_key"] for row in await db.rows(
                batch_statements(len(facts), postgres)["record_once"],
                {f"{name}_{i}": value for i, fact in enumerate(facts.values()) for name, value in fact.items()})}
            outcomes, paying = [], []
            for intent in intents:
                order = orders.get(intent["metadata"]["order_id"])
                if f"{intent['id']}:succeeded" not in written:
                    outcomes.append("duplicate")
                elif order is None:
                    outcomes.append("flagged")
                elif order["state"] == "awaiting_payment":
                    written.discard(f"{intent['id']}:succeeded")
                    paying.append((order["id"], intent["id"]))
                    outcomes.append("paid")
                else:
                    outcomes.append("recorded")
            if paying:
                await db.run_many(sql["pay"], [{"state": "paid", "at": now, "id": order_id} for order_id, _ in paying])
                await db.run_many(sql["timeline_entry"], [{
                    "order_id": order_id, "at": now, "from_state": "awaiting_payment", "to_state": "paid",
                    "event": "pay", "actor": "stripe", "reason": f"PaymentIntent {intent_id} succeeded",
                    "clause": "RS-V.1"} for order_id, intent_id in paying])
        return outcomes

    # The issue's yardstick: "a bare Litestar endpoint under uvicorn, one worker, that commits one
    # SQLite insert per request serves about 3,400 requests/s at concurrency 16" (issue 3), measured
    # here on both databases: one INSERT committed on its own (`/yardstick/1`: one round trip on
    # PostgreSQL) and in a transaction as the shop's writes are (`/yardstick/3`: BEGIN, INSERT, COMMIT).
    # On SQLite the two are the same work: sqlite3 begins the transaction itself before the INSERT.
    yardstick_insert = text("INSERT INTO bench_yardstick (at, note) VALUES (:at, :note)"
                            + (" RETURNING bench_yardstick.id" if postgres else ""))
    _POSITIONAL[yardstick_insert] = Raw.positional(yardstick_insert.text)

    @post("/yardstick/{statements:int}", status_code=201)
    async def yardstick(statements: int, request: Request[Any, Any, Any]) -> dict[str, int]:
        note = str((await request.json())["note"])
        async with raw(engine, begin=statements == 3) as db:
            return {"id": await db.insert_id(yardstick_insert, {"at": v.instant(datetime.now(UTC)), "note": note})}

    async def create_yardstick_table() -> None:
        key = "id bigserial PRIMARY KEY" if postgres else "id INTEGER PRIMARY KEY"
        async with engine.begin() as db:
            await db.execute(text(f"CREATE TABLE IF NOT EXISTS bench_yardstick ({key}, at TIMESTAMP NOT NULL, "
                                  "note VARCHAR(200) NOT NULL)"))

    async def close() -> None:
        if "stripe" in holder:
            await holder["stripe"].close()
        await engine.dispose()

    @get("/api/v1/products")
    async def products(market: str) -> list[dict[str, Any]]:
        async with raw(engine) as db:
            found = await db.rows(sql["catalogue"], {"market": market})
        return [{"sku": row["sku"], "name": row["name"], "model": row["model"], "market": row["market"],
                 "category": row["category"], "price": {"amount_minor": row["price_minor"], "currency": row["currency"]},
                 "vat_rate": row["vat_rate"], "in_stock": row["available"], "max_per_customer": row["max_per_customer"],
                 "returnable": bool(row["returnable"]), "delivery_methods": _json(row["delivery_methods"]),
                 "set_items": _json(row["set_items"])} for row in found]

    return Litestar(route_handlers=[place, webhook, yardstick, products], on_startup=[create_yardstick_table],
                    on_shutdown=[close], debug=False)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _unauthorized() -> Exception:
    from litestar.exceptions import NotAuthorizedException

    return NotAuthorizedException("invalid token")


def verified(payload: bytes, header: str, secret: bytes, tolerance: int = 300) -> bool:
    """What stripe.WebhookSignature.verify_header checks: an HMAC-SHA256 `v1` of `t.payload`, recent."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", "")) and abs(time.time() - timestamp) <= tolerance


# --- the expiry floor ----------------------------------------------------------------------------------


async def expire(url: str, now: datetime, log_path: str, batch_size: int = 2_000) -> dict[str, Any]:
    """expire-payments' database work, bare: per batch the claim (UPDATE … RETURNING), the timeline
    rows, the notices (INSERT … SELECT), the Stripe outbox rows and the stock release, one
    transaction each, as many at once as the job, and one line per cancelled order written out."""
    from shop.domain.markets import Market
    from shop.domain.notices import Cause, order_cancelled
    from shop.messages import render
    from shop.services.expiry import WORKERS_ON_POSTGRESQL

    engine = create_engine(url)
    postgres = engine.dialect.name == "postgresql"
    sql, v = statements(postgres), Values(postgres)
    mark = "\x00number\x00"
    notice = order_cancelled(Market.RS, mark, Cause.NOT_PAID_IN_TIME, "RS-V.1", None)
    subject, body = render(notice)
    wording = {**{f"s{i}": part for i, part in enumerate(subject.split(mark))},
               **{f"b{i}": part for i, part in enumerate(body.split(mark))}}
    at = v.instant(now)
    cancelled = 0

    async def cancel_batches(log: Any) -> None:
        nonlocal cancelled
        while True:
            async with engine.begin() as db:
                claimed = (await db.execute(sql["claim"], {"to_state": "cancelled", "now": at,
                                                           "awaiting": "awaiting_payment", "limit": batch_size})).all()
                if not claimed:
                    return
                ids = [row[0] for row in claimed]
                await db.execute(sql["expiry_timeline"], {
                    "at": at, "from_state": "awaiting_payment", "to_state": "cancelled", "event": "expire_payment",
                    "actor": "system:expire-payments", "clause": "RS-V.1", "reason": "not paid by ", "ids": ids})
                held = (await db.execute(sql["held"], {"ids": ids, "cancelled": "cancelled"})).all()
                await db.execute(sql["lines_cancelled"], {"ids": ids, "ordered": "ordered", "cancelled": "cancelled"})
                await db.execute(sql["notices"], {**wording, "kind": notice.kind, "now": at, "ids": ids,
                                                   "dot": ".", "token": secrets.token_hex(8)})
                await db.execute(sql["stripe_commands"], {"now": at, "kind": "cancel_payment_intent", "ids": ids})
                for sku, quantity in sorted(held):
                    await db.execute(sql["release"], {"q": quantity, "sku": sku})
            for order_id, number, due in claimed:
                log.write(f"cancelled {number} ({order_id}): not paid by "
                          f"{v.instant_from_db(due):%Y-%m-%dT%H:%M:%SZ} [RS-V.1]\n")
            cancelled += len(claimed)

    started = time.perf_counter()
    with open(log_path, "w") as log:  # as many batches at once as the job writes
        await asyncio.gather(*(cancel_batches(log) for _ in range(WORKERS_ON_POSTGRESQL if postgres else 1)))
    seconds = time.perf_counter() - started
    await engine.dispose()
    return {"cancelled": cancelled, "database_seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.floor")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("port", type=int)
    expiry = commands.add_parser("expire")
    expiry.add_argument("--now", required=True)
    expiry.add_argument("--log", required=True)
    args = parser.parse_args()
    if args.command == "serve":
        import uvicorn

        from tests.bench.stripe_stub import exit_with_parent

        exit_with_parent()
        uvicorn.run(build_app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    else:
        now = datetime.fromisoformat(args.now).astimezone(UTC)
        print(json.dumps(asyncio.run(expire(os.environ["DATABASE_URL"], now, args.log))))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
