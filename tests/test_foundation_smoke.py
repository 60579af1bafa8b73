from datetime import UTC, datetime
from shop.adapters.stores.clock import set_test_clock
from shop.domain.payment_facts import PaymentFact

async def test_foundation(shop):
    db = shop.ctx.db
    now = await db.read(lambda uow: uow.now())
    assert now.tzinfo is not None
    t = datetime(2026, 11, 1, 9, tzinfo=UTC)
    await db.transaction(lambda uow: set_test_clock(uow.connection, t))
    assert await db.read(lambda uow: uow.now()) == t
    fact = PaymentFact(key=f"smoke:{db.dialect}", kind="x", order_id=None, payment_intent_id=None, occurred_at=t, recorded_at=t)
    assert await db.transaction(lambda uow: uow.ledger.append([fact])) == {fact.key}
    assert await db.transaction(lambda uow: uow.ledger.append([fact])) == set()
    await shop.http.delete("/api/v1/test/clock")
