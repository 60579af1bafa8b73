"""Failed logins, counted per e-mail and per client address, in the process (bounded memory).

Litestar's RateLimitConfig counts every request of a client, successful logins too, in fixed
windows of its own wall clock: a storefront logging in its customers from one address would be
throttled as an attacker is, and tests could not move its time. What is counted here is failures
only, on the shop's clock (`ctx.now`, so the test clock moves it).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shop.domain.errors import DomainError

WINDOW = timedelta(minutes=15)
FAILURES_PER_EMAIL = 5
FAILURES_PER_ADDRESS = 20
KEYS_KEPT = 10_000
"""E-mails and addresses remembered at once (the least recently failed forgotten first): a few MB."""


class TooManyAttempts(DomainError):
    status = 429
    title = "Too many attempts"

    def __init__(self, retry_after: int, field: str | None, what: str = "failed logins") -> None:
        super().__init__("too_many_attempts",
                         f"too many {what}; try again in {retry_after} seconds", field=field)
        self.retry_after = retry_after


@dataclass
class FailureCounter:
    """At most `most` failures of one key within `window`; the key's failures as a bounded deque."""

    most: int
    window: timedelta = WINDOW
    keys_kept: int = KEYS_KEPT
    _failures: OrderedDict[str, deque[datetime]] = field(default_factory=OrderedDict)

    def wait(self, key: str, now: datetime) -> int:
        """Seconds before `key` may try again (0: now)."""
        failures = self._failures.get(key)
        if failures is None or len(failures) < self.most:
            return 0
        free_at = failures[0] + self.window  # the oldest of the last `most` failures ages out
        return max(0, math.ceil((free_at - now).total_seconds()))

    def failed(self, key: str, now: datetime) -> None:
        failures = self._failures.pop(key, None) or deque(maxlen=self.most)
        failures.append(now)
        self._failures[key] = failures  # the most recent last
        while len(self._failures) > self.keys_kept:
            self._failures.popitem(last=False)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def clear(self) -> None:
        self._failures.clear()

    def __len__(self) -> int:
        return len(self._failures)


@dataclass
class LoginThrottle:
    per_email: FailureCounter = field(default_factory=lambda: FailureCounter(FAILURES_PER_EMAIL))
    per_address: FailureCounter = field(default_factory=lambda: FailureCounter(FAILURES_PER_ADDRESS))
    confirmations: FailureCounter = field(default_factory=lambda: FailureCounter(FAILURES_PER_EMAIL))
    """Wrong passwords confirming an account's erasure (RS-XII), per account (its e-mail): the holder of a token
    may not guess its password there either. Apart from logins, so a token's mistakes never lock
    its owner out of logging in, nor one address's customers out of theirs."""

    def check(self, email: str, address: str, now: datetime) -> None:
        """Refuses (429) an attempt for an e-mail or from an address with too many recent failures,
        before its password is looked at."""
        for counter, key, name in ((self.per_email, email, "email"), (self.per_address, address, None)):
            wait = counter.wait(key, now)
            if wait:
                raise TooManyAttempts(wait, field=name)

    def failed(self, email: str, address: str, now: datetime) -> None:
        self.per_email.failed(email, now)
        self.per_address.failed(address, now)

    def succeeded(self, email: str) -> None:
        """The account's owner got in: earlier failures for the e-mail are forgotten (the
        address's are not: one address trying many accounts stays counted)."""
        self.per_email.forget(email)

    def check_confirmation(self, account: str, now: datetime) -> None:
        """Refuses (429) a confirmation for an account with too many recent wrong passwords."""
        wait = self.confirmations.wait(account, now)
        if wait:
            raise TooManyAttempts(wait, field="password")

    def clear(self) -> None:
        self.per_email.clear()
        self.per_address.clear()
        self.confirmations.clear()


NOTICE_WINDOW = timedelta(hours=1)
NOTICES_PER_EMAIL = 5
NOTICES_PER_ADDRESS = 20


@dataclass
class NoticeThrottle:
    """Notices of illegal content (RS-XIII 12.5) come from anyone, with no account, and each sends
    its receipt to the e-mail address it gives: without a bound, a way to make the shop mail any
    address. At most `NOTICES_PER_EMAIL` an hour to one address and `NOTICES_PER_ADDRESS` from one
    client; every notice received counts."""

    per_email: FailureCounter = field(
        default_factory=lambda: FailureCounter(NOTICES_PER_EMAIL, window=NOTICE_WINDOW))
    per_address: FailureCounter = field(
        default_factory=lambda: FailureCounter(NOTICES_PER_ADDRESS, window=NOTICE_WINDOW))

    def check(self, email: str, address: str, now: datetime) -> None:
        """Refuses (429) a notice to an e-mail or from a client with too many within the hour."""
        for counter, key, name in ((self.per_email, email, "email"), (self.per_address, address, None)):
            wait = counter.wait(key, now)
            if wait:
                raise TooManyAttempts(wait, field=name, what="notices")

    def received(self, email: str, address: str, now: datetime) -> None:
        self.per_email.failed(email, now)
        self.per_address.failed(address, now)

    def clear(self) -> None:
        self.per_email.clear()
        self.per_address.clear()
