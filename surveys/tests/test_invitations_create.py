"""Creating invitations: who is invited, who gets a skipped row and why, which survey and signer,
and two runs at once (RELIABILITY.md JOB-03 b)."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import DefectionEvent
from customers.tests.factories import CustomerFactory
from surveys.models import EmailTemplate, Invitation, InvitationStatus, Suppression, Survey, SurveySettings
from surveys.services.invitations import create_invitations
from surveys.suppression import suppress
from surveys.tests.factories import DefectionEventFactory, EmailTemplateFactory, InvitationFactory, SurveyFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def active_survey(language: str = "en") -> Survey:
    """The survey in use in the language (the migration ships one per language; a flushed
    database of a transactional test has none, so one is made)."""
    return Survey.objects.filter(language=language, is_active=True).first() or SurveyFactory(language=language)


def defection(*, as_of: dt.date | None = None, kind=DefectionEvent.Kind.PASSIVE, lost_revenue=1200, **customer):
    customer.setdefault("status", "defected")
    return DefectionEventFactory(
        customer=CustomerFactory(**customer),
        as_of=as_of or timezone.localdate(),
        kind=kind,
        lost_revenue=Decimal(lost_revenue),
    )


def make_invitation(**fields) -> Invitation:
    fields.setdefault("survey", active_survey(fields.get("language", "en")))
    return InvitationFactory(**fields)


def ensure_templates() -> None:
    """The invitation and reminder templates (shipped by migration 0003; made here after a flush)."""
    for kind in EmailTemplate.Kind.values:
        EmailTemplateFactory(kind=kind, language="en")


def invitation_of(event: DefectionEvent) -> Invitation:
    return Invitation.objects.get(event=event)


def test_a_new_defection_of_a_contactable_customer_gets_one_pending_invitation():
    active_survey("en")
    event = defection()

    counts = create_invitations()

    invitation = invitation_of(event)
    assert counts["created"] == counts["pending"] == 1
    assert invitation.status == InvitationStatus.PENDING
    assert invitation.customer == event.customer
    assert invitation.skip_reason == ""
    assert invitation.message_id.startswith("<")
    assert invitation.message_id.endswith(">")


def test_a_second_run_creates_nothing_more():
    active_survey("en")
    defection()
    create_invitations()

    assert create_invitations()["created"] == 0
    assert Invitation.objects.count() == 1


@pytest.mark.parametrize(
    ("customer", "status", "reason"),
    [
        ({"do_not_contact": True}, InvitationStatus.SKIPPED_PREFERENCE, "asked not to be contacted"),
        (
            {"survey_opt_out_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
            InvitationStatus.SKIPPED_PREFERENCE,
            "opted out",
        ),
        ({"email": ""}, InvitationStatus.SKIPPED_PREFERENCE, "No email address"),
    ],
)
def test_customers_who_may_not_be_mailed_get_a_skipped_row_with_the_reason(customer, status, reason):
    active_survey("en")
    event = defection(**customer)

    counts = create_invitations()

    invitation = invitation_of(event)
    assert (invitation.status, counts["pending"], counts[status]) == (status, 0, 1)
    assert reason in invitation.skip_reason


def test_a_suppressed_address_is_skipped_as_suppressed_whatever_its_case():
    active_survey("en")
    suppress("Gone@Example.org ", Suppression.Reason.HARD_BOUNCE)
    event = defection(email="gone@example.org")

    create_invitations()

    invitation = invitation_of(event)
    assert invitation.status == InvitationStatus.SKIPPED_SUPPRESSED
    assert "Hard bounce" in invitation.skip_reason


def test_a_customer_surveyed_within_the_quiet_period_is_not_surveyed_again():
    active_survey("en")
    SurveySettings.objects.update_or_create(pk=1, defaults={"quiet_period_days": 180})
    earlier = make_invitation(status=InvitationStatus.SENT, sent_at=timezone.now() - dt.timedelta(days=100))
    earlier.event.status = DefectionEvent.Status.RECOVERED
    earlier.event.save()
    again = DefectionEventFactory(customer=earlier.customer)

    create_invitations()

    invitation = invitation_of(again)
    assert invitation.status == InvitationStatus.SKIPPED_PREFERENCE
    assert "quiet period of 180 days" in invitation.skip_reason


def test_a_customer_surveyed_before_the_quiet_period_is_invited_again():
    active_survey("en")
    long_ago = timezone.now() - dt.timedelta(days=200)
    earlier = make_invitation(status=InvitationStatus.SENT, sent_at=long_ago, created_at=long_ago)
    earlier.event.status = DefectionEvent.Status.RECOVERED
    earlier.event.save()
    again = DefectionEventFactory(customer=earlier.customer)

    create_invitations()

    assert invitation_of(again).status == InvitationStatus.PENDING


def test_events_older_than_the_invitation_window_and_closed_events_get_no_invitation():
    active_survey("en")
    SurveySettings.objects.update_or_create(pk=1, defaults={"invite_events_within_days": 14})
    old = defection(as_of=timezone.localdate() - dt.timedelta(days=15))
    edge = defection(as_of=timezone.localdate() - dt.timedelta(days=14))
    closed = defection()
    DefectionEvent.objects.filter(pk=closed.pk).update(status=DefectionEvent.Status.RECOVERED)

    create_invitations()

    assert list(Invitation.objects.values_list("event", flat=True)) == [edge.pk]
    assert not Invitation.objects.filter(event__in=[old, closed]).exists()


def test_a_run_for_a_past_moment_invites_only_the_events_known_then():
    """The survey demo replays the job night by night over the demo's history."""
    active_survey("en")
    earlier = defection(as_of=timezone.localdate() - dt.timedelta(days=10))
    later = defection(as_of=timezone.localdate())

    create_invitations(now=timezone.now() - dt.timedelta(days=5))

    assert list(Invitation.objects.values_list("event", flat=True)) == [earlier.pk]
    create_invitations()
    assert Invitation.objects.filter(event=later).exists()


