"""The detection run: figures, RFM scores, statuses, status history and defection events, in one
transaction under an advisory lock, in a handful of set-based statements.

Modes:
- nightly: recompute the figures of customers with new purchases or contacts (metrics_stale),
  then re-evaluate every customer's rules from the kept-current columns;
- full: recompute every customer's figures from the purchases (a repair; also chosen when the
  previous run replayed a past day);
- as_of: replay a past day from the purchases as they stood then (later ones ignored).
"""

import datetime as dt
import logging
import time

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.detection import figures, gaps, recompute
from customers.detection import sql as q
from customers.detection.halves import Halves, drop_tables, drop_view_or_table
from customers.detection.rules import RULE_CASE, current_rules, evaluation_sql, named
from customers.models import DetectionRun

logger = logging.getLogger(__name__)

LOCK_KEY = 730002  # pg_advisory_xact_lock key of detection runs
IMPORT_LOCK_KEY = 730001  # the imports' key (customers.services.imports)
SUMMARY_KEYS = (
    "scanned",
    "figures_updated",
    "newly_at_risk",
    "newly_defected_passive",
    "newly_defected_active",
    "won_back",
    "relapsed",
    "back_to_active",
    "events_opened",
    "events_closed",
)


class DetectionError(Exception):
    """A run that must not happen (a replay going back in time, a day in the future)."""


def latest_run() -> DetectionRun | None:
    return DetectionRun.objects.filter(dry_run=False, status=DetectionRun.Status.DONE).order_by("-id").first()


def run_detection(
    *, as_of: dt.date | None = None, full: bool = False, dry_run: bool = False, trigger: str = "command"
) -> DetectionRun:
    today = timezone.localdate()
    as_of = as_of or today
    if as_of > today:
        raise DetectionError(_("The as-of day %(day)s is in the future.") % {"day": as_of})
    run = DetectionRun.objects.create(as_of=as_of, mode=DetectionRun.Mode.FULL, dry_run=dry_run, trigger=trigger)
    started = time.monotonic()
    # Inside a caller's transaction a second connection would not see its changes (and the
    # halves' tables could not be dropped after the run): one connection then.
    nested = connection.in_atomic_block
    try:
        numbered = number_purchases_first()
        with transaction.atomic():
            _lock()
            previous = latest_run()
            run.mode = _choose_mode(previous, as_of, today, full, dry_run)
            run.metrics_current = run.mode != DetectionRun.Mode.AS_OF
            run.summary = _detect(run, q.Windows(as_of), previous, halves_allowed=not nested)
            run.summary["purchases_numbered"] += numbered
            run.seconds = round(time.monotonic() - started, 3)
            run.summary["seconds"] = run.seconds
            run.status, run.finished_at = DetectionRun.Status.DONE, timezone.now()
            run.save()
            if dry_run:
                transaction.set_rollback(True)
    except Exception as error:
        run.status, run.finished_at, run.error = DetectionRun.Status.FAILED, timezone.now(), str(error)[:2000]
        run.seconds = round(time.monotonic() - started, 3)
        run.save()
        raise
    finally:
        if not connection.in_atomic_block:
            drop_tables(run.pk)
    if dry_run:  # the transaction (and the run's own update) was rolled back: record the outcome
        run.save()
    logger.info("detection run %s as of %s (%s): %s", run.pk, as_of, run.mode, run.summary)
    return run


def _lock() -> None:
    """The run's locks, until its transaction ends (PostgreSQL)."""
    if q.is_postgres():
        with connection.cursor() as cursor:
            # Imports wait too: a purchase committed mid-run must not lose its stale mark.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
            # The statements look expensive to the planner (millions of rows), but JIT
            # compilation only added ~0.6 s to each of them in the benchmark.
            cursor.execute("SET LOCAL jit = off")


def number_purchases_first() -> int:
    """Numbers the purchases' gaps in a transaction of their own (PostgreSQL), so that the
    second connection of a recompute of everyone sees them: the run numbers again what an
    import committed in between, and then computes on one connection. The backtest calls it
    too (SQLite computes the gaps in its figures query)."""
    if not q.is_postgres() or not gaps.pending():
        return 0
    with transaction.atomic():
        _lock()
        return gaps.number_purchases()


def _choose_mode(previous: DetectionRun | None, as_of: dt.date, today: dt.date, full: bool, dry_run: bool) -> str:
    if previous and as_of < previous.as_of and not dry_run:
        raise DetectionError(
            _(
                "Detection has already run as of %(done)s; a replay must go forward in time. "
                "Use --dry-run to see what the rules would have flagged on %(day)s."
            )
            % {"done": previous.as_of, "day": as_of}
        )
    if as_of < today:
        return DetectionRun.Mode.AS_OF
    if full or previous is None or not previous.metrics_current:
        return DetectionRun.Mode.FULL
    return DetectionRun.Mode.NIGHTLY


