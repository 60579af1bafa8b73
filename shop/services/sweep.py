"""The sweep (`make sweep`): what the shop owes near or past its deadline, for staff to act on.

- refunds still owed, pending or failed (for staff to send again), by their `due_by` (RS-III.4,
  RS-VII.10: without delay, within 14 days of the statement);
- returns awaited (`awaiting_return`) by their `return_due_by` (RS-VII.7): a return not back in
  time is listed as overdue, flagged for staff: never silently refunded, never silently dropped;
- withdrawals stated but without a return label (`requested`) by their `refund_due_by`: the refund
  clock runs from the statement (RS-VII.10), whether the goods are back or not;
- KZ perks still unused (waiting for activation, activated, open) by their last moment (`lapses_at`,
  P-2), for staff to remind the customer; past it, the perk has lapsed and `make expire-perks` has
  not recorded it yet;
- complaints not yet answered by their `answer_due_by` (RS-X.3: within 8 days of receipt);
- notices of illegal content not yet decided by their `decide_by` (RS-XIII 12.5: within 2 working
  days of receipt, shop.domain.reviews; so each is near from the day it comes in);
- and, first, the markets in a declared force-majeure period (T-7).

"Near" is on the market's calendar (T-3): due by the end of the 2nd working day after today's
local date; for a perk, within 14 days (a reminder needs the time to act on it); "passed" is due
before now. It only reads: the same database gives the same list, run
twice or from two machines at once. Lines are plain data; the job prints them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shop.adapters.unit_of_work import UnitOfWork
from shop.domain.calendar import add_working_days, as_utc, end_of_local_day, in_time, local_date, to_local
from shop.domain.complaints import ComplaintState
from shop.domain.markets import Market, market_info
from shop.domain.perk_lifecycle import UNUSED, state_at
from shop.domain.refunds import RefundState
from shop.domain.reviews import NoticeState
from shop.domain.withdrawal import WithdrawalState
from shop.services.context import ShopContext

NEAR_WORKING_DAYS = 2
PERK_NEAR = timedelta(days=14)  # P-2: a perk about to lapse unused, listed for a reminder
UNUSED_PERKS = tuple(state.value for state in UNUSED)
OWED_REFUNDS = (RefundState.PENDING.value, RefundState.FAILED.value)
PASSED, NEAR = "passed", "near"
REFUND, RETURN, WITHDRAWAL, PERK, COMPLAINT, NOTICE = "refund", "return", "withdrawal", "perk", "complaint", "notice"
KINDS = (REFUND, RETURN, WITHDRAWAL, PERK, COMPLAINT, NOTICE)
BATCH = 1000
PROGRESS_ROWS, PROGRESS_SECONDS = 5000, 5.0


@dataclass(frozen=True)
class SweepLine:
    """One thing owed: a refund, a return awaited, a withdrawal without its label, a perk unused, a
    complaint's answer, or the decision on a notice of illegal content."""

    status: str  # passed | near
    due_by: datetime
    due_on: date  # the deadline's local date in its market
    kind: str  # refund | return | withdrawal | perk | complaint | notice
    order_number: str  # "-": a complaint about no order, a notice
    clause: str
    owed_minor: int | None  # None: no money owed (a perk)
    currency: str
    minor_digits: int
    subject_id: str
    note: str

    @property
    def owed(self) -> str:
        if self.owed_minor is None:
            return ""
        return f"{Decimal(self.owed_minor).scaleb(-self.minor_digits):.{self.minor_digits}f} {self.currency}"

    def text(self) -> str:
        owed = f" {self.owed}" if self.owed_minor is not None else ""
        return (f"{self.status:6} {self.due_by:%Y-%m-%dT%H:%M:%SZ} {self.kind:10} {self.order_number} "
                f"[{self.clause}]{owed}: {self.note} ({self.subject_id})")

    def sort_key(self) -> tuple[Any, ...]:
        return (self.status != PASSED, date.min if self.status == PASSED else self.due_on, self.due_by,
                KINDS.index(self.kind), self.order_number, self.subject_id)