def test_the_survey_is_in_the_customers_language_else_the_default_language():
    english, russian = active_survey("en"), active_survey("ru")
    Survey.objects.filter(language="pl").update(is_active=False)
    in_russian = defection(language="ru")
    in_polish = defection(language="pl")

    create_invitations()

    assert (invitation_of(in_russian).survey, invitation_of(in_russian).language) == (russian, "ru")
    assert (invitation_of(in_polish).survey, invitation_of(in_polish).language) == (english, "en")


def test_without_any_survey_in_use_the_event_waits_for_a_later_run():
    Survey.objects.update(is_active=False)
    event = defection()

    assert create_invitations()["no_survey"] == 1
    assert not Invitation.objects.filter(event=event).exists()

    active_survey("en")
    assert create_invitations()["pending"] == 1


def test_the_account_manager_signs_and_the_executive_signs_for_the_most_valuable(executive):
    active_survey("en")
    manager = UserFactory(first_name="Anna", last_name="Berg", email="anna@example.com", role="Account managers")
    boss = UserFactory(first_name="Olga", last_name="Chief", email="olga@example.com", role="Executives")
    SurveySettings.objects.update_or_create(
        pk=1, defaults={"executive_signer": boss, "executive_min_annual_value": Decimal("50000"), "reviewer": None}
    )
    ordinary = defection(account_manager=manager, lost_revenue=1200)
    valuable = defection(account_manager=manager, lost_revenue=50000)
    valuable_by_value = defection(account_manager=manager, lost_revenue=10, annual_value=Decimal("80000"))
    unmanaged = defection(account_manager=None)

    create_invitations()

    assert (invitation_of(ordinary).signer_name, invitation_of(ordinary).signer_email) == (
        "Anna Berg",
        "anna@example.com",
    )
    assert invitation_of(ordinary).signer == manager
    assert invitation_of(valuable).signer_name == "Olga Chief"
    assert invitation_of(valuable_by_value).signer_email == "olga@example.com"
    assert invitation_of(unmanaged).signer_name == SurveySettings.load().company_name
    assert invitation_of(unmanaged).signer_email == ""


def test_the_reviewer_is_the_setting_else_the_first_active_executive():
    active_survey("en")
    first = UserFactory(first_name="Erik", last_name="Exec", role="Executives")
    UserFactory(first_name="Second", last_name="Exec", role="Executives")
    event = defection()
    create_invitations()
    assert invitation_of(event).reviewer_name == f"{first.first_name} {first.last_name}"

    reviewer = UserFactory(first_name="Rita", last_name="Review", role="Administrators")
    SurveySettings.objects.update_or_create(pk=1, defaults={"reviewer": reviewer})
    later = defection()
    create_invitations()
    assert invitation_of(later).reviewer_name == "Rita Review"


def test_candidates_are_read_in_one_query_per_chunk(django_assert_max_num_queries):
    active_survey("en")
    SurveySettings.load()
    for _ in range(30):
        defection()
    # settings, surveys, reviewer, chunk read, suppressions, quiet period, insert, count, empty chunk
    with django_assert_max_num_queries(9):
        counts = create_invitations()
    assert counts["pending"] == 30


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_create_each_invitation_once():
    """JOB-03 (b): two connections run the job for the same events at the same moment, and once
    more later; rows = eligible events, and no IntegrityError reaches anyone."""
    assert connection.vendor == "postgresql"
    active_survey("en")
    ensure_templates()
    events = [defection() for _ in range(300)] + [defection(do_not_contact=True) for _ in range(20)]
    start = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            start.wait()
            results.append(create_invitations())
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    later = create_invitations()

    rows = Invitation.objects.count()
    duplicates = rows - Invitation.objects.values("event").distinct().count()
    print(f"JOB-03: eligible={len(events)}, rows={rows}, duplicates={duplicates}, errors={len(errors)}")
    assert errors == []
    assert rows == len(events)
    assert duplicates == 0
    assert sum(result["created"] for result in results) == len(events)
    assert later["created"] == 0
    assert Invitation.objects.filter(status=InvitationStatus.SKIPPED_PREFERENCE).count() == 20
