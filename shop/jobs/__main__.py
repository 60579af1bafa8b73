"""`python -m shop.jobs migrate | seed | ops-user EMAIL PASSWORD | ops-demote EMAIL |
expire-payments [--now ISO] | sweep [--now ISO] | expire-perks [--now ISO] | activations FILE |
diagram [DIRECTORY] | serve`.

Every task reads the same settings as the server (shop.settings; unusable ones, such as development
secrets in production, stop it with their message and exit code 2) and prints what it did.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from shop.settings import Settings, SettingsError, sqlite_path

if TYPE_CHECKING:
    from shop.services.context import ShopContext

DIAGRAM_DIRECTORY = Path("docs")


def migrate(settings: Settings) -> None:
    from alembic import command
    from alembic.config import Config

    path = sqlite_path(settings.database_url)
    if path is not None and path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parents[2]
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    config.attributes["database_url"] = settings.database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    print(f"migrated {settings.database_url.split('@')[-1]} to head")


async def seed(settings: Settings) -> None:
    from shop.adapters.database import Database
    from shop.domain.markets import market_info
    from shop.jobs.demo_catalogue import demo_products

    products = [{**data, "vat_rate": str(market_info(data["market"]).vat_rate)} for data in demo_products()]
    db = Database(settings.database_url, pool_size=settings.database_pool_size)
    try:
        added, existing = await db.transaction(lambda uow: uow.products.add_missing(products))
    finally:
        await db.dispose()
    print(f"demo catalogue: {added} products added, {existing} already there")


async def ops_user(settings: Settings, email: str, password: str) -> None:
    from shop.services.accounts import make_ops_user

    async with _task_context(settings) as ctx:
        user, created = await make_ops_user(ctx, email, password)
    print(f"ops account {user.email} {'created' if created else 'updated'} (id {user.id})")


async def ops_demote(settings: Settings, email: str) -> None:
    from shop.services.accounts import demote_ops_user

    async with _task_context(settings) as ctx:
        user = await demote_ops_user(ctx, email=email)
    print(f"ops account {user.email} (id {user.id}) demoted: its tokens lose staff rights with their next request")


async def expire_payments(settings: Settings, now_arg: str | None, send_at_most: int | None) -> None:
    """RS-V.1: cancel card orders whose 2-hour payment window has passed; then send what earlier
    requests left owed: PaymentIntent cancellations, refunds never answered by Stripe, e-mails."""
    from shop.services.expiry import expire_unpaid_orders, send_queued_cancellations
    from shop.services.idempotency import forget_old_keys
    from shop.services.mail import send_queued_emails
    from shop.services.refunds import settle_pending_refunds

    async with _task_context(settings) as ctx:
        now = await _now(ctx, now_arg)

        def show(order_id: str, number: str, due: object) -> None:
            print(f"cancelled {number} ({order_id}): not paid by {due:%Y-%m-%dT%H:%M:%SZ} [RS-V.1]")

        def show_refund(refund, number: str) -> None:  # type: ignore[no-untyped-def]
            at_stripe = f", Stripe's {refund.stripe_refund_id}" if refund.stripe_refund_id else ""
            print(f"refund {refund.id} of {number} ({refund.order_id}){at_stripe}: {refund.state} [RS-VII.10]")

        refused: list[int] = []

        def show_refused(email, reason: str) -> None:  # type: ignore[no-untyped-def]
            refused.append(email.id)
            print(f"e-mail {email.id} to {email.to} (order {email.order_id or '-'}, {email.kind}) refused by the "
                  f"mail server, kept queued: check the address: {reason}")

        report = await expire_unpaid_orders(ctx, now, on_cancelled=show)
        await send_queued_cancellations(ctx, now, report, at_most=send_at_most)
        refunds = await settle_pending_refunds(ctx, now, on_settled=show_refund)
        await _cancel_orphan_intents(ctx, now)
        mailed = await send_queued_emails(ctx, now, on_refused=show_refused) if send_at_most is None else 0
        forgotten = await forget_old_keys(ctx, now)
    print(f"expire-payments as of {now:%Y-%m-%dT%H:%M:%SZ}: {len(report.cancelled)} orders cancelled "
          f"in {report.database_seconds:.2f}s; PaymentIntents cancelled {report.intents_cancelled}, "
          f"failed {report.intents_failed} (kept for the next run) in {report.stripe_seconds:.2f}s; "
          f"refunds taken up {refunds.total()}: succeeded {refunds['succeeded']}, still pending "
          f"{refunds['pending']}, failed {refunds['failed']} (for staff to retry); "
          f"{mailed} e-mails sent, {len(refused)} refused by the mail server (kept queued); "
          f"{forgotten} Idempotency-Keys older than 24 hours forgotten")


async def sweep(settings: Settings, now_arg: str | None) -> None:
    """RS-VII.7, RS-VII.10, RS-III.4, P-2, RS-X.3, RS-XIII: list every refund still owed, every return
    or withdrawal, unused perk, unanswered complaint and undecided notice of illegal content whose
    deadline is near or passed, grouped by deadline, and a summary. Reads only."""
    from shop.services.sweep import sweep as sweep_owed

    def progress(rows: int, seconds: float) -> None:
        print(f"sweep: {rows} rows read in {seconds:.1f}s", file=sys.stderr, flush=True)

    async with _task_context(settings) as ctx:
        now = await _now(ctx, now_arg)
        report = await sweep_owed(ctx, now, on_progress=progress)
    for line in report.text():
        print(line)


async def expire_perks(settings: Settings, now_arg: str | None) -> None:
    """P-2, T-1: record the clock's due steps on perks (an activated perk opens at its opens_at, an
    unused one expires after its last moment), one line a perk moved and a summary; safe to run twice
    or two at once (each perk is claimed once)."""
    from shop.services.perk_clock import record_perk_steps

    def show(step) -> None:  # type: ignore[no-untyped-def]
        print(f"perk {step.perk_id} ({step.code}, order {step.order_id}): {step.from_state} -> {step.to_state}")

    async with _task_context(settings) as ctx:
        now = await _now(ctx, now_arg)
        report = await record_perk_steps(ctx, now, on_step=show)
    print(f"expire-perks as of {now:%Y-%m-%dT%H:%M:%SZ}: {len(report.steps)} perks moved: "
          f"{report.count('open')} opened, {report.count('expired')} expired [P-2, T-1]")


async def activations(settings: Settings, path: Path) -> None:
    """KZ-1: the activation feed, a line per device (`imei,country,activated_at`; a header line
    `imei,…` is skipped), each recorded as staff would report it (the first activation counts; the
    same line again changes nothing); a refused line is printed with its reason and the rest go on."""
    import csv

    from shop.clock import parse_instant
    from shop.domain.errors import DomainError
    from shop.services.device_activations import record_activation

    ctx = _context(settings)
    counts = {"recorded": 0, "already recorded": 0, "refused": 0}
    try:
        with path.open(newline="", encoding="utf-8") as feed:
            for number, row in enumerate(csv.reader(feed), start=1):
                if not row or (number == 1 and row[0].strip().lower() == "imei"):
                    continue
                try:
                    if len(row) != 3:
                        raise DomainError("invalid_line", "expected imei,country,activated_at")
                    imei, country, at = (value.strip() for value in row)
                    made = await record_activation(ctx, imei, country=country,
                                                   activated_at=parse_instant(at, field="activated_at"),
                                                   source=f"feed:{path.name}"[:120])
                except DomainError as error:
                    counts["refused"] += 1
                    print(f"line {number}: refused, {error.code}: {error.detail}"
                          + (f" [{error.clause}]" if error.clause else ""))
                    continue
                counts["recorded" if made.new else "already recorded"] += 1
                perks = ", ".join(f"{item.row.code} {item.state.value}" for item in made.perks) or "no perks"
                print(f"line {number}: {made.activation.imei} activated in {made.activation.country} at "
                      f"{made.activation.activated_at:%Y-%m-%dT%H:%M:%SZ}"
                      f"{'' if made.new else ' (already recorded)'}: {perks} [KZ-1]")
    except OSError as error:
        raise SystemExit(f"error: {error}") from None
    finally:
        await ctx.aclose()
    print(f"activations from {path}: " + ", ".join(f"{count} {what}" for what, count in counts.items()))


async def _cancel_orphan_intents(ctx, now) -> None:  # type: ignore[no-untyped-def]
    """PaymentIntents whose order was never written (a process killed between the two): cancelled."""
    from shop.adapters.stripe_gateway import PaymentProviderError
    from shop.services.orphan_intents import GRACE, LOOKBACK, cancel_orphan_intents

    def show(intent) -> None:  # type: ignore[no-untyped-def]
        print(f"cancelled PaymentIntent {intent.id}: its order {intent.order_id} was never written [RS-V.1]")

    try:
        sweep = await cancel_orphan_intents(ctx, now, on_cancelled=show)
    except PaymentProviderError as error:
        print(f"PaymentIntents without an order: Stripe could not list them ({error}); the next run tries again")
        return
    print(f"PaymentIntents without an order (created {GRACE} to {LOOKBACK} ago): cancelled {len(sweep.cancelled)}, "
          f"failed {len(sweep.failed)} (kept for the next run)")


async def _now(ctx, now_arg: str | None):  # type: ignore[no-untyped-def]
    """The instant a task judges as of: NOW when given (later than the real clock only with
    SHOP_ENV=test), else the shop's clock."""
    from shop.clock import parse_instant, system_now
    from shop.domain.errors import DomainError

    if not now_arg:
        return await ctx.now()
    now = parse_instant(now_arg, field="NOW")
    if now > system_now() and not ctx.settings.is_test:
        raise DomainError("now_in_future", "NOW may not be later than the real clock outside SHOP_ENV=test",
                          field="NOW")
    return now


