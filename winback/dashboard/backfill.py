"""History from day one: replays detection month by month over the imported purchases, so that a
company that has just imported years of purchases sees its churn history at once
(`manage.py backfill_history --from YYYY-MM`; docs/dashboard.md "History from day one").

For each month from `from_month` up to the last complete one, detection runs as of the month's
last day (`run_detection(as_of=...)`, the `detect_defections --as-of` replay: later purchases are
ignored) and the at-risk count at that day is recorded (`record_at_risk`). Then detection runs as
of today (the engine picks the mode: a full recompute after replays), the current month's at-risk
count is recorded, and the fact tables are rebuilt once.

Decisions:
- `from_month` must be a complete month (before the current one), not before the month of the
  first purchase (refused, naming that month), and there must be purchases.
- Replays only go forward in time. If the latest detection run is as of a day before the first
  month's end, every month is replayed. If it is as of a day within the range (up to and including
  the last month's end) the backfill continues after it: the months whose end is on or before
  that day are skipped as done (a run interrupted by a crash or Ctrl-C picks up where it stopped;
  each month's replay is its own transaction, so finished months stay). When that day is a month
  end, its at-risk count is recorded again, in case the crash came between the two steps. If the
  latest run is after the last month end in the range, the history already exists: refused.
- Every check happens before anything is written; a refusal writes nothing (not even a failed
  detection run). Replays are recorded as detection runs with trigger "backfill".
- The downstream reactions to a detection run (surveys, cases) are not started: they find their
  work by query on their own schedule, and only recent events get invitations.
"""

import datetime as dt
import time
from dataclasses import dataclass, field

from django.db.models import Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.detection.engine import DetectionError, latest_run, run_detection
from customers.models import DetectionRun, Transaction
from winback.dashboard.models import AtRiskMonth, FactRefresh
from winback.dashboard.periods import add_months, first_of_month, months_between
from winback.dashboard.refresh import record_at_risk, refresh_facts

TRIGGER = "backfill"
HEADER = f"  {'Month':<9}{'As of':<12}{'Passive':>9}{'Active':>8}{'Won back':>10}{'At risk':>9}{'Seconds':>9}"


class BackfillError(Exception):
    """A backfill that must not start; nothing has been written."""


@dataclass(frozen=True)
class MonthReplay:
    month: dt.date
    as_of: dt.date
    run_id: int
    defected_passive: int
    defected_active: int
    won_back: int
    at_risk: int
    seconds: float

    def row(self, label: str | None = None) -> str:
        return (
            f"  {label or self.month.strftime('%Y-%m'):<9}{self.as_of.isoformat():<12}{self.defected_passive:>9}"
            f"{self.defected_active:>8}{self.won_back:>10}{self.at_risk:>9}{self.seconds:>9.2f}"
        )


@dataclass
class BackfillSummary:
    from_month: dt.date
    to_month: dt.date
    skipped: list[dt.date] = field(default_factory=list)  # months replayed by an earlier run
    months: list[MonthReplay] = field(default_factory=list)
    current: MonthReplay | None = None
    refresh: FactRefresh | None = None
    seconds: float = 0.0


def month_end(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def already_run_message(day: dt.date) -> str:
    return _(
        "Detection has already run as of %(day)s; backfill_history fills history only before the first "
        "detection run (the history from that day on already exists)."
    ) % {"day": day}


def plan(from_month: dt.date, *, today: dt.date) -> tuple[list[dt.date], list[dt.date]]:
    """The months to replay and those an earlier run already replayed; BackfillError if the
    backfill must not start."""
    this_month = first_of_month(today)
    if from_month > this_month:
        raise BackfillError(_("%(month)s is in the future.") % {"month": f"{from_month:%Y-%m}"})
    if from_month == this_month:
        raise BackfillError(
            _(
                "%(month)s has not ended yet; --from must be an earlier month (the current month's "
                "figures come from the regular detection runs)."
            )
            % {"month": f"{from_month:%Y-%m}"}
        )
    first_purchase = Transaction.objects.filter(kind=Transaction.Kind.PURCHASE).aggregate(first=Min("occurred_at"))
    if first_purchase["first"] is None:
        raise BackfillError(_("There are no purchases to replay; import the purchases first."))
    first_month = first_of_month(timezone.localdate(first_purchase["first"]))
    if from_month < first_month:
        raise BackfillError(
            _("The first purchase was in %(first)s; --from must be %(first)s or later, not %(month)s.")
            % {"first": f"{first_month:%Y-%m}", "month": f"{from_month:%Y-%m}"}
        )
    months = months_between(from_month, add_months(this_month, -1))
    latest = latest_run()
    if latest is None or latest.as_of < month_end(months[0]):
        return months, []
    if latest.as_of > month_end(months[-1]):
        raise BackfillError(already_run_message(latest.as_of))
    done = [month for month in months if month_end(month) <= latest.as_of]
    return [month for month in months if month_end(month) > latest.as_of], done


def _replay(month: dt.date, as_of: dt.date | None) -> MonthReplay:
    started = time.monotonic()
    try:
        run = run_detection(as_of=as_of, trigger=TRIGGER)
    except DetectionError as error:  # another run got in between the check and this replay
        previous = latest_run()
        raise BackfillError(already_run_message(previous.as_of) if previous else str(error)) from error
    record_at_risk(month)
    return _month_replay(month, run, time.monotonic() - started)


def _month_replay(month: dt.date, run: DetectionRun, seconds: float) -> MonthReplay:
    at_risk = AtRiskMonth.objects.filter(month=month).aggregate(n=Sum("at_risk"))["n"] or 0
    return MonthReplay(
        month=month,
        as_of=run.as_of,
        run_id=run.pk,
        defected_passive=run.summary.get("newly_defected_passive", 0),
        defected_active=run.summary.get("newly_defected_active", 0),
        won_back=run.summary.get("won_back", 0),
        at_risk=at_risk,
        seconds=round(seconds, 3),
    )


def backfill_history(from_month: dt.date, *, stdout=None) -> BackfillSummary:
    """Replays detection as of each month end from `from_month` on, then as of today, and rebuilds
    the dashboard's facts. Progress goes to `stdout` (anything with write()), a line per month."""
    started = time.monotonic()
    today = timezone.localdate()
    this_month = first_of_month(today)
    from_month = first_of_month(from_month)
    months, done = plan(from_month, today=today)

    def say(line: str) -> None:
        if stdout is not None:
            stdout.write(line + "\n")

    summary = BackfillSummary(from_month=from_month, to_month=add_months(this_month, -1), skipped=done)
    if done:
        latest_day = latest_run().as_of
        say(
            _("Detection has already run as of %(day)s: skipping %(count)s month(s) up to %(month)s.")
            % {"day": latest_day, "count": len(done), "month": f"{done[-1]:%Y-%m}"}
        )
        if latest_day == month_end(done[-1]):
            record_at_risk(done[-1])  # statuses are still as of that month end
    say(
        _("Replaying detection as of %(count)s month end(s), then as of today (%(today)s).")
        % {"count": len(months), "today": today}
    )
    say(HEADER)
    for month in months:
        replay = _replay(month, month_end(month))
        summary.months.append(replay)
        say(replay.row())
    summary.current = _replay(this_month, None)
    say(summary.current.row(label=_("now")))
    summary.refresh = refresh_facts(trigger=TRIGGER)
    summary.seconds = round(time.monotonic() - started, 3)
    say(
        _("Dashboard facts rebuilt in %(refresh)s s; backfill took %(total)s s.")
        % {"refresh": summary.refresh.seconds, "total": summary.seconds}
    )
    return summary
