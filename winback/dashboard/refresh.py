"""Rebuilds the dashboard's fact tables: one set-based INSERT … SELECT per source, all in one
transaction, so the page never sees half a refresh.

Definitions (DESIGN.md "Churn rate", "Lost revenue"; docs/dashboard.md):
- A dismissed false alarm (a defection event closed by a dismissal) is not churn and is left out.
- A customer counts towards the active stock from the month of their first purchase; a defection
  of a customer who had bought before its as-of day takes them out from the next month's start,
  and their win-back puts them back from the month after it. So "active at the start of M" is the
  sum of those three flows over the months before M.
- Recovered revenue: net purchases (refunds subtracted) of a customer made at or after their first
  win-back. For a case owner: those made at or after the case's win-back, until a later case of the
  same customer was won back.

Only the recovered revenue reads the transactions table, and only the rows of won-back customers
(through the (customer, time) index). Everything else reads customers, events, invitations,
cases and offers.
"""

import datetime as dt
import logging
import time
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from customers.detection.sql import db_time, is_postgres, local_date, local_midnight
from winback.dashboard.models import AtRiskMonth, CaseMonth, FactRefresh
from winback.dashboard.periods import add_months, first_of_month

logger = logging.getLogger(__name__)

LOCK_KEY = 0x57494E4244  # "WINBD": one refresh at a time
CASE_HISTORY_MONTHS = 36  # open cases at the end of each of these months


def month_of_time(column: str) -> str:
    """The first day of the business-time-zone month of a timestamp column."""
    if is_postgres():
        return f"CAST(date_trunc('month', {column} AT TIME ZONE %(tz)s) AS date)"
    return f"date({column}, %(tz_offset)s, 'start of month')"


def month_of_date(column: str) -> str:
    if is_postgres():
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"date({column}, 'start of month')"


def hours_between(later: str, earlier: str) -> str:
    if is_postgres():
        return f"CAST(floor(date_part('epoch', {later} - {earlier}) / 3600) AS integer)"
    return f"CAST((julianday({later}) - julianday({earlier})) * 24 AS INTEGER)"


SEG = "COALESCE(c.segment_id, 0)"
MGR = "COALESCE(c.account_manager_id, 0)"
SIGNED = "CASE WHEN t.kind = 'refund' THEN -t.amount ELSE t.amount END"


def _working_tables_sql() -> list[str]:
    """Two temporary tables read by most facts, so the customers and events are scanned and
    joined once rather than once per fact: customers by month of first purchase and dimensions,
    and every defection event with its customer's dimensions and how far it got."""
    in_stock = (
        f"CASE WHEN c.first_purchase_at IS NOT NULL AND {local_date('c.first_purchase_at')} < e.as_of THEN 1 ELSE 0 END"
    )
    return [
        "DROP TABLE IF EXISTS dash_customer",
        "DROP TABLE IF EXISTS dash_event",
        f"CREATE TEMP TABLE dash_customer AS SELECT {month_of_time('c.first_purchase_at')} AS cohort, "
        f"{SEG} AS seg, {MGR} AS mgr, COUNT(*) AS n FROM customers_customer c "
        "WHERE c.first_purchase_at IS NOT NULL GROUP BY 1, 2, 3",
        f"CREATE TEMP TABLE dash_event AS SELECT {month_of_date('e.as_of')} AS month, {SEG} AS seg, {MGR} AS mgr, "
        f"{month_of_time('c.first_purchase_at')} AS cohort, {in_stock} AS in_stock, e.kind, e.primary_reason, "
        "e.status, e.lost_revenue, CASE WHEN e.status = 'recovered' AND e.recovered_at IS NOT NULL "
        f"THEN {month_of_time('e.recovered_at')} END AS recovered_month, {month_of_time('i.sent_at')} AS sent_month, "
        "CASE WHEN i.responded_at IS NOT NULL THEN 1 ELSE 0 END AS answered, "
        "COALESCE(kc.contacted, 0) AS contacted, COALESCE(kc.offered, 0) AS offered "
        "FROM customers_defectionevent e JOIN customers_customer c ON c.id = e.customer_id "
        "LEFT JOIN surveys_invitation i ON i.event_id = e.id "
        "LEFT JOIN (SELECT k.event_id, MAX(CASE WHEN k.first_contact_at IS NOT NULL THEN 1 ELSE 0 END) AS contacted, "
        "MAX(CASE WHEN o.case_id IS NOT NULL THEN 1 ELSE 0 END) AS offered FROM cases_case k "
        "LEFT JOIN (SELECT DISTINCT case_id FROM cases_offer) o ON o.case_id = k.id "
        "WHERE k.event_id IS NOT NULL GROUP BY k.event_id) kc ON kc.event_id = e.id",
    ]