class _Steps:
    """Seconds per step of a run, kept in its summary (where the time goes, at a glance)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.monotonic()

    def done(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(now - self._last, 3)
        self._last = now


WON_AT = (
    "(SELECT min(t.occurred_at) FROM customers_transaction t WHERE t.customer_id = e.id "
    "AND t.kind = 'purchase' AND t.occurred_at > e.defection_activity_at AND t.occurred_at < %(cut)s)"
)


def _detect(run: DetectionRun, windows: q.Windows, previous: DetectionRun | None, halves_allowed: bool) -> dict:
    now = timezone.now()
    steps = _Steps()
    # Statuses and events change "as of" the run's day: a replay of a past day dates them at its end.
    params = {
        **windows.params(),
        "now": q.db_time(now),
        "changed_at": q.db_time(min(now, windows.cut - dt.timedelta(seconds=1))),
        "run_id": run.pk,
    }
    scope = "stale" if run.mode == DetectionRun.Mode.NIGHTLY else "all"
    summary = dict.fromkeys(SUMMARY_KEYS, 0)
    if scope == "stale":
        for statement in q.stale_table_sql():
            q.execute(statement, {})
    summary["purchases_numbered"] = gaps.number_purchases()
    steps.done("prepare")
    # In halves on two connections (big tables), unless this transaction numbered purchases,
    # which the second connection would not see.
    split = halves_allowed and not summary["purchases_numbered"] and figures.in_halves(scope)
    halves = Halves(run.pk) if split else None
    try:
        figures.fill_figures(params, scope, halves)
        summary["figure_connections"] = 2 if halves else 1
        steps.done("compute_figures")
        if scope == "all":
            customers = recompute.count_customers(halves)
        previous_cuts = (previous.summary.get("rfm_cuts") or None) if previous and scope == "stale" else None
        cuts = figures.rfm_cuts(scope, previous_cuts)
        summary["rfm_cuts"] = figures.cuts_as_json(cuts)
        steps.done("cut_points")
        rules = current_rules()
        if scope == "all":
            summary["figures_updated"] = recompute.select_rows(rules, cuts, params, WON_AT, halves)
            summary["scanned"] = customers()
            _count_changes(summary)
            steps.done("evaluate_rules")
            summary["events_closed"] = q.execute(_close_events_sql(), params)
            recompute.write_rows(STATUS_ASSIGNMENTS, params)
        else:
            summary["scanned"] = _nightly(summary, rules, cuts, params, steps)
    finally:
        if halves:
            halves.close()
    steps.done("write_customers")
    q.execute(_history_sql(), params)
    summary["events_opened"] = q.execute(_open_events_sql(), params)
    q.execute("DROP TABLE detect_changes", {})
    drop_view_or_table(recompute.ROWS)
    drop_view_or_table(figures.TABLE)
    steps.done("history_and_events")
    summary["steps"] = steps.seconds
    return summary


def _nightly(summary: dict, rules: list, cuts: dict | None, params: dict, steps: _Steps) -> int:
    """The nightly run's writes: the stale customers' new figures, and every customer's rules
    evaluated on the kept-current columns. It evaluates the rules on the new figures before
    writing them, so that each recomputed customer (most of whom bought, many of whom come back)
    is written once, figures and status together: a second write of the same row is never
    heap-only (status is indexed) and costs ~0.2 ms. Returns the number of customers."""
    write_params = dict(params)
    with_purchases, without_purchases = figures.nightly_write_sql(cuts, write_params, STATUS_ASSIGNMENTS)
    summary["figures_updated"] = q.execute(without_purchases, write_params)
    # The customers whose new figures are not written yet (still marked stale; those without
    # purchases were written above) are read from detect_figures, in a second statement (a
    # temporary table is read by the leader alone, the customers table by parallel workers).
    parts = [("customers_customer", "NOT c.metrics_stale"), (figures.evaluation_source(), "")]
    q.execute("DROP TABLE IF EXISTS detect_changes", {})
    for index, (source, where) in enumerate(parts):
        evaluation, positional = evaluation_sql(rules, source, where)
        select, all_params = named(
            f"SELECT e.*, {RULE_CASE} AS rule, CASE WHEN e.new_status = 'won_back' AND e.old_status IN "
            f"('defected', 'lost') THEN {WON_AT} END AS won_at FROM ({evaluation}) e "
            "WHERE e.new_status <> e.old_status",
            params,
            positional,
        )
        q.execute(
            f"INSERT INTO detect_changes {select}" if index else f"CREATE TEMP TABLE detect_changes AS {select}",
            all_params,
        )
    if q.is_postgres():
        q.execute("ANALYZE detect_changes", {})
    scanned = _count("SELECT count(*) FROM customers_customer")
    _count_changes(summary)
    steps.done("evaluate_rules")
    summary["events_closed"] = q.execute(_close_events_sql(), params)
    summary["figures_updated"] += q.execute(with_purchases, write_params)
    q.execute(_update_customers_sql(), params)
    return scanned


def _count(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def _count_changes(summary: dict) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT new_status, rule, won_back_at IS NOT NULL, count(*) FROM detect_changes GROUP BY 1, 2, 3"
        )
        for status, rule, relapse, count in cursor.fetchall():
            if status == "at_risk":
                summary["newly_at_risk"] += count
            elif status == "defected":
                key = "newly_defected_active" if rule == "cancellation" else "newly_defected_passive"
                summary[key] += count
                summary["relapsed"] += count if relapse else 0
            elif rule == "won_back":
                summary["won_back"] += count
            else:
                summary["back_to_active"] += count


def _close_events_sql() -> str:
    """A win-back recovers the customer's latest defection event (open, or closed as lost)."""
    return (
        "UPDATE customers_defectionevent SET status = 'recovered', recovered_at = ch.won_at, "
        "status_changed_at = %(changed_at)s FROM detect_changes ch "
        "WHERE customers_defectionevent.customer_id = ch.id AND ch.rule = 'won_back' "
        "AND customers_defectionevent.status <> 'recovered' AND customers_defectionevent.id = ("
        "SELECT e2.id FROM customers_defectionevent e2 WHERE e2.customer_id = ch.id "
        "ORDER BY e2.as_of DESC, e2.id DESC LIMIT 1)"
    )


