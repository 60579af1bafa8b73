"""An SMTP sink on 127.0.0.1 that keeps every message it receives.

Usage::

    with SmtpServer() as smtp:
        send_mail(host=smtp.host, port=smtp.port, ...)     # code under test
        msg = smtp.wait_for(lambda m: m["To"] == "kupac@example.com")
        msg["Subject"], msg.get_body(("plain",)).get_content()
        smtp.clear()

aiosmtpd's ``Controller`` runs the server in its own thread and event loop,
so it works the same from sync tests, async tests (whatever their loop) and
benchmark scripts.  No auth, no TLS; SMTPUTF8 is on (Serbian names in
addresses) unless ``SmtpServer(smtputf8=False)``; ``refuse(address)`` answers
RCPT TO for that address with a 550, as a server does for a mailbox it does not
know.  Each message is parsed with ``email.policy.default`` into an
``EmailMessage``, with the SMTP envelope added as ``X-MailFrom`` and
``X-RcptTo`` headers (the envelope is what shows Bcc recipients).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from .ports import LOOPBACK, free_port

WAIT_S = 10.0
"""How long a test waits for a message: it comes in milliseconds; the margin is for a loaded machine
(two test workers, PostgreSQL and localstripe on two cores)."""


class _CollectingHandler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: ANN001
        refusal = self._server._refusals.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        message["X-MailFrom"] = envelope.mail_from
        message["X-RcptTo"] = ", ".join(envelope.rcpt_tos)
        self._server._add(message)
        return "250 Message accepted for delivery"


class SmtpServer:
    """Collects received mail in ``messages`` (a thread-safe snapshot list)."""

    def __init__(self, *, smtputf8: bool = True) -> None:
        self.host = LOOPBACK
        self._smtputf8 = smtputf8
        self.port: int | None = None
        self._messages: list[EmailMessage] = []
        self._refusals: dict[str, str] = {}
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        if self._controller is None:
            self.port = free_port()
            controller = Controller(_CollectingHandler(self), hostname=self.host, port=self.port,
                                    enable_SMTPUTF8=self._smtputf8)
            controller.start()  # returns once the server answers
            self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _add(self, message: EmailMessage) -> None:
        with self._changed:
            self._messages.append(message)
            self._changed.notify_all()

    @property
    def messages(self) -> list[EmailMessage]:
        """A copy of the messages received so far, oldest first."""
        with self._changed:
            return list(self._messages)

    def clear(self) -> None:
        """Forget the messages received and the recipients refused."""
        with self._changed:
            self._messages.clear()
            self._refusals.clear()

    def refuse(self, address: str, reply: str = "550 5.1.1 No such mailbox here") -> None:
        """Answer RCPT TO for `address` with `reply` from now on (until `clear`), as a real server
        does for a mailbox it does not know."""
        self._refusals[address] = reply

    def wait_for(
        self,
        predicate: Callable[[EmailMessage], bool] | None = None,
        timeout: float = WAIT_S,
    ) -> EmailMessage:
        """Return the first received message matching ``predicate`` (any
        message if None), waiting up to ``timeout`` seconds for it to arrive;
        raise ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (found := self._first(predicate)) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._not_received(timeout)
                self._changed.wait(remaining)
            return found

    async def wait_for_async(
        self,
        predicate: Callable[[EmailMessage], bool] | None = None,
        timeout: float = WAIT_S,
    ) -> EmailMessage:
        """Like :meth:`wait_for`, for async tests: polls without blocking the
        event loop (the code under test may be sending from that very loop)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                found = self._first(predicate)
                if found is not None:
                    return found
                if time.monotonic() >= deadline:
                    raise self._not_received(timeout)
            await asyncio.sleep(0.02)

    def _first(self, predicate: Callable[[EmailMessage], bool] | None) -> EmailMessage | None:
        """Under the lock. Each header read parses the header again (``email.policy.default``):
        a poll costs as much as the messages it reads, hence ``clear`` between tests."""
        return next((message for message in self._messages if predicate is None or predicate(message)), None)

    def _not_received(self, timeout: float) -> TimeoutError:
        return TimeoutError(f"no matching message within {timeout}s; received "
                            f"{[message['Subject'] for message in self._messages]}")
