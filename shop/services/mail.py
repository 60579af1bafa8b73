"""The e-mail outbox: queued with the change it announces, sent after the commit; what could not be
sent stays queued for the next attempt."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from shop.adapters.mailer import MessageRefused
from shop.adapters.stores.outbox import LEASE
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.notices import Notice
from shop.messages import render
from shop.services.context import ShopContext

log = logging.getLogger(__name__)


class QueuedEmail(Protocol):
    id: int | None
    to: str
    subject: str
    body: str
    message_id: str
    sent_at: datetime | None


def queue_notice(uow: UnitOfWork, order: Any, notice: Notice, now: datetime) -> Any:
    """Queue the e-mail in the caller's transaction; after the commit, `send_after_answer` sends it."""
    address = uow.outbox.address_of(order.customer_id)
    queued, = uow.outbox.queue_emails([notice_row(order.id, notice, now, address=address)])
    return queued


def notice_row(order_id: str, notice: Notice, now: datetime, *, address: str) -> dict[str, Any]:
    """The outbox row of an e-mail about the order, leased to the process that queues it (ours to
    send after the commit), with its Message-ID's unique part, the same for every attempt."""
    subject, body = render(notice)
    return {"order_id": order_id, "to": address, "subject": subject, "body": body,
            "kind": notice.kind, "created_at": now, "claimed_until": now + LEASE,
            "message_id": message_id(order_id)}


def message_id(order_id: str | None) -> str:
    """The unique part of an e-mail's Message-ID: the order it is about and 64 random bits."""
    return f"{order_id or 'shop'}.{secrets.token_hex(8)}"


def send_after_answer(ctx: ShopContext, emails: Sequence[QueuedEmail]) -> None:
    """Send e-mails just queued once the request has answered: the customer never waits on the SMTP
    server, and one that is slow or down cannot slow or fail an order. What is not sent stays in the
    outbox (for `make expire-payments`, which sends what is left)."""
    if emails and ctx.mailer.configured:
        ctx.background.start(send_emails(ctx, list(emails)), what=f"sending {len(emails)} e-mail(s)")


async def send_emails(ctx: ShopContext, emails: Sequence[QueuedEmail]) -> int:
    """Send e-mails this process queued (never another's: no double sending); returns how many
    went out. Without SMTP_HOST they stay queued."""
    return (await _send_in_turn(ctx, emails))[0]


Refused = Callable[[Any, str], None]
"""Told of an e-mail the SMTP server refused (its outbox row) and the server's answer."""


async def send_queued_emails(ctx: ShopContext, now: datetime, *, batch_size: int = 200,
                             on_refused: Refused | None = None) -> int:
    """Send every e-mail no other sender holds (queued by a job, or left by a failed attempt), until
    none is left or the SMTP server fails; one it refuses stays queued, held until its lease ends,
    `on_refused` is told of it, and the rest go on."""
    if not ctx.mailer.configured:
        return 0
    sent = 0
    while rows := await ctx.db.transaction(lambda uow: uow.outbox.lease_emails(now, batch_size)):
        batch_sent, server_unwell = await _send_in_turn(ctx, rows, on_refused)
        sent += batch_sent
        if server_unwell:
            break
    return sent


async def _send_in_turn(ctx: ShopContext, emails: Sequence[QueuedEmail],
                        on_refused: Refused | None = None) -> tuple[int, bool]:
    """Each e-mail not yet sent, one after another, each attempt recorded (sent, or its error for the
    next attempt): how many went out, and whether the server failed (then the rest wait; a message
    it refused does not hold up the others)."""
    if not ctx.mailer.configured:
        return 0, False
    sent = 0
    for email in (email for email in emails if email.sent_at is None):
        error, accepted_at, server_unwell = None, None, False
        try:
            await ctx.mailer.send(to=email.to, subject=email.subject, body=email.body, message_id=email.message_id)
            accepted_at = await ctx.now()  # the server has answered 250 to the message
            sent += 1
        except OSError as failure:  # smtplib's errors are OSErrors too
            error, server_unwell = str(failure)[:500], not isinstance(failure, MessageRefused)
            log.warning("e-mail %s to %s not sent: %s", email.id, email.to, failure)
            if not server_unwell and on_refused is not None:
                on_refused(email, error)
        await ctx.db.transaction(lambda uow: uow.outbox.mark_email(
            email.id, sent_at=None if error else uow.now(), accepted_at=accepted_at,  # type: ignore[arg-type]
            error=error))
        if server_unwell:
            return sent, True
    return sent, False
