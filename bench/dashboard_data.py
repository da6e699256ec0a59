"""What the dashboard benchmark (bench/dashboard_bench.py) needs on top of the case pages' data,
written set-based (INSERT … SELECT / UPDATE … FROM, no row-by-row ORM).

    shape(months=24)

Needs Django set up on a migrated database that holds customers with their purchase figures and,
for the case facts, the cases of bench/cases_data.py. Each step runs only when its data is missing,
so shaping a database twice changes nothing the second time:

1. **history**: when the defection events cover fewer than 12 months (the case pages' data opens
   them all in the last 60 days), defections over the last `months` months: every customer without
   an event whose last purchase lies 90 days before a day of that window defected passively on that
   day (one in five actively — a cancellation — up to 60 days after the last purchase; one in
   twenty a dismissed false alarm); a random sample of recent buyers — about 15% of the history —
   defected earlier and were won back 2–10 weeks later (so their purchases since then are the
   recovered revenue). About 60% carry a reason (Pareto-like: price, service and product quality
   first) and its fault; the lost revenue is a year of the customer's revenue. The customers'
   status follows (defected, won back) and those 60–90 days past their last purchase are at risk.
2. **invitations**: a sent exit-survey invitation for about 85% of the defections older than a day
   (sent three hours after detection), about 20% of them answered within ten days.
3. **offers**: when no offer was decided yet, an accepted one on each won-back case and a declined
   one on half of the lost ones (cost a twentieth of the value at stake, decided 10 days after
   opening); the case pages' data already has these.
4. **corrective actions**: when there are none, twelve over the reasons (four done months ago,
   four in progress, three open, one dropped), each linked to up to 500 defections citing its
   reason.

Then ANALYZE of the tables written.
"""

import time

HISTORY_MIN_MONTHS = 12
REASON_CUTS = (
    (0.30, "price"),
    (0.50, "service"),
    (0.65, "product_quality"),
    (0.77, "delivery"),
    (0.85, "billing"),
    (0.92, "changed_needs"),
    (0.97, "relocation"),
    (1.00, "other"),
)
OUR_FAULT = ("product_quality", "service", "delivery", "billing")
ACTIONS = (
    ("price", "done", "Price match for loyal customers", "Sales"),
    ("service", "done", "Second-level support on weekends", "Support"),
    ("delivery", "done", "Switch the courier for rural areas", "Logistics"),
    ("billing", "done", "Plain-language invoices", "Finance"),
    ("product_quality", "in_progress", "Quality check before shipping", "Operations"),
    ("price", "in_progress", "Volume discounts for SMB", "Sales"),
    ("service", "in_progress", "Call-back within one hour", "Support"),
    ("changed_needs", "in_progress", "Smaller plan for occasional buyers", "Product"),
    ("delivery", "open", "Delivery slots in the evening", "Logistics"),
    ("relocation", "open", "Keep customers who move abroad", "Sales"),
    ("other", "open", "Exit interview for large accounts", "Management"),
    ("product_quality", "dropped", "Extended warranty", "Operations"),
)
TABLES = (
    "customers_defectionevent",
    "customers_customer",
    "surveys_invitation",
    "cases_offer",
    "cases_correctiveaction",
    "cases_correctiveaction_events",
)


def _cuts_sql(column: str, cuts) -> str:
    return "CASE " + " ".join(f"WHEN {column} < {cut} THEN '{value}'" for cut, value in cuts) + " END"


def shape(*, months: int = 24, seed: float = 0.24) -> dict[str, int]:
    """Adds what is missing (see the module docstring); returns the rows written per step."""
    from django.db import connection, transaction

    started = time.perf_counter()
    counts: dict[str, int] = {}
    params = {"months": months, "our_fault": list(OUR_FAULT)}
    with transaction.atomic(), connection.cursor() as cursor:

        def run(sql: str) -> int:
            cursor.execute(sql, params)
            return max(cursor.rowcount, 0)

        def scalar(sql: str):
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

        run(f"SELECT setseed({seed})")
        if scalar("SELECT count(DISTINCT date_trunc('month', as_of)) FROM customers_defectionevent") < (
            HISTORY_MIN_MONTHS
        ):
            counts.update(_add_history(run))
        if not scalar("SELECT EXISTS (SELECT 1 FROM surveys_invitation)"):
            counts["invitations"] = _add_invitations(run)
        if not scalar("SELECT EXISTS (SELECT 1 FROM cases_offer WHERE decided_at IS NOT NULL)"):
            counts["offers"] = _add_offers(run)
        if not scalar("SELECT EXISTS (SELECT 1 FROM cases_correctiveaction)"):
            counts.update(_add_actions(run, scalar))
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