# Defection events that count (a dismissed false alarm does not)…
COUNTING = "status <> 'closed'"
# …and of those, the defections of customers who were in the active stock (had bought before).
STOCK = f"{COUNTING} AND in_stock = 1"


def _customer_month_sql() -> list[str]:
    table = "winback_customermonth (month, segment_key, manager_key, "
    return [
        f"INSERT INTO {table}new_customers) SELECT cohort, seg, mgr, n FROM dash_customer",
        f"INSERT INTO {table}defected_out) SELECT month, seg, mgr, COUNT(*) FROM dash_event WHERE {STOCK} "
        "GROUP BY 1, 2, 3",
        f"INSERT INTO {table}returned) SELECT recovered_month, seg, mgr, COUNT(*) FROM dash_event WHERE {STOCK} "
        "AND recovered_month IS NOT NULL GROUP BY 1, 2, 3",
        f"INSERT INTO {table}won_back) SELECT recovered_month, seg, mgr, COUNT(*) FROM dash_event "
        "WHERE recovered_month IS NOT NULL GROUP BY 1, 2, 3",
        f"INSERT INTO {table}survey_sent, survey_answered) SELECT sent_month, seg, mgr, COUNT(*), SUM(answered) "
        "FROM dash_event WHERE sent_month IS NOT NULL GROUP BY 1, 2, 3",
        # Net purchases since the customer's first win-back; separately, those of customers who
        # accepted an offer in a case (the return on the offers).
        f"INSERT INTO {table}recovered_revenue, offer_revenue) SELECT {month_of_time('t.occurred_at')}, {SEG}, "
        f"{MGR}, SUM({SIGNED}), SUM(CASE WHEN w.with_offer = 1 THEN {SIGNED} ELSE 0 END) "
        "FROM (SELECT r.customer_id, r.since, CASE WHEN EXISTS (SELECT 1 FROM cases_case k JOIN cases_offer o "
        "ON o.case_id = k.id WHERE k.customer_id = r.customer_id AND o.status = 'accepted') THEN 1 ELSE 0 END "
        "AS with_offer FROM (SELECT e.customer_id, MIN(e.recovered_at) AS since FROM customers_defectionevent e "
        "WHERE e.status = 'recovered' AND e.recovered_at IS NOT NULL GROUP BY e.customer_id) r) w "
        "JOIN customers_transaction t ON t.customer_id = w.customer_id AND t.occurred_at >= w.since "
        "JOIN customers_customer c ON c.id = w.customer_id GROUP BY 1, 2, 3",
        f"INSERT INTO {table}offers_accepted, offer_cost) SELECT {month_of_time('o.decided_at')}, {SEG}, {MGR}, "
        "COUNT(*), SUM(o.cost) FROM cases_offer o JOIN cases_case k ON k.id = o.case_id "
        "JOIN customers_customer c ON c.id = k.customer_id WHERE o.status = 'accepted' "
        "AND o.decided_at IS NOT NULL GROUP BY 1, 2, 3",
    ]


AT_RISK_SQL = [
    "DELETE FROM winback_atriskmonth WHERE month = %(month)s",
    "INSERT INTO winback_atriskmonth (month, segment_key, manager_key, at_risk) "
    f"SELECT %(month)s, {SEG}, {MGR}, COUNT(*) FROM customers_customer c WHERE c.status = 'at_risk' GROUP BY 2, 3",
    # The month is recorded even when nobody is at risk (its figure is then 0, not unknown).
    "INSERT INTO winback_atriskmonth (month, segment_key, manager_key, at_risk) VALUES (%(month)s, 0, 0, 0) "
    "ON CONFLICT DO NOTHING",
]


