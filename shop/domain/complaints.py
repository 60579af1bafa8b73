"""Complaints (RS-X): the `COMPLAINT` lifecycle and its rules as plain functions.

A complaint about a product, the contract or the service (RS-X.1) comes on the web shop, by e-mail,
by phone or by post, never through a social network; staff record those that came by e-mail, phone
or post with the moment they were received. It states the complainant's name, an e-mail address for
an electronic answer or a postal address for a written one, a detailed description and
justification, the order number where there is one, and the remedy wanted (RS-X.2). It is
`received`, then `answered` within 8 days of its receipt (RS-X.3: a seller's deadline, counted as
T-1 counts one: from the next local day, to the end of the last, rolled to a working day).

Decisions: the KZ terms are silent on complaints, so a KZ order's complaint is handled by the same
rules, its deadline in Almaty's calendar; a complaint names its market (an order's is its order's).
An answer sent by e-mail is e-mailed by the shop; a written one is posted by staff, and the shop
records it. A late answer is still an answer: it is shown as late, never refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shop.domain.calendar import deadline_after_days, in_time
from shop.domain.errors import InvalidInput
from shop.domain.machine import Lifecycle, Step
from shop.domain.markets import Market

ANSWER_DAYS = 8  # RS-X.3


class ComplaintState(StrEnum):
    RECEIVED = "received"
    ANSWERED = "answered"


class Channel(StrEnum):
    """RS-X.1: the ways a complaint may come in."""

    WEB = "web"  # the customer's own, on the web shop, received when it arrives
    EMAIL = "email"
    PHONE = "phone"
    POST = "post"


STAFF_CHANNELS = (Channel.EMAIL, Channel.PHONE, Channel.POST)
"""The channels staff record a complaint from (the web shop's come in by themselves)."""


class About(StrEnum):
    """RS-X.1: what a complaint may be about."""

    PRODUCT = "product"
    CONTRACT = "contract"
    SERVICE = "service"


class AnswerBy(StrEnum):
    """RS-X.2: an electronic answer to an e-mail address, or a written one to a postal address."""

    EMAIL = "email"
    POST = "post"


COMPLAINT_STEPS: tuple[Step[ComplaintState], ...] = (
    Step("receive", (), ComplaintState.RECEIVED, "RS-X.1",
         "a complaint about a product, the contract or the service, received on the web, by e-mail, phone "
         "or post (never a social network), stating what RS-X.2 asks"),
    Step("answer", (ComplaintState.RECEIVED,), ComplaintState.ANSWERED, "RS-X.3",
         "staff answer it, due within 8 days of its receipt: by e-mail, or in writing by post (RS-X.2)"),
)

COMPLAINT: Lifecycle[ComplaintState] = Lifecycle(
    "complaint", ComplaintState, COMPLAINT_STEPS, initial=(ComplaintState.RECEIVED,),
    final=(ComplaintState.ANSWERED,),
)


@dataclass(frozen=True)
class Complainant:
    """Who complains and where the answer goes (RS-X.2)."""

    name: str
    answer_by: AnswerBy
    email: str | None = None
    postal_address: str | None = None


def staff_channel(channel: str) -> Channel:
    """RS-X.1: staff record complaints that came by e-mail, phone or post; a social network is not a
    channel for complaints (nor is any other)."""
    if channel not in {c.value for c in STAFF_CHANNELS}:
        raise InvalidInput("complaint_channel_not_accepted",
                           "complaints are taken by phone, e-mail, the web shop or post, not via social networks"
                           if channel != Channel.WEB else "a web complaint is the customer's own (POST /complaints)",
                           clause="RS-X.1", field="channel")
    return Channel(channel)


def check_complainant(who: Complainant) -> None:
    """RS-X.2: a name and surname, and the address the chosen answer goes to."""
    if len(who.name.split()) < 2:
        raise InvalidInput("complainant_name_incomplete", "a complaint states the complainant's name and surname",
                           clause="RS-X.2", field="name")
    if who.answer_by == AnswerBy.EMAIL and not who.email:
        raise InvalidInput("complaint_email_missing", "an electronic answer needs an e-mail address",
                           clause="RS-X.2", field="email")
    if who.answer_by == AnswerBy.POST and not (who.postal_address or "").strip():
        raise InvalidInput("complaint_address_missing", "a written answer needs a postal address",
                           clause="RS-X.2", field="postal_address")


def check_statement(description: str, remedy: str) -> None:
    """RS-X.2: a detailed description and justification, and the remedy wanted."""
    if not description.strip():
        raise InvalidInput("complaint_description_missing", "describe the complaint and what justifies it",
                           clause="RS-X.2", field="description")
    if not remedy.strip():
        raise InvalidInput("complaint_remedy_missing", "say what remedy you want", clause="RS-X.2", field="remedy")


def answer_due_by(received_at: datetime, market: Market) -> datetime:
    """RS-X.3: the answer is due within 8 days of receipt (the seller's deadline, T-1: rolled to the
    end of the next working day when the 8th is none)."""
    return deadline_after_days(received_at, ANSWER_DAYS, market)


def check_received_at(received_at: datetime, now: datetime) -> None:
    """A complaint staff record was received at a moment that has come."""
    if received_at > now:
        raise InvalidInput("received_at_in_future", "received_at may not lie in the future", field="received_at")


def answered_late(answered_at: datetime | None, due_by: datetime) -> bool:
    """RS-X.3: an answer given after its deadline (no answer yet is not late: `make sweep` lists an
    unanswered complaint past its deadline)."""
    return answered_at is not None and not in_time(answered_at, due_by)
