"""A Stripe-compatible stub for the benchmark: a bare ASGI app that answers, at once, the three calls
the shop makes through the official SDK (stripe-python 16), so that what is measured is the shop.

    POST /v1/payment_intents             -> a PaymentIntent in `requires_payment_method`
    POST /v1/payment_intents/{id}/cancel -> the PaymentIntent, `canceled`
    POST /v1/refunds                     -> a Refund, `succeeded`
    GET  /_stats                         -> {"payment_intents": n, "cancels": n, "refunds": n, "errors": n}
    GET  /                               -> {"ok": true} (readiness)

What the SDK sends (checked against .venv/.../stripe/_api_requestor.py): a form-encoded body
(`application/x-www-form-urlencoded`) with nested keys written `metadata[order_id]=…`,
`Authorization: Bearer sk_…`, an `Idempotency-Key` on every POST, `Stripe-Version`, and
`X-Stripe-Client-User-Agent`. What it expects back: a JSON object whose `object` names the resource
(it builds a `PaymentIntent`/`Refund` from it), a 2xx status, and on errors `{"error": {"type", "message"}}`
with a 4xx status (no retry unless 409/5xx or `Stripe-Should-Retry: true`). Real Stripe also sends
`Request-Id`, which the SDK echoes in its telemetry header on the next call: sent here too.

Run: python -m tests.bench.stripe_stub PORT   (127.0.0.1 only; exits when its parent goes away)."""

from __future__ import annotations

import itertools
import json
import os
import sys
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

_ids = itertools.count(1)
_stats: Counter[str] = Counter()
_JSON = [(b"content-type", b"application/json"), (b"stripe-version", b"2025-12-15.clover")]


def parse_form(body: bytes) -> dict[str, Any]:
    """Stripe's form encoding: `a=1&metadata[order_id]=x&items[0][price]=p` -> nested dicts."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        head, _, rest = key.partition("[")
        if not rest:
            out[key] = value
            continue
        node = out.setdefault(head, {})
        parts = rest.rstrip("]").split("][")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _intent(intent_id: str, form: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "id": intent_id, "object": "payment_intent", "client_secret": f"{intent_id}_secret_bench",
        "status": status, "amount": int(form.get("amount", 0) or 0), "currency": form.get("currency", "rsd"),
        "metadata": form.get("metadata", {}), "livemode": False, "created": int(time.time()),
        "capture_method": "automatic", "payment_method_types": ["card"],
        "cancellation_reason": form.get("cancellation_reason") if status == "canceled" else None,
    }


def answer(method: str, path: str, headers: dict[bytes, bytes], body: bytes) -> tuple[int, dict[str, Any]]:
    if method == "GET" and path == "/":
        return 200, {"ok": True}
    if method == "GET" and path == "/_stats":
        return 200, dict(_stats)
    if not headers.get(b"authorization", b"").startswith(b"Bearer sk_"):
        _stats["errors"] += 1
        return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
    form = parse_form(body) if body else {}
    n = next(_ids)
    if method == "POST" and path == "/v1/payment_intents":
        if "amount" not in form or "currency" not in form:
            _stats["errors"] += 1
            return 400, {"error": {"type": "invalid_request_error", "message": "Missing required param: amount."}}
        _stats["payment_intents"] += 1
        return 200, _intent(f"pi_bench{os.getpid()}x{n}", form, "requires_payment_method")
    if method == "GET" and path == "/v1/payment_intents":  # keeps none: expire-payments' orphan sweep finds none
        return 200, {"object": "list", "data": [], "has_more": False, "url": path}
    parts = path.split("/")  # ['', 'v1', 'payment_intents', id, 'cancel']
    if method == "POST" and len(parts) == 5 and parts[2] == "payment_intents" and parts[4] == "cancel":
        _stats["cancels"] += 1
        return 200, _intent(parts[3], form, "canceled")
    if method == "POST" and path == "/v1/refunds":
        _stats["refunds"] += 1
        return 200, {"id": f"re_bench{n}", "object": "refund", "status": "succeeded",
                     "amount": int(form.get("amount", 0) or 0), "currency": form.get("currency", "rsd"),
                     "payment_intent": form.get("payment_intent"), "metadata": form.get("metadata", {}),
                     "created": int(time.time())}
    _stats["errors"] += 1
    return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({method}: {path})"}}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    status, payload = answer(scope["method"], scope["path"], dict(scope["headers"]), b"".join(chunks))
    request_id = f"req_bench{next(_ids)}".encode()
    content = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        *_JSON, (b"request-id", request_id), (b"content-length", str(len(content)).encode())]})
    await send({"type": "http.response.body", "body": content})


def exit_with_parent() -> None:
    """Stop when the process that started us is gone (a killed benchmark leaves nothing behind)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == "__main__":
    import uvicorn

    exit_with_parent()
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
