"""Win-back cases at scale for the page benchmark (bench/pages_bench.py), written set-based.

    add_cases(cases=100_000, closed=20_000, managers=50, heavy=200)

Needs Django set up on a migrated database that holds customers (and, for realistic case pages,
their purchases). Creates `managers` account managers (bench-am-01 …), an administrator
(bench-admin) and an executive (bench-exec) through the product's user service, then in one
transaction, with INSERT … SELECT statements only (no row-by-row ORM):

- picks the customers: the `heavy` ones with the most purchases first (their case pages carry the
  most: many history rows, activities, offers, tasks, complaints, purchases), then a random sample;
- an open defection event per open case (closed/recovered ones for the closed cases);
- `cases` open cases over the managers (one in ten in the unassigned pool), stages new /
  contacting / diagnosed / offer made, deadlines from the opening day (some overdue), a follower on
  one in ten; `closed` closed ones (won back, lost, let go);
- the history (opened plus one row per stage reached), calls, offers on the cases at "offer made",
  follow-up tasks on a third of the open cases and health reviews on the won-back ones; on the
  heavy cases 300 history rows, 60 activities, 15 offers, 25 tasks and 20 complaints each;
- the customers become defected, owned by the case owner, with the revenue at stake as their
  annual value; then ANALYZE.
"""

import datetime as dt
import time
from dataclasses import dataclass, field

BENCH_PASSWORD = None  # the bench users sign in with force_login; no usable password
OPEN_STAGE_CUTS = ((0.35, "new"), (0.65, "contacting"), (0.85, "diagnosed"), (1.0, "offer_made"))
CLOSED_STAGE_CUTS = ((0.4, "won_back"), (0.8, "lost"), (1.0, "let_go"))
STAGE_ORDER = ("new", "contacting", "diagnosed", "offer_made", "won_back", "lost", "let_go")
HEAVY_HISTORY, HEAVY_ACTIVITIES, HEAVY_OFFERS, HEAVY_TASKS, HEAVY_COMPLAINTS = 300, 60, 15, 25, 20
REASONS = ("product_quality", "service", "price", "delivery", "billing", "relocation", "changed_needs", "other")
TABLES = (
    "cases_case",
    "cases_caseevent",
    "cases_case_followers",
    "cases_activity",
    "cases_offer",
    "cases_task",
    "customers_defectionevent",
    "customers_interaction",
    "customers_customer",
)


@dataclass
class CaseData:
    managers: list[int]
    administrator: int
    executive: int
    heavy_cases: list[int]
    light_cases: list[int]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def bench_users(managers: int) -> tuple[list[int], int, int]:
    """The benchmark's staff (created once, reused when they exist)."""
    from django.contrib.auth import get_user_model

    from winback.roles import Role
    from winback.services import user_create

    user_model = get_user_model()

    def user(username: str, role: Role) -> int:
        existing = user_model.objects.filter(username=username).first()
        if existing is not None:
            return existing.pk
        first, _, last = username.partition("-")
        created = user_create(
            username=username,
            email=f"{username}@bench.example.com",
            first_name=first.title(),
            last_name=last.upper(),
            role=role,
            password=BENCH_PASSWORD,
        )
        return created.pk

    manager_ids = [user(f"bench-am-{n:02d}", Role.ACCOUNT_MANAGER) for n in range(1, managers + 1)]
    return manager_ids, user("bench-admin", Role.ADMINISTRATOR), user("bench-exec", Role.EXECUTIVE)


def _stage_sql(cuts) -> str:
    return "CASE " + " ".join(f"WHEN r_stage < {cut} THEN '{stage}'" for cut, stage in cuts) + " END"