def _context(settings: Settings):  # type: ignore[no-untyped-def]
    from shop.services.context import ShopContext

    return ShopContext.from_settings(settings)


@asynccontextmanager
async def _task_context(settings: Settings) -> AsyncIterator[ShopContext]:
    """The shop's context for one task, closed after it; a refusal of the shop's (a DomainError)
    ends the task with its message, not a traceback."""
    from shop.domain.errors import DomainError

    ctx = _context(settings)
    try:
        yield ctx
    except DomainError as error:
        raise SystemExit(f"error: {error.detail}") from None
    finally:
        await ctx.aclose()


def diagram(directory: Path) -> None:
    """Every lifecycle's page (Mermaid drawing and steps) into `directory`, from the same tables
    the shop fires (shop.domain.machines.MACHINES)."""
    from shop.domain.machines import documents

    directory.mkdir(parents=True, exist_ok=True)
    for name, text in documents().items():
        (directory / name).write_text(text)
        print(f"wrote {directory / name}")


def serve(settings: Settings) -> None:
    import uvicorn

    uvicorn.run("shop.web.app:app_from_env", factory=True, host=settings.host, port=settings.port,
                log_level="info", access_log=settings.access_log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop.jobs")
    tasks = parser.add_subparsers(dest="task", required=True)
    tasks.add_parser("migrate", help="upgrade the database to the newest schema")
    tasks.add_parser("seed", help="load the demo catalogue (products not yet there)")
    user = tasks.add_parser("ops-user", help="create or update an operations account")
    user.add_argument("email")
    user.add_argument("password")
    demote = tasks.add_parser("ops-demote", help="take staff rights from an account (at once, its tokens too)")
    demote.add_argument("email")
    drawing = tasks.add_parser("diagram", help="write every lifecycle's Mermaid diagram and steps into DIRECTORY")
    drawing.add_argument("directory", nargs="?", type=Path, default=DIAGRAM_DIRECTORY)
    tasks.add_parser("serve", help="serve the API (HOST, PORT)")
    expire = tasks.add_parser("expire-payments", help="cancel card orders not paid within 2 hours (RS-V.1)")
    expire.add_argument("--now", help="judge as of this ISO instant (default: the shop's clock)")
    expire.add_argument("--send-at-most", type=int, default=None,
                        help="send at most this many queued Stripe cancellations now (the rest on a later run)")
    owed = tasks.add_parser("sweep", help="list refunds and returns due within 2 working days or overdue "
                                          "(RS-VII.7, RS-VII.10); reads only")
    owed.add_argument("--now", help="judge as of this ISO instant (default: the shop's clock)")
    clock = tasks.add_parser("expire-perks", help="record perks opened or expired by the clock (P-2, T-1)")
    clock.add_argument("--now", help="judge as of this ISO instant (default: the shop's clock)")
    feed = tasks.add_parser("activations", help="record device activations from a CSV feed: "
                                                "imei,country,activated_at (KZ-1)")
    feed.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.task == "migrate":
            migrate(settings)
        elif args.task == "seed":
            asyncio.run(seed(settings))
        elif args.task == "ops-user":
            asyncio.run(ops_user(settings, args.email, args.password))
        elif args.task == "ops-demote":
            asyncio.run(ops_demote(settings, args.email))
        elif args.task == "diagram":
            diagram(args.directory)
        elif args.task == "expire-payments":
            asyncio.run(expire_payments(settings, args.now, args.send_at_most))
        elif args.task == "sweep":
            asyncio.run(sweep(settings, args.now))
        elif args.task == "expire-perks":
            asyncio.run(expire_perks(settings, args.now))
        elif args.task == "activations":
            asyncio.run(activations(settings, args.file))
        elif args.task == "serve":
            serve(settings)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
