"""P-3 (RS-VII.9, RS-VII.10): a withdrawal refunded revokes the unused perks of its devices, a perk
already redeemed is listed on the withdrawal for the refund decision; while the device is being
returned its perks cannot be redeemed; an order cancelled after confirmation revokes its unused
perks. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shop.domain.errors import Conflict
from shop.domain.perk_lifecycle import PERK
from shop.services.perks import refuse_if_being_returned
from tests.ops_support import set_clock
from tests.support import ShopClient, order_body
from tests.test_perk_activation import shipped_kz_order
from tests.test_perk_bundles import ORDERED, PHONE, confirmed_kz_order

DELIVERED_AT = "2025-10-03T06:00:00Z"
REDEEMED_AT = "2025-10-04T06:00:00Z"
UNUSED = {"waiting_for_activation", "activated", "open"}


async def delivered_kz_order(shop: ShopClient) -> tuple[dict[str, str], dict[str, Any]]:
    customer, order, _ = await shipped_kz_order(shop)
    await set_clock(shop, DELIVERED_AT)
    response = await shop.ops_post(f"/orders/{order['id']}/deliver", {"delivered_at": DELIVERED_AT})
    assert response.status_code == 200, response.text
    return customer, response.json()


async def redeem(shop: ShopClient, perk_id: str, at: str = REDEEMED_AT) -> None:
    """The redemption is another use case's: here the PERK step itself, on the locked perk."""
    when = datetime.fromisoformat(at).astimezone(UTC)

    def work(uow: Any) -> None:
        perk = uow.perks.get(perk_id, lock=True)
        uow.perks.move(perk, PERK.fire(perk.state, "redeem"), now=when, redeemed_at=when)
    await shop.ctx.db.transaction(work)


async def stored(shop: ShopClient, order_id: str) -> dict[str, Any]:
    """The perks as written (not as of now), by code."""
    views = await shop.ctx.db.read(lambda uow: uow.perks.of_orders([order_id]))
    [bundle] = views[order_id]
    return {perk.code: perk for perk in bundle.perks}


async def withdraw(shop: ShopClient, customer: dict[str, str], order: dict[str, Any]) -> dict[str, Any]:
    response = await shop.http.post(f"/api/v1/orders/{order['id']}/withdrawals", json={}, headers=customer)
    assert response.status_code == 201, response.text
    return response.json()


async def perk_timeline(shop: ShopClient, order_id: str, event: str) -> list[Any]:
    entries = await shop.ctx.db.read(lambda uow: uow.timeline.of_order(order_id))
    return [e for e in entries if e.machine == "perk" and e.event == event]


@pytest.mark.parametrize("refunded_by", ["receive", "proof-of-return"])
async def test_a_withdrawal_refunded_revokes_the_unused_perks_and_lists_the_redeemed_P_3_RS_VII_9(shop, refunded_by):
    customer, order = await delivered_kz_order(shop)
    before = await stored(shop, order["id"])
    await redeem(shop, before["screen_repair"].id)
    await set_clock(shop, "2025-10-05T06:00:00Z")
    made = await withdraw(shop, customer, order)
    listed = [{"perk_id": before["screen_repair"].id, "code": "screen_repair", "line_id": order["lines"][0]["id"],
               "redeemed_at": REDEEMED_AT}]
    assert made["redeemed_perks"] == listed  # staff see it before deciding the deduction
    await shop.ops_post(f"/withdrawals/{made['id']}/return-label")

    response = await shop.ops_post(f"/withdrawals/{made['id']}/{refunded_by}",
                                   {"deduction_minor": 0} if refunded_by == "receive" else {"note": "KP2"})

    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["redeemed_perks"]) == ("refunded", listed)
    after = await stored(shop, order["id"])
    assert {code: (p.state, p.reason) for code, p in after.items()} == {
        code: ("redeemed", None) if code == "screen_repair" else ("revoked", "withdrawn") for code in before}
    revoked = await perk_timeline(shop, order["id"], "revoke")
    assert {(e.subject_id, e.clause, e.actor.split(":")[0]) for e in revoked} == {
        (p.id, "P-3", "ops") for code, p in before.items() if code != "screen_repair"}
    view = await shop.order(customer, order["id"])
    assert view["withdrawals"][0]["redeemed_perks"] == listed


async def test_a_rejected_withdrawal_revokes_nothing_and_its_perks_can_be_redeemed_again_P_3(shop):
    customer, order = await delivered_kz_order(shop)
    await set_clock(shop, "2025-10-05T06:00:00Z")
    made = await withdraw(shop, customer, order)
    perk_id = (await stored(shop, order["id"]))["google_ai_pro"].id

    async def check() -> None:
        await shop.ctx.db.transaction(lambda uow: refuse_if_being_returned(uow, uow.perks.get(perk_id, lock=True)))

    with pytest.raises(Conflict) as refused:
        await check()
    assert (refused.value.code, refused.value.clause) == ("device_being_returned", "P-3")

    response = await shop.ops_post(f"/withdrawals/{made['id']}/reject", {"reason": "the device was used"})

    assert response.status_code == 200, response.text
    assert {p.state for p in (await stored(shop, order["id"])).values()} <= UNUSED
    assert await perk_timeline(shop, order["id"], "revoke") == []
    await check()  # no longer being returned


@pytest.mark.parametrize("cancelled_by", ["customer", "out-of-stock", "delivery-failed"])
async def test_an_order_cancelled_after_confirmation_revokes_its_unused_perks_P_3(shop, cancelled_by):
    if cancelled_by == "delivery-failed":
        customer, order, _ = await shipped_kz_order(shop)
    else:
        customer, order = await confirmed_kz_order(shop, [(PHONE, 1)], at="2025-11-03T05:00:00Z")
    before = await stored(shop, order["id"])

    if cancelled_by == "customer":
        response = await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer)
    elif cancelled_by == "out-of-stock":
        response = await shop.ops_post(f"/orders/{order['id']}/out-of-stock")
    else:
        response = await shop.ops_post(f"/orders/{order['id']}/delivery-failed", {"reason": "unreachable"})

    assert response.status_code == 200, response.text
    after = await stored(shop, order["id"])
    for code, perk in before.items():
        expected = ("revoked", "order_cancelled") if perk.state in UNUSED else (perk.state, perk.reason)
        assert (code, after[code].state, after[code].reason) == (code, *expected)
    assert len(await perk_timeline(shop, order["id"], "revoke")) == sum(p.state in UNUSED for p in before.values())
    if cancelled_by != "delivery-failed":  # bought 3 Nov: the lounge was never available (P-2), and stays so
        assert after["lounge"].state == "not_available"


async def test_an_rs_order_or_one_cancelled_before_confirmation_has_nothing_to_revoke_P_3(shop):
    await set_clock(shop, ORDERED)
    customer = await shop.customer()
    order = await shop.paid_order(customer, order_body("KZ", [(PHONE, 1)]))

    response = await shop.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer)

    assert response.status_code == 200, response.text
    assert (await shop.order(customer, order["id"]))["perks"] == []
