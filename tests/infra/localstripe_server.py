"""A private localstripe (fake Stripe API) on 127.0.0.1 for tests.

Usage::

    with LocalStripe() as ls:            # or ls = LocalStripe().start() ... ls.stop()
        ls.api_base                      # "http://127.0.0.1:PORT" (no trailing slash)
        ls.secret_key                    # "sk_test_localstripe" (any "sk_..." works)
        ls.register_webhook("http://127.0.0.1:APP_PORT/stripe/webhook", "whsec_test")
        ls.reset()                       # drop all Stripe objects (webhooks stay)

Why a subprocess with a runner script (``_run_localstripe.py``): localstripe
keeps global state in its module, binds all interfaces, and pickles its store
to the fixed path ``/tmp/localstripe.pickle``, reloading it on start.  The
runner binds 127.0.0.1 only, starts empty and sends the pickle to a private
temp file (or nowhere, ``persist=False``), so parallel or earlier runs cannot
leak into a test.  It also exits by itself if its parent dies.

Verified call sequences (localstripe 1.15.10, stripe-python 16.1)
------------------------------------------------------------------
Client.  ``stripe.HTTPXClient()`` is async-only by default; pass
``allow_sync_methods=True`` to also use the sync methods.  Close it
(``http_client.close()`` / ``await http_client.close_async()``), or pytest's
``filterwarnings=error`` turns the unclosed-socket ResourceWarning into a
failure::

    http_client = stripe.HTTPXClient(allow_sync_methods=True)
    client = stripe.StripeClient(ls.secret_key, base_addresses={"api": ls.api_base},
                                 http_client=http_client)

Every POST through ``HTTPXClient`` makes httpx warn ``DeprecationWarning: Use
'content=<...>' to upload raw bytes/text content.``; under ``-W error`` stripe
reports that as ``APIConnectionError`` ("Network error: A DeprecationWarning
was raised").  The pytest config needs the filter
``"ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"``.

Async: the same calls with ``_async`` (``create_async``, ``confirm_async``...).

Success (two steps; the way to go, see the decline notes)::

    pi = client.v1.payment_intents.create(params={
        "amount": 1000, "currency": "rsd", "metadata": {"order_id": "x"}})
    # pi.status == "requires_payment_method", pi.client_secret is set
    pm = client.v1.payment_methods.create(params={"type": "card", "card": {
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
    client.v1.payment_intents.update(pi.id, params={"payment_method": pm.id})
    # -> "requires_confirmation"
    pi = client.v1.payment_intents.confirm(pi.id)           # -> "succeeded"

* ``confirm(id, params={"payment_method": ...})`` is NOT implemented
  (HTTP 500 ``APIError: Not implemented``): set the method on create or
  update, then confirm without params.
* One call also works: ``create(params={..., "payment_method": pm.id,
  "confirm": True})``.  Stripe's test ids ``"pm_card_visa"``,
  ``"pm_card_chargeCustomerFail"`` (declines on charge) and
  ``"pm_card_visa_chargeDeclined"`` are accepted wherever a PaymentMethod id is.
* PaymentIntent create accepts only amount, currency, customer,
  payment_method, metadata, payment_method_types, capture_method,
  payment_method_options, confirm, off_session.  ``description``,
  ``receipt_email``, ``statement_descriptor``, ``automatic_payment_methods``
  are rejected (400 ``InvalidRequestError: Unexpected ...``).
* ``capture_method="manual"``: confirm gives "requires_capture", then
  ``client.v1.payment_intents.capture(pi.id)`` gives "succeeded".
* ``pi.latest_charge`` comes back as an expanded Charge object (real Stripe:
  an id string unless expanded): read ``getattr(lc, "id", lc)``.
  ``amount_received`` is absent.  ``payment_intents.search`` is 404.
  Idempotency keys are ignored (a retried create makes a second intent).
* 3-D Secure is not needed: 4242... never requires action.  (Cards
  4000002500003155, 4000002760003184, 4000000000003220, ... would give
  "requires_action"; completing that needs localstripe's private
  ``/v1/payment_intents/{id}/_authenticate`` endpoint.)

Decline (card 4000000000000341, or ``"pm_card_chargeCustomerFail"``)::

    bad = client.v1.payment_methods.create(params={"type": "card", "card": {
        "number": "4000000000000341", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
    pi = client.v1.payment_intents.create(params={
        "amount": 1000, "currency": "rsd", "payment_method": bad.id})
    client.v1.payment_intents.confirm(pi.id)   # raises stripe.CardError,
                                               # e.code == "card_declined", HTTP 402
    pi = client.v1.payment_intents.retrieve(pi.id)
    # pi.status == "requires_payment_method",
    # pi.last_payment_error.code == "card_declined"

* With create+confirm in one call the CardError does not carry the intent's
  id (localstripe's error has only code and charge), though the intent
  exists: create first, then confirm.
* A declined intent cannot be retried in localstripe (update to a good card
  and confirm gives 400 "Bad request"): cancel it and create a new one.
* 4000000000000002 and similar are declined only when *attached* to a
  customer, not when charged; use ...0341 for a charge decline.

Refund (only for a succeeded payment)::

    refund = client.v1.refunds.create(params={"payment_intent": pi.id})
    # refund.status == "succeeded", refund.amount == full amount
    client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 300,
                                     "metadata": {"order_id": "x"}})   # partial

* ``reason`` is rejected (400 "Unexpected reason").  localstripe does not
  stop refunding more than was paid.  A failed payment: 400 "Cannot refund a
  failed payment."  No webhook event is sent for refunds.

Cancel (status requires_payment_method / requires_confirmation /
requires_action / requires_capture; a succeeded intent gives 400)::

    pi = client.v1.payment_intents.cancel(pi.id)    # pi.status == "canceled"

* ``cancellation_reason`` is rejected (400 "Unexpected cancellation_reason").

Webhooks::

    ls.register_webhook("http://127.0.0.1:PORT/stripe/webhook", "whsec_test",
                        events=["payment_intent.succeeded",
                                "payment_intent.payment_failed"])  # events optional
    # in the receiver, with the raw body and the "Stripe-Signature" header:
    event = stripe.Webhook.construct_event(payload, sig_header, "whsec_test")
    event.type                       # "payment_intent.succeeded"
    event.data.object.id             # the PaymentIntent id
    event.data.object.metadata["order_id"]

* ``register_webhook`` is ``POST /_config/webhooks/<id>`` with form fields
  ``url``, ``secret`` and optionally ``events[]``; re-registering an id
  replaces it.
* Delivery is a POST with JSON body and ``Stripe-Signature: t=...,v1=...``,
  about 1.0-1.5 s after the API call (localstripe sleeps 1 s first), sent
  once, no retries; the receiver must be a real server on a port (an
  in-process ASGI test client cannot receive it).
* Event types sent: ``payment_intent.succeeded``,
  ``payment_intent.payment_failed`` (also on a decline), not
  ``payment_intent.canceled`` nor refund/charge events.  ``event.api_version``
  is "2017-08-15".  Events are also listed by ``client.v1.events.list()``.
* ``t=`` is the real wall clock: under time-machine travel, pass
  ``tolerance=None`` (or a large one) to ``construct_event``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .ports import LOOPBACK, free_port

_RUNNER = Path(__file__).with_name("_run_localstripe.py")


class LocalStripe:
    """localstripe in a subprocess on 127.0.0.1:``port`` with a private state.

    ``persist=False`` keeps localstripe's store in memory only (localstripe
    re-pickles the whole store after every write, which gets slower as the
    store grows); by default it goes to ``state_file`` in a private temp dir,
    handy for post-mortem inspection while the server runs.
    """

    secret_key = "sk_test_localstripe"
    publishable_key = "pk_test_localstripe"

    def __init__(self, persist: bool = True, start_timeout: float = 20.0) -> None:
        self.persist = persist
        self.start_timeout = start_timeout
        self.host = LOOPBACK
        self.port: int | None = None
        self.base_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_base(self) -> str:
        """``http://127.0.0.1:PORT`` -- for ``base_addresses={"api": ...}``."""
        assert self.port is not None, "server not started"
        return f"http://{self.host}:{self.port}"

    @property
    def state_file(self) -> Path | None:
        return self.base_dir / "localstripe.pickle" if self.persist and self.base_dir else None

    @property
    def log_file(self) -> Path:
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "localstripe.log"

    def start(self) -> LocalStripe:
        if self.process is not None:
            return self
        self.base_dir = Path(tempfile.mkdtemp(prefix="shop-localstripe-"))
        self.port = free_port()
        atexit.register(self.stop)
        # Output goes to a file, not a pipe: nobody reads a pipe while the
        # server runs, and a full pipe would block it.
        with open(self.log_file, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(_RUNNER), str(self.port), str(self.state_file or "")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        request = urllib.request.Request(
            f"{self.api_base}/v1/events?limit=1",
            headers={"Authorization": "Bearer sk_test_x"},
        )
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"localstripe exited with code {self.process.returncode} "
                    f"before answering:\n{self._output()}"
                )
            try:
                with urllib.request.urlopen(request, timeout=1):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer means it is serving
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"localstripe did not answer on {self.api_base} within "
                    f"{self.start_timeout:.0f}s:\n{self._output()}"
                )
            time.sleep(0.05)

    def _output(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate (then kill after 5 s) our subprocess, by its PID, and
        delete the temp dir. Safe to call twice."""
        atexit.unregister(self.stop)
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None

    def __enter__(self) -> LocalStripe:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- localstripe's /_config API ------------------------------------------

    def _config(self, method: str, path: str, fields: list[tuple[str, str]] | None = None) -> None:
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        request = urllib.request.Request(f"{self.api_base}{path}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=10):
            pass

    def register_webhook(
        self,
        url: str,
        secret: str,
        webhook_id: str = "shop",
        events: list[str] | None = None,
    ) -> None:
        """Send events to ``url``, signed with ``secret`` (``whsec_...``).

        Registering the same ``webhook_id`` again replaces it; ``events``
        limits delivery to those event types (default: all).
        """
        fields = [("url", url), ("secret", secret)]
        fields += [("events[]", event) for event in events or ()]
        self._config("POST", f"/_config/webhooks/{urllib.parse.quote(webhook_id, safe='')}", fields)

    def reset(self) -> None:
        """Forget all Stripe objects (``DELETE /_config/data``); registered
        webhooks stay."""
        self._config("DELETE", "/_config/data")