def _defection_month_sql() -> str:
    return (
        "INSERT INTO winback_defectionmonth (month, segment_key, manager_key, kind, reason, events, lost_revenue, "
        "invited, answered, contacted, offered, won_back) SELECT month, seg, mgr, kind, primary_reason, COUNT(*), "
        "SUM(lost_revenue), COUNT(sent_month), SUM(answered), SUM(contacted), SUM(offered), "
        f"SUM(CASE WHEN status = 'recovered' THEN 1 ELSE 0 END) FROM dash_event WHERE {COUNTING} "
        "GROUP BY 1, 2, 3, 4, 5"
    )


def _cohort_month_sql() -> list[str]:
    table = "winback_cohortmonth (cohort, month, segment_key, manager_key, "
    return [
        f"INSERT INTO {table}joined) SELECT cohort, cohort, seg, mgr, n FROM dash_customer",
        f"INSERT INTO {table}defected) SELECT cohort, month, seg, mgr, COUNT(*) FROM dash_event WHERE {STOCK} "
        "GROUP BY 1, 2, 3, 4",
        f"INSERT INTO {table}returned) SELECT cohort, recovered_month, seg, mgr, COUNT(*) FROM dash_event "
        f"WHERE {STOCK} AND recovered_month IS NOT NULL GROUP BY 1, 2, 3, 4",
    ]


CASE_DIMS = "COALESCE(k.segment_id, 0), COALESCE(k.owner_id, 0)"


def _case_month_sql() -> list[str]:
    table = "winback_casemonth (month, segment_key, manager_key, "
    closed = month_of_time("k.closed_at")
    return [
        f"INSERT INTO {table}opened) SELECT {month_of_time('k.opened_at')}, {CASE_DIMS}, COUNT(*) "
        "FROM cases_case k GROUP BY 1, 2, 3",
        f"INSERT INTO {table}won, lost, let_go) SELECT {closed}, {CASE_DIMS}, "
        "SUM(CASE WHEN k.stage = 'won_back' THEN 1 ELSE 0 END), SUM(CASE WHEN k.stage = 'lost' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN k.stage = 'let_go' THEN 1 ELSE 0 END) FROM cases_case k "
        "WHERE k.is_open = %(false)s AND k.closed_at IS NOT NULL GROUP BY 1, 2, 3",
        # Purchases after a case's win-back, until a later case of the customer was won back.
        f"INSERT INTO {table}recovered_revenue) SELECT {month_of_time('t.occurred_at')}, {CASE_DIMS}, "
        f"SUM({SIGNED}) FROM cases_case k JOIN customers_transaction t ON t.customer_id = k.customer_id "
        "AND t.occurred_at >= k.won_back_at WHERE k.won_back_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
        "cases_case k2 WHERE k2.customer_id = k.customer_id AND k2.won_back_at > k.won_back_at "
        "AND k2.won_back_at <= t.occurred_at) GROUP BY 1, 2, 3",
    ]


def _contact_hours_rows(cursor, params: dict) -> list[CaseMonth]:
    """First contacts by the month the case opened, with a histogram of the hours they took."""
    cursor.execute(
        f"SELECT {month_of_time('k.opened_at')}, {CASE_DIMS}, {hours_between('k.first_contact_at', 'k.opened_at')}, "
        "COUNT(*) FROM cases_case k WHERE k.first_contact_at IS NOT NULL GROUP BY 1, 2, 3, 4",
        params,
    )
    folded: dict[tuple, dict[str, int]] = defaultdict(dict)
    for month, segment, owner, hours, count in cursor.fetchall():
        folded[(_as_date(month), segment, owner)][str(max(int(hours), 0))] = count
    return [
        CaseMonth(
            month=month,
            segment_key=segment,
            manager_key=owner,
            first_contacts=sum(hist.values()),
            contact_hours=hist,
        )
        for (month, segment, owner), hist in folded.items()
    ]