@dataclass
class SweepReport:
    now: datetime
    lines: list[SweepLine] = field(default_factory=list)
    seconds: float = 0.0
    suspended: list[tuple[str, datetime]] = field(default_factory=list)
    """Markets in a declared force-majeure period, and since when (T-7): their seller's deadlines
    move when it ends; until then they are listed as they stand."""

    def groups(self) -> list[tuple[str, list[SweepLine]]]:
        """Passed first (oldest first), then the near ones by their local due date."""
        grouped: dict[str, list[SweepLine]] = {}
        for line in sorted(self.lines, key=SweepLine.sort_key):
            title = "passed" if line.status == PASSED else f"due {line.due_on.isoformat()}"
            grouped.setdefault(title, []).append(line)
        return list(grouped.items())

    def count(self, status: str, kind: str | None = None) -> int:
        return sum(1 for line in self.lines if line.status == status and kind in (None, line.kind))

    def summary(self) -> str:
        def counts(status: str) -> str:
            return ", ".join(f"{self.count(status, kind)} {kind}s" for kind in KINDS)
        return (f"sweep as of {self.now:%Y-%m-%dT%H:%M:%SZ}: {len(self.lines)} listed; "
                f"{self.count(PASSED)} passed ({counts(PASSED)}), "
                f"{self.count(NEAR)} near, within {NEAR_WORKING_DAYS} working days, perks {PERK_NEAR.days} days "
                f"({counts(NEAR)})")

    def text(self) -> list[str]:
        """The report as printed: a heading per group, a line each, the summary last."""
        out = [f"== force majeure in {market} since {since:%Y-%m-%dT%H:%M:%SZ}: the seller's deadlines are "
               "suspended and move when it ends (T-7)" for market, since in self.suspended]
        for title, lines in self.groups():
            out.append(f"== {title} ({len(lines)})")
            out.extend(line.text() for line in lines)
        out.append(self.summary())
        return out


def near_until(now: datetime, market: Market) -> datetime:
    """T-3: the last instant of the 2nd working day after today's local date in the market."""
    return end_of_local_day(add_working_days(local_date(now, market), NEAR_WORKING_DAYS, market), market)


def _line(row: Any, now: datetime, *, kind: str, clause: str, owed_minor: int | None, currency: str,
          note: str) -> SweepLine:
    due = as_utc(row.due)
    market = Market(row.market)
    return SweepLine(NEAR if in_time(now, due) else PASSED, due, local_date(due, market), kind, row.order_number,
                     clause, owed_minor, currency, market_info(market).currency_minor_digits, row.id, note)


def _refund(row: Any, now: datetime) -> SweepLine:
    note = f"refund {row.state}"
    if row.state == RefundState.FAILED:
        note += f" after {row.attempts} attempt(s), for staff to send again: {row.failure or 'no reason given'}"
    return _line(row, now, kind=REFUND, clause=row.clause, owed_minor=row.amount_minor, currency=row.currency,
                 note=note)


def _return(row: Any, now: datetime) -> SweepLine:
    line = _line(row, now, kind=RETURN, clause="RS-VII.7", owed_minor=row.lines_minor, currency=row.currency,
                 note=f"{row.lines} line(s) due back")
    if line.status == PASSED:
        line = _with_note(line, f"{row.lines} line(s) not back in time: overdue, for staff (never refunded or "
                                "dropped silently)")
    return line


def _statement(row: Any, now: datetime) -> SweepLine:
    return _line(row, now, kind=WITHDRAWAL, clause="RS-VII.10", owed_minor=row.lines_minor, currency=row.currency,
                 note=f"{row.channel} statement of {as_utc(row.sent_at):%Y-%m-%d}, {row.lines} line(s), "
                      "no return label issued; refund owed from the statement")


def _perk(row: Any, now: datetime) -> SweepLine:
    """P-2: an unused perk (its state as of now) near its last moment, or past it and not recorded yet."""
    state = state_at(row.state, opens_at=row.opens_at, lapses_at=None, now=now).value
    last = f"{to_local(row.due, Market(row.market)):%Y-%m-%d %H:%M} local"
    note = (f"{row.code} {state}, unused; its last moment {last}: remind the customer" if in_time(now, row.due)
            else f"{row.code} lapsed unused at {last}; not recorded yet (make expire-perks records it)")
    return _line(row, now, kind=PERK, clause=row.clause, owed_minor=None, currency=row.currency, note=note)


