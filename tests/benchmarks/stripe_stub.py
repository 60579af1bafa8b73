"""A Stripe-compatible stub for the benchmark: answers the three calls the shop makes, at once, so
the shop's own cost is what is measured. Run: python -m tests.benchmarks.stripe_stub PORT."""

from __future__ import annotations

import itertools
import json
import sys
from urllib.parse import parse_qs

import uvicorn

_ids = itertools.count(1)


async def app(scope, receive, send):  # noqa: ANN001 — a bare ASGI app
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
    path = scope["path"]
    n = next(_ids)
    if path == "/v1/payment_intents":
        answer = {"id": f"pi_bench_{n}", "object": "payment_intent", "client_secret": f"pi_bench_{n}_secret_x",
                  "status": "requires_payment_method", "amount": int(form.get("amount", 0)),
                  "currency": form.get("currency", "rsd"), "metadata": {}}
    elif path.endswith("/cancel"):
        answer = {"id": path.split("/")[3], "object": "payment_intent", "status": "canceled"}
    elif path == "/v1/refunds":
        answer = {"id": f"re_bench_{n}", "object": "refund", "status": "succeeded",
                  "amount": int(form.get("amount", 0))}
    else:
        answer = {"error": {"type": "invalid_request_error", "message": f"no route {path}"}}
    payload = json.dumps(answer).encode()
    await send({"type": "http.response.start", "status": 404 if "error" in answer else 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
