"""A perk's life on one device: the `PERK` lifecycle (shop.domain.machine) and the clock's part in it.

A bundle is made when a qualifying KZ order line is paid and confirmed, one per device (P-1), with
one perk per entry of its terms edition (shop.domain.perks). Each perk is created:
- `open` when it starts from the purchase (KZ-4.3 … KZ-4.7),
- `waiting_for_activation` when it starts from the device's activation in Kazakhstan (KZ-4.1, 4.2),
- `not_available` when its window had passed at purchase, with the reason and clause (P-2).

The device's activation moves a waiting perk to `activated` (it opens after its wait, KZ-4.1 ii:
14 days; KZ-4.2: 1 day) or, outside Kazakhstan, to `not_available` (KZ-1). An open perk is used once:
`redeemed` (a one-time service code, P-4; the one free screen or free-labour repair, KZ-4.6, 4.7).
What is not used by its last moment (`lapses_at`) is `expired`; withdrawal or return of the device,
or the order's cancellation after confirmation, `revoked` it (P-3).

The clock moves a perk twice without anyone asking: `activated` → `open` at `opens_at`, and
any state still waiting or open → `expired` after `lapses_at`. `due_event` says which step is due at
an instant; reads show the state as of now (`state_at`), writes fire the due step first, and
`make sweep` records the steps the clock has taken.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from shop.domain.calendar import as_utc, in_time
from shop.domain.machine import Lifecycle, Step


class PerkState(StrEnum):
    WAITING_FOR_ACTIVATION = "waiting_for_activation"
    ACTIVATED = "activated"
    OPEN = "open"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    REVOKED = "revoked"
    NOT_AVAILABLE = "not_available"


P = PerkState
UNUSED = (P.WAITING_FOR_ACTIVATION, P.ACTIVATED, P.OPEN)
"""The states of a perk not used yet: the clock may lapse it, a return revokes it (P-3)."""

PERK_STEPS: tuple[Step[PerkState], ...] = (
    Step("grant", (), P.OPEN, "P-1",
         "the line is paid and confirmed: a perk that starts from the purchase is open at once"),
    Step("grant", (), P.WAITING_FOR_ACTIVATION, "P-1",
         "the line is paid and confirmed: a perk that starts from the device's activation waits for it"),
    Step("grant", (), P.NOT_AVAILABLE, "P-1",
         "its window had passed on the day of purchase: listed as not available, with the reason and "
         "the clause that refuses it (P-2)"),
    Step("activate", (P.WAITING_FOR_ACTIVATION,), P.ACTIVATED, "KZ-1",
         "the device was activated in Kazakhstan: the perk opens after its wait (KZ-4.1 ii: 14 days, "
         "KZ-4.2: 1 day)"),
    Step("activated_abroad", (P.WAITING_FOR_ACTIVATION,), P.NOT_AVAILABLE, "KZ-1",
         "the device was activated outside Kazakhstan: the perks that start from activation are not given"),
    Step("open", (P.ACTIVATED,), P.OPEN, "T-1",
         "the wait after activation is over (00:00 Almaty time of the next day): the perk can be used"),
    Step("redeem", (P.OPEN,), P.REDEEMED, "P-4",
         "used once: a one-time service code sent (KZ-4.1, KZ-4.2) or the one repair it gives done "
         "(KZ-4.6, KZ-4.7)"),
    Step("expire", UNUSED, P.EXPIRED, "P-2",
         "its last moment passed unused (activate by, use by): it lapses by the clock"),
    Step("revoke", UNUSED, P.REVOKED, "P-3",
         "the device was withdrawn or returned, or its order cancelled: an unused perk is revoked"),
)

PERK: Lifecycle[PerkState] = Lifecycle(
    "perk", PerkState, PERK_STEPS,
    initial=(P.OPEN, P.WAITING_FOR_ACTIVATION, P.NOT_AVAILABLE),
    final=(P.REDEEMED, P.EXPIRED, P.REVOKED, P.NOT_AVAILABLE),
)


def due_event(state: PerkState | str, *, opens_at: datetime | None, lapses_at: datetime | None,
              now: datetime) -> str | None:
    """The step the clock has due for a perk at `now`: `expire` once `lapses_at` is past (a deadline
    includes its last instant: T-2, `in_time`), `open` once an activated perk's `opens_at` has come,
    else None. Expiry wins: a perk that would open after its last moment never opens."""
    state = PerkState(state)
    if state in UNUSED and lapses_at is not None and not in_time(now, lapses_at):
        return "expire"
    if state is P.ACTIVATED and opens_at is not None and as_utc(now) >= as_utc(opens_at):
        return "open"
    return None


def state_at(state: PerkState | str, *, opens_at: datetime | None, lapses_at: datetime | None,
             now: datetime) -> PerkState:
    """The state a perk is in at `now`, the clock's due steps taken (at most two: open, expire)."""
    current = PerkState(state)
    while (event := due_event(current, opens_at=opens_at, lapses_at=lapses_at, now=now)) is not None:
        current = PERK.fire(current, event).to_state
    return current