STATUS_ASSIGNMENTS = {
    "status": "ch.new_status",
    "status_changed_at": "%(changed_at)s",
    "defection_activity_at": "CASE WHEN ch.new_status = 'defected' THEN "
    "(CASE WHEN ch.rule = 'cancellation' THEN ch.last_cancellation_at ELSE ch.last_purchase_at END) "
    "ELSE c.defection_activity_at END",
    "won_back_at": "CASE WHEN ch.rule = 'won_back' THEN coalesce(ch.won_at, ch.last_purchase_at) "
    "ELSE c.won_back_at END",
}


def _update_customers_sql() -> str:
    """The new statuses of the customers the nightly figures' write left out."""
    assignments = ", ".join(f"{column} = {value}" for column, value in STATUS_ASSIGNMENTS.items())
    skip = f" AND NOT EXISTS (SELECT 1 FROM {figures.TABLE} m WHERE m.id = ch.id)"
    return f"UPDATE customers_customer AS c SET {assignments} FROM detect_changes ch WHERE c.id = ch.id{skip}"


def _history_sql() -> str:
    facts = q.json_object(
        {
            "days": "ch.days_since",
            "at_risk_days": "ch.at_risk_days",
            "defected_days": "ch.defected_days",
            "rhythm": "CASE WHEN ch.rhythm_enabled THEN 1 ELSE 0 END",
            "multiple": "CAST(ch.rhythm_multiple AS float)",
            "gap": "round(CAST(ch.median_gap_days AS numeric), 1)",
            "orders_90d": "ch.orders_90d",
            "orders_base": "ch.orders_90d_base",
            "drop_percent": "ch.rate_drop_percent",
            "last_purchase": q.local_date("ch.last_purchase_at"),
            "cancelled_on": q.local_date("ch.last_cancellation_at"),
            "won_on": q.local_date("ch.won_at"),
        }
    )
    return (
        "INSERT INTO customers_statuschange (customer_id, from_status, to_status, rule, facts, as_of, changed_at, "
        f"run_id) SELECT ch.id, ch.old_status, ch.new_status, ch.rule, {facts}, %(as_of)s, %(now)s, %(run_id)s "
        "FROM detect_changes ch"
    )


def _open_events_sql() -> str:
    return (
        "INSERT INTO customers_defectionevent (customer_id, kind, relapse, detected_at, as_of, last_purchase_at, "
        "lost_revenue, primary_reason, fault, status, status_changed_at, closed_reason, run_id) "
        "SELECT ch.id, CASE WHEN ch.rule = 'cancellation' THEN 'active' ELSE 'passive' END, "
        "ch.won_back_at IS NOT NULL, %(now)s, %(as_of)s, ch.last_purchase_at, ch.annual_value, '', 'unknown', "
        "'open', %(changed_at)s, '', %(run_id)s FROM detect_changes ch WHERE ch.new_status = 'defected' "
        "ON CONFLICT (customer_id) WHERE status = 'open' DO NOTHING"
    )