def _open_case_rows(cursor, this_month: dt.date, now: dt.datetime) -> list[CaseMonth]:
    """Open cases and money at stake at the end of each recent month (now, for this one)."""
    rows = []
    months = [add_months(this_month, -back) for back in range(CASE_HISTORY_MONTHS, -1, -1)]
    for month in months:
        end = now if month == this_month else local_midnight(add_months(month, 1))
        cursor.execute(
            f"SELECT {CASE_DIMS}, COUNT(*), SUM(k.value_at_stake), SUM(CASE WHEN k.is_open = %s AND "
            "k.deadline_at < %s THEN 1 ELSE 0 END) FROM cases_case k WHERE k.opened_at < %s "
            "AND (k.closed_at IS NULL OR k.closed_at >= %s) GROUP BY 1, 2",
            [True, db_time(end), db_time(end), db_time(end)],
        )
        for segment, owner, count, stake, overdue in cursor.fetchall():
            rows.append(
                CaseMonth(
                    month=month,
                    segment_key=segment,
                    manager_key=owner,
                    open_end=count,
                    stake_end=stake or 0,
                    overdue_end=overdue if month == this_month else 0,
                )
            )
    return rows


def _as_date(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


TABLES = ("winback_customermonth", "winback_defectionmonth", "winback_casemonth", "winback_cohortmonth")


def refresh_facts(*, trigger: str = "command") -> FactRefresh:
    """Rebuilds every fact table from scratch (a few seconds at a million customers; see
    bench/dashboard_bench.py) and records the run. One refresh at a time."""
    run = FactRefresh.objects.create(trigger=trigger)
    started = time.monotonic()
    now = timezone.now()
    this_month = first_of_month(timezone.localdate(now))
    params = {
        "tz": str(timezone.get_default_timezone()),
        "tz_offset": f"{int(timezone.localtime(now).utcoffset().total_seconds() // 60):+d} minutes",
        "month": this_month if is_postgres() else this_month.isoformat(),
        "false": False,
    }
    counts: dict[str, int] = {}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if is_postgres():
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
                cursor.execute("SET LOCAL jit = off")
            for table in TABLES:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (a constant)
            statements = [
                *_working_tables_sql(),
                *_customer_month_sql(),
                *AT_RISK_SQL,
                _defection_month_sql(),
                *_cohort_month_sql(),
                *_case_month_sql(),
            ]
            for sql in statements:
                cursor.execute(sql, params)
                table = sql.split()[2] if sql.startswith("INSERT") else None
                if table:
                    counts[table] = counts.get(table, 0) + max(cursor.rowcount, 0)
            for table in ("dash_customer", "dash_event"):
                cursor.execute(f"DROP TABLE {table}")  # noqa: S608 (a constant)
            case_rows = _contact_hours_rows(cursor, params) + _open_case_rows(cursor, this_month, now)
            CaseMonth.objects.bulk_create(case_rows, batch_size=2000)
            counts["winback_casemonth"] = counts.get("winback_casemonth", 0) + len(case_rows)
        run.status = FactRefresh.Status.DONE
    except Exception as error:
        run.status, run.error = FactRefresh.Status.FAILED, str(error)[:2000]
        raise
    finally:
        run.finished_at = timezone.now()
        run.seconds = round(time.monotonic() - started, 3)
        run.rows = counts
        run.save()
        logger.info("dashboard refresh %s (%s): %s in %.2f s", run.pk, run.status, counts, run.seconds)
    return run


def record_at_risk(month: dt.date) -> int:
    """Writes the at-risk counts as they are now for `month` (the current month's rows are
    rewritten by each refresh; backfill_history calls this after replaying a month's last day).
    Returns the number of at-risk customers."""
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in AT_RISK_SQL:
            cursor.execute(sql, {"month": month if is_postgres() else month.isoformat()})
    return AtRiskMonth.objects.filter(month=month).aggregate(n=Sum("at_risk"))["n"] or 0


def latest_refresh() -> FactRefresh | None:
    return FactRefresh.objects.filter(status=FactRefresh.Status.DONE).order_by("-finished_at", "-id").first()
