"""Creating invitations: one outbox row per new defection event (RELIABILITY.md JOB-03 b).

The job reads the candidate events in chunks (one query each, with the customer and the account
manager), decides each row in memory and inserts the chunk with ON CONFLICT DO NOTHING on the
unique event column, so two runs at once create every row once and neither sees an error.
Customers who may not be mailed still get a row — `skipped_preference` or `skipped_suppressed`
with the reason — so later runs never look at their event again.
"""

import datetime as dt
from collections import Counter
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, DefectionEvent
from surveys.mail import new_message_id
from surveys.models import Invitation, InvitationStatus, Survey, SurveySettings
from surveys.suppression import SUPPRESSED, suppressed_hashes, survey_mail_check
from winback.roles import Role

__all__ = ["CHUNK", "create_invitations", "refusal", "reviewer_name", "signer_for"]

CHUNK = 2000
# Invitations that count as "surveyed" for the quiet period: sent, or on their way.
SURVEYING = [InvitationStatus.PENDING, InvitationStatus.SENDING, InvitationStatus.SENT]


def person_name(user) -> str:
    return (user.get_full_name() or user.get_username()).strip()


def reviewer_name(settings: SurveySettings) -> str:
    """The impartial reviewer named in the invitation: the setting, else the first active executive."""
    reviewer = settings.reviewer
    if reviewer is None or not reviewer.is_active:
        reviewer = (
            get_user_model().objects.filter(groups__name=Role.EXECUTIVE.value, is_active=True).order_by("pk").first()
        )
    return person_name(reviewer) if reviewer else ""


def signer_for(customer: Customer, lost_revenue: Decimal, settings: SurveySettings, executive) -> tuple:
    """(user or None, name, email) of the person who signs: the designated executive for the
    customers worth at least the threshold, else the account manager, else the company."""
    value = max(lost_revenue or Decimal(0), customer.annual_value or Decimal(0))
    if executive is not None and executive.is_active and value >= settings.executive_min_annual_value:
        return executive, person_name(executive), executive.email
    manager = customer.account_manager
    if manager is not None and manager.is_active:
        return manager, person_name(manager), manager.email
    return None, settings.company_name, ""


def refusal(customer: Customer, suppressions: dict[str, str]) -> tuple[str, str]:
    """(status, reason) of a customer who must not get survey mail, or ("", "") when they may.
    Suppressed addresses are `skipped_suppressed`; do-not-contact, opt-out and no address are
    `skipped_preference`."""
    kind, reason = survey_mail_check(customer, suppressions)
    if not kind:
        return "", ""
    status = InvitationStatus.SKIPPED_SUPPRESSED if kind == SUPPRESSED else InvitationStatus.SKIPPED_PREFERENCE
    return status, reason[:200]


def create_invitations(now: dt.datetime | None = None) -> dict[str, int]:
    """Creates the invitations of the open defection events of the last
    `invite_events_within_days` days that have none yet. Returns counts per outcome:
    `pending` (to be sent), `skipped_preference`, `skipped_suppressed`, `no_survey` (no active
    survey in the customer's or the default language: left for a later run), `created`."""
    now = now or timezone.now()
    settings = SurveySettings.load()
    surveys = {survey.language: survey for survey in Survey.objects.filter(is_active=True)}
    executive = settings.executive_signer
    context = {
        "now": now,
        "settings": settings,
        "surveys": surveys,
        "executive": executive,
        "reviewer_name": reviewer_name(settings),
        "quiet_since": now - dt.timedelta(days=settings.quiet_period_days),
    }
    latest = timezone.localdate(now)
    earliest = latest - dt.timedelta(days=settings.invite_events_within_days)
    candidates = (
        DefectionEvent.objects.filter(
            status=DefectionEvent.Status.OPEN, as_of__gte=earliest, as_of__lte=latest, invitation__isnull=True
        )
        .select_related("customer", "customer__segment", "customer__account_manager")
        .order_by("pk")
    )
    counts: Counter[str] = Counter()
    last_pk = 0
    while True:
        events = list(candidates.filter(pk__gt=last_pk)[:CHUNK])
        if not events:
            break
        last_pk = events[-1].pk
        counts.update(_create_chunk(events, **context))
    counts["created"] = sum(counts[status] for status in [InvitationStatus.PENDING, *_SKIPPED])
    return {key: counts[key] for key in ("created", "pending", *_SKIPPED, "no_survey")}


_SKIPPED = (InvitationStatus.SKIPPED_PREFERENCE.value, InvitationStatus.SKIPPED_SUPPRESSED.value)


def _create_chunk(events, *, now, settings, surveys, executive, reviewer_name, quiet_since) -> Counter:
    customers = [event.customer for event in events]
    suppressions = suppressed_hashes(customer.email for customer in customers)
    recently_surveyed = set(
        Invitation.objects.filter(customer_id__in=[customer.pk for customer in customers])
        .filter(Q(sent_at__gte=quiet_since) | Q(created_at__gte=quiet_since, status__in=SURVEYING))
        .values_list("customer_id", flat=True)
    )
    quiet_reason = _("Surveyed within the quiet period of %(days)s days.") % {"days": settings.quiet_period_days}
    counts: Counter[str] = Counter()
    rows = []
    for event in events:
        customer = event.customer
        status, reason = refusal(customer, suppressions)
        if not status and customer.pk in recently_surveyed:
            status, reason = InvitationStatus.SKIPPED_PREFERENCE, quiet_reason
        survey = surveys.get(customer.language) or surveys.get(settings.default_language)
        if not status and survey is None:
            counts["no_survey"] += 1
            continue
        signer, signer_name, signer_email = signer_for(customer, event.lost_revenue, settings, executive)
        rows.append(
            Invitation(
                event=event,
                customer=customer,
                survey=survey,
                language=survey.language if survey else customer.language,
                status=status or InvitationStatus.PENDING,
                skip_reason=reason,
                created_at=now,
                next_attempt_at=now,
                signer=signer,
                signer_name=signer_name[:200],
                signer_email=signer_email,
                reviewer_name=reviewer_name[:200],
                message_id=new_message_id(),
            )
        )
    if rows:
        # A concurrent run may have inserted some of these events' rows first: those are skipped
        # (ON CONFLICT DO NOTHING) and only the rows carrying our Message-IDs are ours to count.
        Invitation.objects.bulk_create(rows, ignore_conflicts=True)
        ours = Invitation.objects.filter(message_id__in=[row.message_id for row in rows])
        counts.update(ours.values_list("status", flat=True))
    return counts
