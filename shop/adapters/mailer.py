"""Sends the e-mail outbox over SMTP (standard library smtplib, in a worker thread)."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage

log = logging.getLogger(__name__)


class MessageRefused(OSError):
    """The SMTP server refused this one message, not the shop: its recipient (RCPT answered 5xx or
    4xx, a mailbox unknown or full), its content (DATA answered 5xx), or an address it cannot carry
    (non-ASCII, SMTPUTF8 not offered). The next e-mail may still go; this one is tried again later."""


class SmtpMailer:
    def __init__(self, *, host: str, port: int, sender: str) -> None:
        self.host, self.port, self.sender = host, port, sender

    @property
    def configured(self) -> bool:
        return bool(self.host)

    async def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        """Returns once the server has accepted the message (its 250 after DATA)."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message["Message-ID"] = self.message_id_header(message_id)
        message.set_content(body)
        await asyncio.to_thread(self._send, message)

    def message_id_header(self, message_id: str) -> str:
        """`<unique part@the sender's domain>` (RFC 5322 3.6.4): the outbox row's `message_id` makes it
        unique, and the same on every attempt to send that row."""
        return f"<{message_id}@{self.sender.rpartition('@')[2] or 'localhost'}>"

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            try:
                smtp.send_message(message)
            except smtplib.SMTPRecipientsRefused as refused:
                if any(code == 421 for code, _ in refused.recipients.values()):  # the server closing
                    raise
                raise MessageRefused(f"recipient refused: {refused.recipients}") from refused
            except smtplib.SMTPDataError as refused:
                if refused.smtp_code < 500:
                    raise
                raise MessageRefused(f"message refused: {refused.smtp_code} {refused.smtp_error!r}") from refused
            except smtplib.SMTPNotSupportedError as refused:
                raise MessageRefused(str(refused)) from refused