def _add_history(run) -> dict[str, int]:
    reason = _cuts_sql("r_reason / 0.6", REASON_CUTS)
    run(
        """
        CREATE TEMP TABLE bench_history ON COMMIT DROP AS
        WITH window_days AS (
            SELECT (current_date - make_interval(months => %(months)s))::date AS first_day,
                   current_date - 1 AS last_day
        ), candidates AS (
            SELECT c.id, c.last_purchase_at, c.lifetime_revenue, random() AS r_kind, random() AS r_reason,
                   random() AS r_status, random() AS r_days
            FROM customers_customer c
            WHERE c.last_purchase_at IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM customers_defectionevent e WHERE e.customer_id = c.id)
        ), lapsed AS (
            SELECT c.*, CASE WHEN c.r_kind < 0.2 THEN c.last_purchase_at::date + 1 + (c.r_days * 59)::int
                             ELSE c.last_purchase_at::date + 90 END AS as_of,
                   CASE WHEN c.r_kind < 0.2 THEN 'active' ELSE 'passive' END AS kind,
                   CASE WHEN c.r_status < 0.05 THEN 'closed' ELSE 'open' END AS status,
                   NULL::timestamptz AS recovered_at
            FROM candidates c, window_days w
            WHERE c.last_purchase_at::date + 90 BETWEEN w.first_day AND w.last_day
        ), recent AS (
            SELECT c.* FROM candidates c WHERE c.last_purchase_at > now() - interval '30 days'
            ORDER BY md5(c.id::text) LIMIT (SELECT count(*) * 15 / 85 FROM lapsed)
        ), won_back AS (
            SELECT r.*, current_date - 75 - (r.r_days * (%(months)s * 30 - 90))::int AS as_of,
                   CASE WHEN r.r_kind < 0.2 THEN 'active' ELSE 'passive' END AS kind, 'recovered' AS status
            FROM recent r
        )
        SELECT id AS customer_id, as_of, kind, status, NULL::timestamptz AS recovered_at, last_purchase_at,
               lifetime_revenue, r_reason, r_days
        FROM lapsed
        UNION ALL
        SELECT id, as_of, kind, status,
               as_of + make_interval(days => 14 + (r_kind * 56)::int, hours => 9 + (r_reason * 8)::int),
               (as_of - 90)::timestamptz, lifetime_revenue, r_reason, r_days
        FROM won_back
        """
    )
    events = run(
        f"""
        INSERT INTO customers_defectionevent (kind, relapse, detected_at, as_of, last_purchase_at, lost_revenue,
            primary_reason, fault, status, status_changed_at, closed_reason, recovered_at, customer_id, run_id)
        SELECT h.kind, false, (h.as_of + 1) + interval '2 hours', h.as_of, h.last_purchase_at,
               round(h.lifetime_revenue / 3, 2),
               CASE WHEN h.r_reason < 0.6 THEN {reason} ELSE '' END,
               CASE WHEN h.r_reason >= 0.6 THEN 'unknown'
                    WHEN {reason} = ANY(%(our_fault)s) THEN 'ours' ELSE 'not_ours' END,
               h.status, coalesce(h.recovered_at, (h.as_of + 1) + interval '2 hours'),
               CASE WHEN h.status = 'closed' THEN 'Benchmark: false alarm' ELSE '' END,
               h.recovered_at, h.customer_id, NULL
        FROM bench_history h
        """
    )
    customers = run(
        """
        UPDATE customers_customer c
        SET status = CASE h.status WHEN 'open' THEN 'defected' ELSE 'won_back' END,
            status_changed_at = coalesce(h.recovered_at, (h.as_of + 1) + interval '2 hours')
        FROM bench_history h
        WHERE c.id = h.customer_id AND h.status <> 'closed'
        """
    )
    at_risk = run(
        """
        UPDATE customers_customer c SET status = 'at_risk', status_changed_at = c.last_purchase_at + interval '60 days'
        WHERE c.status = 'active' AND c.last_purchase_at < now() - interval '60 days'
          AND c.last_purchase_at >= now() - interval '90 days'
        """
    )
    return {"history events": events, "customers defected or won back": customers, "customers at risk": at_risk}


