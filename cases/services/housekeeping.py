"""Case housekeeping: the hourly job (also started right after each detection run) that keeps the
cases in step with detection.

1. Won back automatically: an open case whose customer bought since it opened (or whose defection
   event detection recovered) moves to "won back" through the state machine, which schedules the
   intensive-care reviews.
2. Opening: a case for each open defection event without one, whose customer has no open case and
   whose lost revenue reaches the threshold (the segment's, else the default), when cases open
   automatically; and always for a relapse of a customer who had a case before (flagged, linked to
   the customer's latest case). Set-based, in batches: the first run over a large database opens
   tens of thousands of cases.
3. Expired offers close themselves.

Every step is idempotent and safe to run twice at once: openings take turns on the settings row
(and the one-open-case-per-customer constraint stops anything that slips through), moves lock the
case and re-check, and offers are claimed with SKIP LOCKED.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import DecimalField, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from cases import states
from cases.models import Case, CaseEvent, CaseSettings, Offer, Stage
from cases.selectors import active_managers
from cases.workdays import add_working_days, holidays_between
from customers.models import DefectionEvent, Fault, Transaction

logger = logging.getLogger(__name__)

BATCH = 5000
SQL_BATCH = 25000  # one INSERT … SELECT (PostgreSQL) handles this many events
MONEY = DecimalField(max_digits=16, decimal_places=2)
ZERO = Value(Decimal("0"), output_field=MONEY)


@dataclass
class Outcome:
    won_back: int = 0
    opened: int = 0
    relapses: int = 0
    offers_expired: int = 0

    def __str__(self) -> str:
        return (
            f"won back {self.won_back}, opened {self.opened} (relapses {self.relapses}), "
            f"offers expired {self.offers_expired}"
        )


def run_housekeeping(*, detection_run_id: int | None = None, now: dt.datetime | None = None) -> str:
    """Runs every step once; returns a one-line summary. `detection_run_id` only names the run that
    triggered it (each step finds its work by a query)."""
    now = now or timezone.now()
    outcome = Outcome()
    outcome.won_back = win_back_cases(now=now)
    outcome.opened, outcome.relapses = open_cases(now=now)
    outcome.offers_expired = expire_offers(now=now)
    prefix = f"after detection run {detection_run_id}: " if detection_run_id else ""
    logger.info("case housekeeping %s%s", prefix, outcome)
    return f"{prefix}{outcome}"


# --- 1. Won back ------------------------------------------------------------------------------


def win_back_candidates():
    """Open cases whose customer bought since the case opened, or whose defection event detection
    recovered; annotated with the first purchase after the opening (the win-back's time)."""
    first_purchase = (
        Transaction.objects.filter(
            customer_id=OuterRef("customer_id"),
            kind=Transaction.Kind.PURCHASE,
            occurred_at__gt=OuterRef("opened_at"),
        )
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    return (
        Case.objects.filter(is_open=True)
        .filter(
            Q(customer__won_back_at__gt=F("opened_at"))
            | Q(customer__last_purchase_at__gt=F("opened_at"))
            | Q(event__status=DefectionEvent.Status.RECOVERED)
        )
        .annotate(first_purchase_at=Subquery(first_purchase))
        .select_related("customer", "event")
        .order_by("pk")
    )


def win_back_cases(*, now: dt.datetime) -> int:
    moved = 0
    after = 0
    while True:
        batch = list(win_back_candidates().filter(pk__gt=after)[:500])
        if not batch:
            return moved
        after = batch[-1].pk
        for case in batch:
            won_at = (
                case.first_purchase_at
                or (case.event.recovered_at if case.event else None)
                or case.customer.won_back_at
                or case.customer.last_purchase_at
                or now
            )
            if states.check(case, Stage.WON_BACK, automatic=True):
                continue
            day = formats.date_format(timezone.localdate(won_at), "SHORT_DATE_FORMAT")
            try:
                states.move(
                    case,
                    Stage.WON_BACK,
                    actor=None,
                    automatic=True,
                    won_back_at=won_at,
                    note=_("Detection saw a purchase on %(day)s") % {"day": day},
                )
            except ValidationError:  # moved meanwhile (a concurrent run or a person)
                continue
            moved += 1


# --- 2. Opening -------------------------------------------------------------------------------


def opening_candidates(settings: CaseSettings):
    """Open defection events to open a case for, oldest id first: no case for the event yet, no
    open case for the customer, and the lost revenue reaching the threshold (when cases open
    automatically) or a relapse of a customer who had a case before."""
    latest_case = Case.objects.filter(customer_id=OuterRef("customer_id")).order_by("-opened_at", "-id").values("id")
    value = Coalesce(NullIf(F("lost_revenue"), ZERO), F("customer__annual_value"), ZERO, output_field=MONEY)
    threshold = Coalesce(
        F("customer__segment__case_threshold__value_threshold"),
        Value(settings.value_threshold, output_field=MONEY),
        output_field=MONEY,
    )
    rule = Q(relapse=True, previous_id__isnull=False)
    if settings.open_automatically:
        rule |= Q(value__gte=F("threshold"))
    return (
        DefectionEvent.objects.filter(status=DefectionEvent.Status.OPEN)
        .exclude(Exists(Case.objects.filter(event_id=OuterRef("pk"))))
        .exclude(Exists(Case.objects.filter(customer_id=OuterRef("customer_id"), is_open=True)))
        .annotate(value=value, threshold=threshold, previous_id=Subquery(latest_case[:1]))
        .filter(rule)
        .order_by("pk")
    )


@dataclass(frozen=True)
class Deadlines:
    first_contact_due: dt.datetime
    due_at: dt.datetime


def deadlines_for(now: dt.datetime, settings: CaseSettings) -> Deadlines:
    """The same for every case opened at `now` (one holidays query for the run)."""
    today = timezone.localdate(now)
    days = max(settings.first_contact_working_days, settings.deadline_working_days)
    holidays = holidays_between(today, today + dt.timedelta(days=days * 2 + 30))
    return Deadlines(
        first_contact_due=add_working_days(now, settings.first_contact_working_days, holidays),
        due_at=add_working_days(now, settings.deadline_working_days, holidays),
    )


def open_cases(*, now: dt.datetime, plain: bool | None = None) -> tuple[int, int]:
    """Opens the cases detection's events call for, in batches (each its own transaction, holding
    the settings row so that concurrent runs take turns). Returns (opened, of which relapses).
    On PostgreSQL each batch is one INSERT … SELECT with its history rows; elsewhere (the SQLite
    embedded default, or with `plain`) a plain bulk_create."""
    deadlines = deadlines_for(now, CaseSettings.load())
    opened = relapses = 0
    after = 0
    names: dict[int, str] = {}
    while True:
        with transaction.atomic():
            settings = CaseSettings.objects.select_for_update().get(pk=CaseSettings.load().pk)
            if not plain and connection.vendor == "postgresql":
                created, relapsed, last_id = _open_batch_sql(settings, after, deadlines, now)
            else:
                created, relapsed, last_id = _open_batch_orm(settings, after, deadlines, now, names)
        if last_id is None:
            return opened, relapses
        after = last_id
        opened += created
        relapses += relapsed


def _round_robin(settings: CaseSettings) -> tuple[list[int], int]:
    """The active managers taking turns (by id) and the index of the next one; none when off."""
    if not settings.round_robin:
        return [], 0
    managers = list(active_managers().values_list("pk", flat=True))
    turn = next((i for i, pk in enumerate(managers) if pk > (settings.round_robin_last_id or 0)), 0)
    return managers, turn


def _candidate_rows(settings: CaseSettings, after: int, limit: int = BATCH):
    return (
        opening_candidates(settings)
        .filter(pk__gt=after)
        .annotate(
            manager_id=F("customer__account_manager_id"),
            manager_active=F("customer__account_manager__is_active"),
            segment_id=F("customer__segment_id"),
        )
        .values(
            "id",
            "customer_id",
            "segment_id",
            "value",
            "manager_id",
            "manager_active",
            "relapse",
            "previous_id",
            "primary_reason",
        )[:limit]
    )


def _open_batch_sql(settings: CaseSettings, after: int, deadlines: Deadlines, now: dt.datetime):
    """One statement: the batch's candidates, their owners (round-robin turns numbered in event
    order), the cases (ON CONFLICT DO NOTHING: a case opened by hand meanwhile wins) and their
    "opened" history entries (the texts cases.services.opening writes). Returns (opened,
    relapses, the batch's last event id or None when there was nothing to do)."""
    managers, turn = _round_robin(settings)
    candidates, candidate_params = _candidate_rows(settings, after, SQL_BATCH).query.sql_with_params()
    case_table, event_table = Case._meta.db_table, CaseEvent._meta.db_table
    user_table = get_user_model()._meta.db_table
    name = "coalesce(nullif(btrim(u.first_name || ' ' || u.last_name), ''), u.username)"
    sql = f"""
        WITH cand AS ({candidates}),
        numbered AS (
            SELECT cand.*, (cand.manager_id IS NULL OR NOT coalesce(cand.manager_active, false)) AS needs_turn,
                count(*) FILTER (WHERE cand.manager_id IS NULL OR NOT coalesce(cand.manager_active, false))
                    OVER (ORDER BY cand.id) AS turn
            FROM cand),
        owned AS (
            SELECT numbered.*, CASE WHEN NOT needs_turn THEN manager_id
                WHEN %s > 0 THEN (%s::bigint[])[1 + ((%s + turn - 1) %% %s)] END AS owner_id
            FROM numbered),
        new AS (
            INSERT INTO {case_table} (customer_id, segment_id, event_id, stage, is_open, owner_id, opened_by_id,
                opened_at, value_at_stake, first_contact_due, first_contact_at, due_at, deadline_at, primary_reason,
                fault, closed_at, close_note, won_back_at, relapse, previous_case_id, rescued_by_id, reopened_count,
                updated_at)
            SELECT customer_id, segment_id, id, %s, true, owner_id, NULL, %s, value, %s, NULL, %s, %s, primary_reason,
                %s, NULL, '', NULL, relapse, CASE WHEN relapse THEN previous_id END, NULL, 0, %s
            FROM owned ORDER BY id
            ON CONFLICT DO NOTHING
            RETURNING id, owner_id, relapse, previous_case_id, opened_at),
        history AS (
            INSERT INTO {event_table} (case_id, at, actor_id, kind, summary, before, after)
            SELECT new.id, new.opened_at, NULL, %s,
                left(CASE WHEN new.relapse THEN replace(%s, '%%(summary)s', base.text) ELSE base.text END, 300),
                '{{}}'::jsonb,
                jsonb_build_object('owner', new.owner_id, 'stage', %s) || CASE WHEN new.previous_case_id IS NULL
                    THEN '{{}}'::jsonb ELSE jsonb_build_object('previous_case', new.previous_case_id) END
            FROM new LEFT JOIN {user_table} u ON u.id = new.owner_id
            CROSS JOIN LATERAL (SELECT CASE WHEN new.owner_id IS NULL THEN %s
                ELSE replace(%s, '%%(owner)s', {name}) END AS text) base)
        SELECT (SELECT count(*) FROM new), (SELECT count(*) FROM new WHERE relapse), (SELECT max(id) FROM cand),
            (SELECT owner_id FROM owned WHERE needs_turn AND owner_id IS NOT NULL ORDER BY turn DESC LIMIT 1)
    """
    params = [
        *candidate_params,
        len(managers),
        managers,
        turn,
        max(len(managers), 1),
        Stage.NEW.value,
        now,
        deadlines.first_contact_due,
        deadlines.due_at,
        deadlines.first_contact_due,
        Fault.UNKNOWN.value,
        now,
        CaseEvent.Kind.OPENED.value,
        _("%(summary)s (relapse)"),
        Stage.NEW.value,
        _("Opened; waiting in the unassigned pool"),
        _("Opened for %(owner)s"),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        created, relapsed, last_id, last_turn = cursor.fetchone()
    if last_turn is not None:
        CaseSettings.objects.filter(pk=settings.pk).update(round_robin_last_id=last_turn)
    return created, relapsed, last_id


def _open_batch_orm(settings: CaseSettings, after: int, deadlines: Deadlines, now: dt.datetime, names: dict):
    rows = list(_candidate_rows(settings, after))
    if not rows:
        return 0, 0, None
    created = _insert(_build_cases(rows, settings, deadlines, now))
    _record_openings(created, names)
    return len(created), sum(1 for case in created if case.relapse), rows[-1]["id"]


def _build_cases(rows, settings: CaseSettings, deadlines: Deadlines, now: dt.datetime) -> list[Case]:
    """Case rows with their owners: the customer's active account manager, else the next active
    manager in turn (round-robin, which moves on and is saved), else nobody (the pool)."""
    managers, turn = _round_robin(settings)
    last_turn = None
    cases = []
    for row in rows:
        owner_id = row["manager_id"] if row["manager_id"] and row["manager_active"] else None
        if owner_id is None and managers:
            owner_id = last_turn = managers[turn % len(managers)]
            turn += 1
        cases.append(
            Case(
                customer_id=row["customer_id"],
                segment_id=row["segment_id"],
                event_id=row["id"],
                owner_id=owner_id,
                opened_at=now,
                value_at_stake=row["value"] or 0,
                first_contact_due=deadlines.first_contact_due,
                due_at=deadlines.due_at,
                deadline_at=deadlines.first_contact_due,
                primary_reason=row["primary_reason"],
                relapse=bool(row["relapse"]),
                previous_case_id=row["previous_id"] if row["relapse"] else None,
            )
        )
    if last_turn is not None:
        CaseSettings.objects.filter(pk=settings.pk).update(round_robin_last_id=last_turn)
    return cases


def _insert(cases: list[Case]) -> list[Case]:
    """Inserts the batch; if a case opened by hand meanwhile collides with one (the one open case
    per customer constraint), the batch is inserted row by row, skipping the collisions."""
    try:
        with transaction.atomic():
            return Case.objects.bulk_create(cases)
    except IntegrityError:
        pass
    created = []
    for case in cases:
        case.pk = None
        try:
            with transaction.atomic():
                case.save(force_insert=True)
        except IntegrityError:
            continue
        created.append(case)
    return created


def _record_openings(cases: list[Case], names: dict[int, str]) -> None:
    """The "opened" history entries of a batch, written in bulk (the same entries
    cases.services.opening writes one at a time)."""
    missing = {case.owner_id for case in cases if case.owner_id and case.owner_id not in names}
    for user in get_user_model().objects.filter(pk__in=missing):
        names[user.pk] = user.get_full_name() or user.get_username()
    entries = []
    for case in cases:
        if case.owner_id is None:
            summary = _("Opened; waiting in the unassigned pool")
        else:
            summary = _("Opened for %(owner)s") % {"owner": names.get(case.owner_id, "")}
        if case.relapse:
            summary = _("%(summary)s (relapse)") % {"summary": summary}
        after = {"owner": case.owner_id, "stage": case.stage}
        if case.previous_case_id:
            after["previous_case"] = case.previous_case_id
        entries.append(
            CaseEvent(case=case, at=case.opened_at, kind=CaseEvent.Kind.OPENED, summary=summary, after=after)
        )
    CaseEvent.objects.bulk_create(entries, batch_size=BATCH)


# --- 3. Expired offers ------------------------------------------------------------------------


def expire_offers(*, now: dt.datetime) -> int:
    """Open offers whose expiry day has passed (business time zone) become expired, each with a
    history entry on its case. Claimed with SKIP LOCKED, so concurrent runs share the work."""
    today = timezone.localdate(now)
    expired = 0
    while True:
        with transaction.atomic():
            offers = list(
                Offer.objects.select_for_update(skip_locked=True)
                .filter(status=Offer.Status.OPEN, expires_on__lt=today)
                .order_by("pk")
                .values_list("pk", "case_id", "kind", "value", "expires_on")[:BATCH]
            )
            if not offers:
                return expired
            Offer.objects.filter(pk__in=[row[0] for row in offers], status=Offer.Status.OPEN).update(
                status=Offer.Status.EXPIRED, decided_at=now
            )
            CaseEvent.objects.bulk_create(
                [
                    CaseEvent(
                        case_id=case_id,
                        at=now,
                        kind=CaseEvent.Kind.OFFER,
                        summary=_("Offer expired on %(day)s: %(kind)s %(value)s")
                        % {
                            "day": formats.date_format(expires_on, "SHORT_DATE_FORMAT"),
                            "kind": Offer.Kind(kind).label,
                            "value": value,
                        },
                        before={"offer": pk, "status": Offer.Status.OPEN.value},
                        after={"offer": pk, "status": Offer.Status.EXPIRED.value},
                    )
                    for pk, case_id, kind, value, expires_on in offers
                ]
            )
        expired += len(offers)
