"""P-2, T-1: the clock's part in a perk's life, as the jobs see it, on SQLite and PostgreSQL. `make
sweep` lists unused perks whose last moment is within 14 days (near) or past and not yet recorded
(passed), for staff to remind the customer; `make expire-perks` records the steps the clock has taken
(opened, expired), each once however many runs at once."""

from __future__ import annotations

import asyncio

from shop.domain.markets import Market
from shop.services.perk_clock import record_perk_steps
from shop.services.sweep import sweep
from tests.support import run_task
from tests.ops_support import set_clock
from tests.test_perk_activation import activate, shipped_kz_order
from tests.test_perk_bundles import PHONE, confirmed_kz_order
from tests.test_sweep import instant

LOUNGE_LAPSES = "2025-10-31T18:59:59Z"  # activate by 31.10.2025 23:59 Almaty (KZ-4.1)
AFTER_IT = "2025-11-01T05:00:00Z"


async def test_sweep_lists_a_perk_within_14_days_of_its_last_moment_and_one_past_it_P_2(shop):
    _, order = await confirmed_kz_order(shop, [(PHONE, 1)])

    # its last moment is 31 Oct 23:59:59.999999 Almaty: 14 days before it, it is near
    too_early = await sweep(shop.ctx, instant("2025-10-17T18:59:59Z"))
    first_day = await sweep(shop.ctx, instant("2025-10-17T19:00:00Z"))
    passed = await sweep(shop.ctx, instant(AFTER_IT))

    assert too_early.lines == []
    [near] = first_day.lines
    assert (near.status, near.kind, near.order_number, near.clause, near.due_by) == (
        "near", "perk", order["number"], "KZ-4.1", instant(LOUNGE_LAPSES).replace(microsecond=999999))
    assert near.text().startswith(f"near   2025-10-31T18:59:59Z perk       {order['number']} [KZ-4.1]: lounge "
                                  "waiting_for_activation, unused; its last moment 2025-10-31 23:59 local: "
                                  "remind the customer (")
    [lapsed] = passed.lines
    assert (lapsed.status, lapsed.kind, lapsed.subject_id) == ("passed", "perk", near.subject_id)
    assert "lapsed unused" in lapsed.note and "make expire-perks" in lapsed.note
    assert passed.summary().endswith("(0 refunds, 0 returns, 0 withdrawals, 0 perks, 0 complaints, 0 notices)")
    assert "1 passed (0 refunds, 0 returns, 0 withdrawals, 1 perks, 0 complaints, 0 notices)" in passed.summary()


async def test_a_perk_recorded_expired_or_used_is_no_longer_listed_P_2(shop):
    await confirmed_kz_order(shop, [(PHONE, 1)])
    await record_perk_steps(shop.ctx, instant(AFTER_IT))

    report = await sweep(shop.ctx, instant(AFTER_IT), markets=(Market.KZ,))

    assert report.lines == []


async def test_expire_perks_records_each_due_step_once_even_run_twice_at_once_P_2_T_1(shop):
    _, order, imeis = await shipped_kz_order(shop, 2)
    await set_clock(shop, "2025-10-02T06:00:00Z")
    assert (await activate(shop, imeis[0])).status_code == 200

    runs = await asyncio.gather(*(record_perk_steps(shop.ctx, instant(AFTER_IT), batch_size=1) for _ in range(2)))
    again = await record_perk_steps(shop.ctx, instant(AFTER_IT))

    steps = sorted((step.code, step.from_state, step.to_state) for run in runs for step in run.steps)
    # the first device's lounge would open 17 Oct but lapsed 31 Oct: expiry wins; its Spotify opened
    assert steps == [("lounge", "activated", "expired"), ("lounge", "waiting_for_activation", "expired"),
                     ("spotify", "activated", "open")]
    assert again.steps == []
    entries = await shop.ctx.db.read(lambda uow: uow.timeline.of_order(order["id"]))
    clock = sorted((e.event, e.actor, e.clause) for e in entries if e.machine == "perk" and e.actor == "clock")
    assert clock == [("expire", "clock", "P-2"), ("expire", "clock", "P-2"), ("open", "clock", "T-1")]
    views = await shop.ctx.db.read(lambda uow: uow.perks.of_orders([order["id"]]))
    assert sorted(p.reason for view in views[order["id"]] for p in view.perks if p.state == "expired") == [
        "lapsed", "lapsed"]


async def test_make_expire_perks_runs_as_a_task_and_a_second_run_finds_nothing_P_2(shop, settings):
    _, order = await confirmed_kz_order(shop, [(PHONE, 1)])
    await set_clock(shop, AFTER_IT)
    runs = [run_task(settings, "expire-perks") for _ in range(2)]

    assert [run.returncode for run in runs] == [0, 0], runs[0].stderr
    first = runs[0].stdout.strip().splitlines()
    assert first[0].endswith(f"(lounge, order {order['id']}): waiting_for_activation -> expired")
    assert first[-1] == "expire-perks as of 2025-11-01T05:00:00Z: 1 perks moved: 0 opened, 1 expired [P-2, T-1]"
    assert runs[1].stdout.strip() == "expire-perks as of 2025-11-01T05:00:00Z: 0 perks moved: 0 opened, 0 expired [P-2, T-1]"


async def test_an_activation_recorded_but_not_applied_is_applied_by_expire_perks_KZ_1(shop):
    # The race it stands for: the activation reported at the very moment its device shipped, each
    # transaction blind to the other's write. Recorded here without being applied, as that race leaves it.
    customer, order, [imei] = await shipped_kz_order(shop)
    await shop.ctx.db.transaction(lambda uow: uow.devices.record_first({
        "imei": imei, "country": "KZ", "activated_at": instant("2025-10-02T05:00:00Z"),
        "recorded_at": instant("2025-10-02T05:00:00Z"), "source": "feed:race"}))

    report = await record_perk_steps(shop.ctx, instant("2025-10-05T05:00:00Z"))

    assert sorted((step.code, step.from_state, step.to_state) for step in report.steps) == [
        ("lounge", "waiting_for_activation", "activated"), ("spotify", "waiting_for_activation", "open")]
    again = await record_perk_steps(shop.ctx, instant("2025-10-05T05:00:00Z"))
    assert again.steps == []
