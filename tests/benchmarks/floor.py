"""The floor: a bare Litestar app doing the shop's work with the same SQL statements written out by
hand (SQLAlchemy Core `text()` on the same async driver), no domain code, no ORM, no validation.
Run: DATABASE_URL=… STRIPE_API_BASE=… python -m tests.benchmarks.floor PORT."""

from __future__ import annotations

import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from litestar import Litestar, Request, post
from sqlalchemy import text

from shop.adapters.db import create_engine

engine = create_engine(os.environ["DATABASE_URL"])
stripe = httpx.AsyncClient(base_url=os.environ["STRIPE_API_BASE"])
LOCK = " FOR UPDATE" if engine.dialect.name == "postgresql" else ""


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@post("/orders", status_code=201)
async def place(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body = await request.json()
    customer = int(request.headers["x-customer"])
    sku, quantity = body["lines"][0]["sku"], body["lines"][0]["quantity"]
    async with engine.connect() as db:  # the shop's read transaction
        product = (await db.execute(text("SELECT sku, price_minor, currency, name, model, category, on_hand, reserved,"
                                          " max_per_customer FROM products WHERE sku IN (:sku)"), {"sku": sku})).one()
        await db.execute(text("SELECT order_lines.sku, sum(order_lines.quantity) FROM order_lines JOIN orders ON "
                              "orders.id = order_lines.order_id WHERE orders.customer_id = :c AND orders.state != "
                              "'cancelled' AND order_lines.state != 'cancelled' AND order_lines.sku IN (:sku) "
                              "GROUP BY order_lines.sku"), {"c": customer, "sku": sku})
    order_id = str(uuid.uuid4())
    intent = (await stripe.post("/v1/payment_intents", data={"amount": product.price_minor * quantity,
                                                              "currency": "rsd", "metadata[order_id]": order_id})).json()
    at = now()
    total = product.price_minor * quantity + 39_000
    async with engine.begin() as db:  # the shop's write transaction
        await db.execute(text("SELECT users.id FROM users WHERE users.id = :c" + LOCK), {"c": customer})
        await db.execute(text("SELECT order_lines.sku, sum(order_lines.quantity) FROM order_lines JOIN orders ON "
                              "orders.id = order_lines.order_id WHERE orders.customer_id = :c AND orders.state != "
                              "'cancelled' AND order_lines.state != 'cancelled' AND order_lines.sku IN (:sku) "
                              "GROUP BY order_lines.sku"), {"c": customer, "sku": sku})
        await db.execute(text("UPDATE products SET reserved = reserved + :q WHERE sku = :sku AND "
                              "on_hand - reserved >= :q"), {"q": quantity, "sku": sku})
        await db.execute(text(
            "INSERT INTO orders (id, number, customer_id, market, state, payment_method, currency, items_minor, "
            "delivery_minor, total_minor, vat_minor, terms_version, delivery, placed_at, payment_due_at, "
            "expected_delivery_on, payment_intent_id, client_secret) VALUES (:id, :number, :c, 'RS', "
            "'awaiting_payment', 'card', 'RSD', :items, 39000, :total, :vat, '2025-12-18', :delivery, :at, :due, "
            ":expected, :pi, :secret)"),
            {"id": order_id, "number": order_id[:18], "c": customer, "items": total - 39_000, "total": total,
             "vat": total // 6, "delivery": json.dumps(body["delivery"]), "at": at, "due": at + timedelta(hours=2),
             "expected": at.date(), "pi": intent["id"], "secret": intent["client_secret"]})
        await db.execute(text(
            "INSERT INTO order_lines (order_id, sku, name, model, category, quantity, unit_price_minor, vat_rate, "
            "requires_imei, returnable, set_items, state, imeis) VALUES (:o, :sku, :name, :model, :cat, :q, :p, "
            "'0.20', false, true, '[]', 'ordered', '[]')"),
            {"o": order_id, "sku": sku, "name": product.name, "model": product.model, "cat": product.category,
             "q": quantity, "p": product.price_minor})
        await db.execute(text("INSERT INTO order_timeline (order_id, at, from_state, to_state, event, actor, reason, "
                              "clause) VALUES (:o, :at, NULL, 'awaiting_payment', 'place', :actor, 'terms', "
                              "'RS-IV.1')"), {"o": order_id, "at": at, "actor": f"customer:{customer}"})
        await db.execute(text("INSERT INTO payment_events (fact_key, kind, order_id, payment_intent_id, amount_minor,"
                              " currency, occurred_at, recorded_at) VALUES (:k, 'payment_intent.created', :o, :pi, "
                              ":total, 'RSD', :at, :at)"),
                         {"k": f"{intent['id']}:created", "o": order_id, "pi": intent["id"], "total": total, "at": at})
        email = (await db.execute(text("SELECT users.email FROM users WHERE users.id = :c"), {"c": customer})).scalar()
        await db.execute(text("INSERT INTO outbox_emails (order_id, \"to\", subject, body, kind, created_at, "
                              "claimed_until, attempts) VALUES (:o, :to, 'Order received', 'body', 'order_received',"
                              " :at, :at, 0)"), {"o": order_id, "to": email, "at": at})
    async with engine.connect() as db:  # the shop's answer
        order = (await db.execute(text("SELECT * FROM orders WHERE orders.id = :o"), {"o": order_id})).mappings().one()
        lines = (await db.execute(text("SELECT * FROM order_lines WHERE order_id = :o ORDER BY id"), {"o": order_id})).mappings().all()
        timeline = (await db.execute(text("SELECT * FROM order_timeline WHERE order_id = :o ORDER BY id"), {"o": order_id})).mappings().all()
        await db.execute(text("SELECT * FROM refunds WHERE order_id = :o ORDER BY created_at"), {"o": order_id})
    return {"id": order["id"], "state": order["state"], "lines": [dict(line) for line in lines],
            "timeline": len(timeline), "payment": {"payment_intent_id": intent["id"]},
            "total": {"amount_minor": total, "currency": "RSD"}}


@post("/webhook", status_code=200)
async def webhook(request: Request[Any, Any, Any]) -> dict[str, Any]:
    event = json.loads(await request.body())
    intent = event["data"]["object"]
    at = now()
    async with engine.begin() as db:  # the shop's statements for payment_intent.succeeded
        order = (await db.execute(text("SELECT * FROM orders WHERE orders.id = :o" + LOCK),
                                  {"o": intent["metadata"]["order_id"]})).mappings().one()
        seen = (await db.execute(text("SELECT id FROM payment_events WHERE fact_key = :k"),
                                 {"k": f"{intent['id']}:succeeded"})).first()
        if seen is None:
            await db.execute(text("INSERT INTO payment_events (fact_key, kind, order_id, payment_intent_id, "
                                  "amount_minor, currency, occurred_at, recorded_at) VALUES (:k, "
                                  "'payment_intent.succeeded', :o, :pi, :a, 'RSD', :at, :at)"),
                             {"k": f"{intent['id']}:succeeded", "o": order["id"], "pi": intent["id"],
                              "a": intent["amount"], "at": at})
            await db.execute(text("UPDATE orders SET state = 'paid', paid_at = :at WHERE id = :o"),
                             {"o": order["id"], "at": at})
            await db.execute(text("INSERT INTO order_timeline (order_id, at, from_state, to_state, event, actor, "
                                  "reason, clause) VALUES (:o, :at, 'awaiting_payment', 'paid', 'pay', 'stripe', "
                                  "'succeeded', 'RS-V.1')"), {"o": order["id"], "at": at})
    return {"received": True, "result": "paid"}


app = Litestar(route_handlers=[place, webhook], debug=False)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