def _add_invitations(run) -> int:
    return run(
        """
        INSERT INTO surveys_invitation (language, status, skip_reason, created_at, signer_name, signer_email,
            reviewer_name, message_id, attempts, next_attempt_at, claimed_at, last_error, sent_at, opened_at,
            open_count, responded_at, customer_id, event_id, signer_id, survey_id, possible_duplicates,
            reminder_attempts)
        SELECT 'en', 'sent', '', e.detected_at, 'Bench Signer', 'signer@bench.example.com', 'Bench Reviewer',
               '<bench-' || e.id || '@bench.example.com>', 1, e.detected_at, e.detected_at, '',
               e.detected_at + interval '3 hours',
               CASE WHEN a.answered THEN e.detected_at + a.delay END, CASE WHEN a.answered THEN 1 ELSE 0 END,
               CASE WHEN a.answered THEN e.detected_at + a.delay + interval '5 minutes' END,
               e.customer_id, e.id, NULL, NULL, 0, 0
        FROM customers_defectionevent e
        CROSS JOIN LATERAL (SELECT random() + 0 * e.id < 0.2 AS answered,  -- correlated: drawn per event
                                   make_interval(hours => (4 + random() * 230 + 0 * e.id)::int) AS delay) a
        WHERE e.as_of < current_date - 1 AND e.detected_at < now() - interval '1 day'
          AND abs(hashtext(e.id::text)) %% 100 < 85
          AND NOT EXISTS (SELECT 1 FROM surveys_invitation i WHERE i.event_id = e.id)
        """
    )


def _add_offers(run) -> int:
    return run(
        """
        INSERT INTO cases_offer (kind, description, value, cost, expires_on, status, decided_at, created_at,
            case_id, created_by_id, decided_by_id)
        SELECT 'discount', 'Dashboard benchmark offer', 15, round(k.value_at_stake / 20, 2),
               (k.opened_at + interval '30 days')::date,
               CASE WHEN k.stage = 'won_back' THEN 'accepted' ELSE 'declined' END,
               k.opened_at + interval '10 days', k.opened_at + interval '3 days', k.id, k.owner_id, k.owner_id
        FROM cases_case k
        WHERE k.owner_id IS NOT NULL
          AND (k.stage = 'won_back' OR (k.stage = 'lost' AND k.id %% 2 = 0))
        """
    )


def _add_actions(run, scalar) -> dict[str, int]:
    creator = scalar("SELECT id FROM auth_user ORDER BY username = 'bench-admin' DESC, is_superuser DESC, id LIMIT 1")
    if creator is None:
        return {}
    values = ", ".join(
        f"({n}, '{reason}', '{status}', '{title}', '{department}')"
        for n, (reason, status, title, department) in enumerate(ACTIONS, start=1)
    )
    actions = run(
        f"""
        INSERT INTO cases_correctiveaction (title, description, reason, department, deadline, status, done_at,
            lost_revenue, loop_closed_at, created_at, updated_at, created_by_id, owner_id, source_answer_id,
            source_case_id)
        SELECT a.title, 'Benchmark corrective action', a.reason, a.department,
               current_date + (a.n * 20 - 120), a.status,
               CASE WHEN a.status = 'done' THEN now() - make_interval(months => 2 + a.n * 2) END,
               coalesce((SELECT sum(e.lost_revenue) FROM customers_defectionevent e
                         WHERE e.primary_reason = a.reason AND e.as_of >= current_date - 365), 0),
               NULL, now() - make_interval(months => 4 + a.n * 2), now(), {creator}, {creator}, NULL, NULL
        FROM (VALUES {values}) AS a (n, reason, status, title, department)
        """
    )
    links = run(
        """
        INSERT INTO cases_correctiveaction_events (correctiveaction_id, defectionevent_id)
        SELECT a.id, e.id
        FROM cases_correctiveaction a
        CROSS JOIN LATERAL (SELECT e.id FROM customers_defectionevent e WHERE e.primary_reason = a.reason
                            AND e.as_of < a.created_at::date ORDER BY e.as_of DESC LIMIT 500) e
        """
    )
    return {"corrective actions": actions, "actions' events": links}