def _complaint(row: Any, now: datetime) -> SweepLine:
    """RS-X.3: a complaint not answered, its answer due within 8 days of its receipt."""
    market = Market(row.market)
    note = (f"{row.channel} complaint about the {row.about}, received {to_local(row.received_at, market):%Y-%m-%d}: "
            + ("answer it" if in_time(now, row.due) else "its answer is late"))
    return _line(row, now, kind=COMPLAINT, clause="RS-X.3", owed_minor=None,
                 currency=market_info(market).currency, note=note)


def _notice(row: Any, now: datetime) -> SweepLine:
    """RS-XIII 12.5: a notice of illegal content not decided, due within 2 working days of its receipt."""
    market = Market(row.market)
    note = (f"notice of illegal content about review {row.review_id} of {row.sku}, received "
            f"{to_local(row.received_at, market):%Y-%m-%d}: "
            + ("decide it and tell the notifier" if in_time(now, row.due) else "its decision is late"))
    return _line(row, now, kind=NOTICE, clause="RS-XIII", owed_minor=None, currency=market_info(market).currency,
                 note=note)


def _with_note(line: SweepLine, note: str) -> SweepLine:
    return SweepLine(**{**line.__dict__, "note": note})


def perk_near_until(now: datetime, market: Market) -> datetime:
    """P-2: a perk lapsing within the next 14 days is near."""
    return as_utc(now) + PERK_NEAR


Read = Callable[[UnitOfWork, Market, datetime, Any, int], list[Any]]
SOURCES: tuple[tuple[Read, Callable[[Any, datetime], SweepLine], Callable[[datetime, Market], datetime]], ...] = (
    (lambda uow, market, until, after, limit: uow.sweep.refunds_due(
        OWED_REFUNDS, market=market.value, until=until, after=after, limit=limit), _refund, near_until),
    (lambda uow, market, until, after, limit: uow.sweep.returns_due(
        WithdrawalState.AWAITING_RETURN.value, market=market.value, until=until, after=after, limit=limit), _return,
     near_until),
    (lambda uow, market, until, after, limit: uow.sweep.statements_due(
        WithdrawalState.REQUESTED.value, market=market.value, until=until, after=after, limit=limit), _statement,
     near_until),
    (lambda uow, market, until, after, limit: uow.sweep.perks_due(
        UNUSED_PERKS, market=market.value, until=until, after=after, limit=limit), _perk, perk_near_until),
    (lambda uow, market, until, after, limit: uow.sweep.complaints_due(
        ComplaintState.RECEIVED.value, market=market.value, until=until, after=after, limit=limit), _complaint,
     near_until),
    (lambda uow, market, until, after, limit: uow.sweep.notices_due(
        NoticeState.RECEIVED.value, market=market.value, until=until, after=after, limit=limit), _notice,
     near_until),
)


async def sweep(ctx: ShopContext, now: datetime, *, markets: Iterable[Market] = tuple(Market), batch: int = BATCH,
                on_progress: Callable[[int, float], None] | None = None, progress_rows: int = PROGRESS_ROWS
                ) -> SweepReport:
    """Everything owed near or past its deadline as of `now`, read page by page; `on_progress(rows,
    seconds)` every `progress_rows` rows or PROGRESS_SECONDS seconds of a long run."""
    now, markets = as_utc(now), tuple(markets)
    report = SweepReport(now, suspended=[(period.market, as_utc(period.starts_at))
                                         for period in await ctx.db.read(lambda uow: uow.force_majeure.all_open())
                                         if Market(period.market) in markets])
    started = last_told = time.monotonic()
    told_rows = 0
    for market in markets:
        for read, make, near in SOURCES:
            until = near(now, market)
            after = None
            while True:
                rows = await ctx.db.read(
                    lambda uow, after=after, until=until: read(uow, market, until, after, batch))
                report.lines.extend(make(row, now) for row in rows)
                clock = time.monotonic()
                if on_progress is not None and (len(report.lines) - told_rows >= progress_rows
                                                or clock - last_told >= PROGRESS_SECONDS):
                    on_progress(len(report.lines), clock - started)
                    told_rows, last_told = len(report.lines), clock
                if len(rows) < batch:
                    break
                after = (rows[-1].due, rows[-1].id)
    report.seconds = time.monotonic() - started
    return report
