"""The clock's part in the PERK lifecycle (shop.domain.perk_lifecycle), as pure domain: an activated
perk opens at `opens_at`; anything unused expires once `lapses_at` is past, its last instant still
in time (T-2); expiry wins over opening; used, revoked and unavailable perks stay as they are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shop.domain.perk_lifecycle import PerkState, due_event, state_at

OPENS = datetime(2025, 10, 16, 19, 0, tzinfo=UTC)  # 17.10.2025 00:00 Almaty
LAPSES = datetime(2025, 10, 31, 18, 59, 59, 999999, tzinfo=UTC)  # 31.10.2025 23:59:59.999999 Almaty
TICK = timedelta(microseconds=1)
P = PerkState


@pytest.mark.parametrize(("state", "now", "due", "then"), [
    (P.ACTIVATED, OPENS - TICK, None, P.ACTIVATED),
    (P.ACTIVATED, OPENS, "open", P.OPEN),
    (P.OPEN, LAPSES, None, P.OPEN),  # the deadline's last instant is in time (T-2)
    (P.OPEN, LAPSES + TICK, "expire", P.EXPIRED),
    (P.WAITING_FOR_ACTIVATION, LAPSES + TICK, "expire", P.EXPIRED),
    (P.ACTIVATED, LAPSES + TICK, "expire", P.EXPIRED),  # never opens after its last moment
    (P.REDEEMED, LAPSES + TICK, None, P.REDEEMED),
    (P.REVOKED, LAPSES + TICK, None, P.REVOKED),
    (P.NOT_AVAILABLE, LAPSES + TICK, None, P.NOT_AVAILABLE),
])
def test_the_clock_opens_and_lapses_perks_T_1_T_2_P_2(state, now, due, then):
    assert due_event(state, opens_at=OPENS, lapses_at=LAPSES, now=now) == due
    assert state_at(state, opens_at=OPENS, lapses_at=LAPSES, now=now) is then


def test_a_perk_without_a_last_moment_never_lapses():
    assert state_at(P.OPEN, opens_at=None, lapses_at=None, now=datetime(2099, 1, 1, tzinfo=UTC)) is P.OPEN
