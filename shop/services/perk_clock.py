"""The clock's steps on perks recorded (`make expire-perks`, P-2, T-1): a perk activated opens at its
`opens_at`, an unused one expires after its `lapses_at`. Reads show those steps as of now already
(`state_at`); this job writes them, with their timeline entries by actor `clock`, so the stored
state, `make sweep` and reports agree.

In batches, each in its own transaction: the perks whose step is due are claimed with their orders
(on PostgreSQL skipping rows another run or a use case holds, so two runs at once never take the same
perk) and caught up (`catch_up`, the same function every use case fires first). A perk caught up is no
longer due: a second run finds nothing to do. Perks still waiting for a device activation that is
recorded (one reported at the very moment its device shipped) get it applied too (KZ-1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shop.adapters.background import all_together
from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.calendar import as_utc
from shop.domain.perk_lifecycle import UNUSED, PerkState
from shop.services.context import ShopContext
from shop.services.perks import activate_on, catch_up

BATCH_SIZE = 500  # orders a batch, each with all its perks due
WORKERS_ON_POSTGRESQL = 2  # as the payment expiry job (shop.services.expiry); SQLite has one writer


@dataclass(frozen=True)
class PerkStep:
    perk_id: str
    order_id: str
    code: str
    from_state: str
    to_state: str


@dataclass
class PerkClockReport:
    steps: list[PerkStep] = field(default_factory=list)

    def count(self, to_state: str) -> int:
        return sum(1 for step in self.steps if step.to_state == to_state)


async def record_perk_steps(ctx: ShopContext, now: datetime, *, batch_size: int = BATCH_SIZE,
                            workers: int | None = None,
                            on_step: Callable[[PerkStep], None] | None = None) -> PerkClockReport:
    """Every perk whose clock step is due at `now` moved to where the clock has brought it."""
    now = as_utc(now)
    report = PerkClockReport()
    if workers is None:
        workers = WORKERS_ON_POSTGRESQL if ctx.db.dialect == "postgresql" else 1

    async def batches() -> None:
        while steps := await ctx.db.transaction(lambda uow: _batch(uow, now, batch_size)):
            report.steps.extend(steps)
            for step in steps:
                if on_step is not None:
                    on_step(step)

    await all_together(batches, copies=workers)
    return report


def _batch(uow: UnitOfWork, now: datetime, limit: int) -> list[PerkStep]:
    claimed = uow.perks.claim_due(unused=[state.value for state in UNUSED], activated=PerkState.ACTIVATED.value,
                                  now=now, limit=limit)
    return [_step(perk, catch_up(uow, perk, now=now)) for perk in claimed] + _activations_missed(uow, now, limit)


def _activations_missed(uow: UnitOfWork, now: datetime, limit: int) -> list[PerkStep]:
    """KZ-1: perks still waiting although their device's activation is recorded (reported at the
    moment the device shipped, each transaction blind to the other's write) get it applied now."""
    waiting = uow.perks.claim_waiting_but_activated(waiting=PerkState.WAITING_FOR_ACTIVATION.value, limit=limit)
    activations = uow.devices.activations({perk.imei for perk in waiting})
    return [_step(perk, after) for perk in waiting
            for after in activate_on(uow, [perk], activations[perk.imei], actor="clock", now=now,
                                     note="recorded, applied by expire-perks")]


def _step(before: Any, after: Any) -> PerkStep:
    return PerkStep(before.id, before.order_id, before.code, before.state, after.state)