def add_cases(
    *,
    cases: int = 100_000,
    closed: int = 20_000,
    managers: int = 50,
    heavy: int = 200,
    seed: float = 0.42,
    now: dt.datetime | None = None,
) -> CaseData:
    from django.db import connection, transaction
    from django.utils import timezone

    started = time.perf_counter()
    now = now or timezone.now()
    manager_ids, admin_id, exec_id = bench_users(managers)
    heavy = min(heavy, cases)
    params = {
        "now": now,
        "cases": cases,
        "total": cases + closed,
        "heavy": heavy,
        "managers": manager_ids,
        "reasons": list(REASONS),
        "exec": exec_id,
    }
    with transaction.atomic(), connection.cursor() as cursor:

        def run(sql: str) -> int:
            cursor.execute(sql, params)
            return cursor.rowcount

        run(f"SELECT setseed({seed})")
        # The customers: the heaviest buyers first (they get the heavy case pages), then a sample.
        run(
            """
            CREATE TEMP TABLE bench_pick ON COMMIT DROP AS
            WITH heavy AS (
                SELECT id FROM customers_customer ORDER BY order_count DESC, id LIMIT %(heavy)s
            ), rest AS (
                SELECT id FROM customers_customer WHERE id NOT IN (SELECT id FROM heavy)
                ORDER BY md5(id::text) LIMIT %(total)s - (SELECT count(*) FROM heavy)
            ), ordered AS (
                SELECT id, 0 AS part FROM heavy UNION ALL SELECT id, 1 FROM rest
            )
            SELECT id AS customer_id, row_number() OVER (ORDER BY part, md5(id::text)) AS n,
                   random() AS r_stage, random() AS r_owner, random() AS r_value, random() AS r_age,
                   random() AS r_follow, random() AS r_task
            FROM ordered
            """
        )
        run(
            f"""
            CREATE TEMP TABLE bench_case ON COMMIT DROP AS
            SELECT p.*,
                   nextval(pg_get_serial_sequence('cases_case', 'id')) AS case_id,
                   nextval(pg_get_serial_sequence('customers_defectionevent', 'id')) AS event_id,
                   p.n <= %(cases)s AS is_open,
                   p.n <= %(heavy)s AS heavy,
                   CASE WHEN p.n <= %(cases)s THEN {_stage_sql(OPEN_STAGE_CUTS)}
                        ELSE {_stage_sql(CLOSED_STAGE_CUTS)} END AS stage,
                   CASE WHEN p.n > %(heavy)s AND p.r_owner < 0.1 AND p.n <= %(cases)s THEN NULL
                        ELSE (%(managers)s::int[])[1 + (p.n %% cardinality(%(managers)s::int[]))] END AS owner_id,
                   (%(managers)s::int[])[1 + ((p.n + 7) %% cardinality(%(managers)s::int[]))] AS follower_id,
                   round((exp(5 + p.r_value * 4) * CASE WHEN p.n <= %(heavy)s THEN 3 ELSE 1 END)::numeric, 2)
                       AS value_at_stake,
                   %(now)s::timestamptz - make_interval(days => (p.r_age * 60)::int, hours => (p.r_value * 9)::int)
                       AS opened_at,
                   (%(reasons)s::text[])[1 + (p.n %% 8)] AS reason
            FROM bench_pick p
            """
        )
        run("ALTER TABLE bench_case ADD PRIMARY KEY (case_id)")
        run("ANALYZE bench_case")
        counts = {}
        counts["defection events"] = run(
            """
            INSERT INTO customers_defectionevent (id, kind, relapse, detected_at, as_of, last_purchase_at,
                lost_revenue, primary_reason, fault, status, status_changed_at, closed_reason, recovered_at,
                customer_id, run_id)
            SELECT b.event_id, CASE WHEN b.n %% 5 = 0 THEN 'active' ELSE 'passive' END, false, b.opened_at,
                   b.opened_at::date, c.last_purchase_at, b.value_at_stake,
                   CASE WHEN b.stage IN ('new', 'contacting') THEN '' ELSE b.reason END, 'unknown',
                   CASE WHEN b.is_open THEN 'open' WHEN b.stage = 'won_back' THEN 'recovered' ELSE 'closed' END,
                   b.opened_at, '', CASE WHEN b.stage = 'won_back' THEN b.opened_at + interval '20 days' END,
                   b.customer_id, NULL
            FROM bench_case b JOIN customers_customer c ON c.id = b.customer_id
            """
        )
        counts["cases"] = run(
            """
            INSERT INTO cases_case (id, stage, is_open, opened_at, value_at_stake, first_contact_due,
                first_contact_at, due_at, deadline_at, primary_reason, fault, closed_at, close_note, won_back_at,
                relapse, reopened_count, updated_at, customer_id, event_id, opened_by_id, owner_id,
                previous_case_id, rescued_by_id, segment_id)
            SELECT b.case_id, b.stage, is_open, opened_at, value_at_stake, opened_at + interval '2 days',
                   CASE WHEN stage <> 'new' THEN opened_at + interval '1 day' END, opened_at + interval '28 days',
                   CASE WHEN NOT is_open THEN NULL
                        WHEN stage = 'new' THEN opened_at + interval '2 days'
                        ELSE opened_at + interval '28 days' END,
                   CASE WHEN stage IN ('new', 'contacting') THEN '' ELSE reason END,
                   CASE WHEN stage IN ('new', 'contacting') THEN 'unknown' WHEN n %% 3 = 0 THEN 'not_ours'
                        ELSE 'ours' END,
                   CASE WHEN NOT is_open THEN opened_at + interval '20 days' END,
                   CASE WHEN is_open THEN '' ELSE 'Benchmark outcome' END,
                   CASE WHEN stage = 'won_back' THEN opened_at + interval '20 days' END,
                   false, 0, %(now)s, b.customer_id, b.event_id, NULL, b.owner_id, NULL, NULL, c.segment_id
            FROM bench_case b JOIN customers_customer c ON c.id = b.customer_id
            """
        )
        counts["followers"] = run(
            """
            INSERT INTO cases_case_followers (case_id, user_id)
            SELECT case_id, follower_id FROM bench_case
            WHERE (r_follow < 0.1 OR heavy) AND follower_id IS DISTINCT FROM owner_id
            """
        )
        # History: "opened", then one row per stage reached (the closed ones via the open stages).
        counts["history"] = run(
            """
            INSERT INTO cases_caseevent (at, kind, summary, before, after, actor_id, case_id)
            SELECT b.opened_at + step * interval '5 hours', CASE WHEN step = 0 THEN 'opened' ELSE 'stage' END,
                   CASE WHEN step = 0 THEN 'Opened' ELSE 'Moved to ' || s.stage END,
                   CASE WHEN step = 0 THEN '{}'::jsonb
                        ELSE jsonb_build_object('stage', (%(stages)s::text[])[least(step, 4)]) END,
                   jsonb_build_object('stage', CASE WHEN step = 0 THEN 'new' ELSE s.stage END),
                   CASE WHEN step = 0 THEN NULL ELSE b.owner_id END, b.case_id
            FROM bench_case b
            CROSS JOIN LATERAL generate_series(0, array_position(%(stages)s::text[], b.stage) - 1) AS step
            CROSS JOIN LATERAL (SELECT (%(stages)s::text[])[step + 1] AS stage) s
            WHERE step = 0 OR b.stage = s.stage OR step < 4
            """.replace("%(stages)s", "'{" + ",".join(STAGE_ORDER) + "}'")
        )
        counts["history"] += run(
            f"""
            INSERT INTO cases_caseevent (at, kind, summary, before, after, actor_id, case_id)
            SELECT b.opened_at + k * interval '7 minutes', (ARRAY['note', 'activity', 'task', 'offer'])[1 + k %% 4],
                   'Benchmark history entry ' || k, '{{}}'::jsonb, jsonb_build_object('n', k), b.owner_id, b.case_id
            FROM bench_case b CROSS JOIN generate_series(1, {HEAVY_HISTORY}) AS k
            WHERE b.heavy
            """
        )
        counts["activities"] = run(
            f"""
            INSERT INTO cases_activity (kind, happened_at, apologised, listened, diagnosed, helped, offered, notes,
                reason, fault, to_email, subject, body, message_id, email_status, channel_warning, created_at,
                actor_id, case_id)
            SELECT CASE WHEN k %% 3 = 0 THEN 'meeting' ELSE 'call' END, b.opened_at + k * interval '3 hours',
                   true, true, b.stage NOT IN ('new', 'contacting'), k %% 2 = 0, b.stage = 'offer_made',
                   'Talked it through; the customer will think about it.',
                   CASE WHEN b.stage IN ('new', 'contacting') THEN '' ELSE b.reason END, '', '', '', '', NULL, '', '',
                   b.opened_at + k * interval '3 hours', coalesce(b.owner_id, %(exec)s), b.case_id
            FROM bench_case b
            CROSS JOIN LATERAL generate_series(1, CASE WHEN b.heavy THEN {HEAVY_ACTIVITIES}
                                                      WHEN b.stage = 'new' THEN 0 ELSE 1 + b.n %% 2 END) AS k
            """
        )
        counts["offers"] = run(
            f"""
            INSERT INTO cases_offer (kind, description, value, cost, expires_on, status, decided_at, created_at,
                case_id, created_by_id, decided_by_id)
            SELECT (ARRAY['discount', 'credit', 'free_service', 'other'])[1 + k %% 4], 'Benchmark offer ' || k,
                   15, round(b.value_at_stake / 20, 2), (b.opened_at + interval '30 days')::date,
                   CASE WHEN b.stage = 'won_back' AND k = 1 THEN 'accepted' WHEN b.stage = 'offer_made' AND k = 1
                        THEN 'open' ELSE 'declined' END,
                   CASE WHEN b.stage = 'offer_made' AND k = 1 THEN NULL ELSE b.opened_at + interval '10 days' END,
                   b.opened_at + interval '3 days' + k * interval '1 hour',
                   b.case_id, coalesce(b.owner_id, %(exec)s),
                   CASE WHEN b.stage = 'offer_made' AND k = 1 THEN NULL ELSE coalesce(b.owner_id, %(exec)s) END
            FROM bench_case b
            CROSS JOIN LATERAL generate_series(1, CASE WHEN b.heavy THEN {HEAVY_OFFERS}
                                                      WHEN b.stage IN ('offer_made', 'won_back') THEN 1 ELSE 0 END) k
            """
        )
        counts["tasks"] = run(
            f"""
            INSERT INTO cases_task (kind, title, due_on, notes, done_at, created_at, assignee_id, case_id,
                created_by_id, done_by_id)
            SELECT CASE WHEN b.stage = 'won_back' THEN 'health_review' ELSE 'follow_up' END,
                   CASE WHEN b.stage = 'won_back' THEN 'Health review ' || k ELSE 'Call back ' || k END,
                   (b.opened_at + (CASE WHEN b.stage = 'won_back' THEN 20 + 182 * k ELSE 2 + k * 2 END)
                                  * interval '1 day')::date,
                   '', CASE WHEN b.heavy AND k %% 2 = 0 THEN b.opened_at + k * interval '1 day' END,
                   b.opened_at, b.owner_id, b.case_id, CASE WHEN b.stage = 'won_back' THEN NULL ELSE b.owner_id END,
                   CASE WHEN b.heavy AND k %% 2 = 0 THEN b.owner_id END
            FROM bench_case b
            CROSS JOIN LATERAL generate_series(1, CASE WHEN b.heavy THEN {HEAVY_TASKS}
                                                      WHEN b.stage = 'won_back' THEN 4
                                                      WHEN b.is_open AND b.r_task < 0.33 THEN 1 ELSE 0 END) k
            """
        )
        counts["complaints"] = run(
            f"""
            INSERT INTO customers_interaction (occurred_at, channel, kind, summary, status, due_at, resolved_at,
                created_at, created_by_id, customer_id, owner_id)
            SELECT b.opened_at - k * 4 * interval '1 day', 'email',
                   CASE WHEN k %% 2 = 0 THEN 'complaint' ELSE 'support_request' END,
                   'The delivery arrived late again (' || k || ')', 'resolved', NULL,
                   b.opened_at - (k * 4 - 1) * interval '1 day', b.opened_at, b.owner_id, b.customer_id, b.owner_id
            FROM bench_case b CROSS JOIN generate_series(1, {HEAVY_COMPLAINTS}) k
            WHERE b.heavy
            """
        )
        counts["customers updated"] = run(
            """
            UPDATE customers_customer c
            SET status = CASE WHEN b.is_open THEN 'defected' WHEN b.stage = 'won_back' THEN 'won_back'
                              ELSE 'lost' END,
                status_changed_at = b.opened_at, account_manager_id = b.owner_id,
                annual_value = b.value_at_stake
            FROM bench_case b WHERE c.id = b.customer_id
            """
        )
        cursor.execute("SELECT case_id FROM bench_case WHERE heavy ORDER BY case_id")
        heavy_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT case_id FROM bench_case WHERE is_open AND NOT heavy AND owner_id IS NOT NULL"
            " ORDER BY n LIMIT %(heavy)s",
            params,
        )
        light_ids = [row[0] for row in cursor.fetchall()]
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
    return CaseData(
        managers=manager_ids,
        administrator=admin_id,
        executive=exec_id,
        heavy_cases=heavy_ids,
        light_cases=light_ids,
        counts=counts,
        seconds=time.perf_counter() - started,
    )


def existing_cases(managers: int, heavy: int) -> CaseData | None:
    """The CaseData of a database `add_cases` filled before (pages_bench --reuse); None if it has none."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    users = dict(get_user_model().objects.filter(username__startswith="bench-").values_list("username", "pk"))
    manager_ids = [users[name] for name in sorted(users) if name.startswith("bench-am-")][:managers]
    if not manager_ids or "bench-admin" not in users:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT case_id FROM cases_caseevent GROUP BY case_id HAVING count(*) >= %s ORDER BY case_id LIMIT %s",
            [HEAVY_HISTORY, heavy],
        )
        heavy_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT id FROM cases_case WHERE is_open AND owner_id = ANY(%s) AND NOT (id = ANY(%s))"
            " ORDER BY id LIMIT %s",
            [manager_ids, heavy_ids, heavy],
        )
        light_ids = [row[0] for row in cursor.fetchall()]
    return CaseData(
        managers=manager_ids,
        administrator=users["bench-admin"],
        executive=users.get("bench-exec"),
        heavy_cases=heavy_ids,
        light_cases=light_ids,
    )
