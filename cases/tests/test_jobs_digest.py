"""The overdue digest: one email per owner listing their overdue first contacts, cases and tasks,
each item at most once a day, none when nothing is overdue or new."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone

from cases import states
from cases.models import OverdueNotice, Stage, Task
from cases.services.digest import send_overdue_digests
from cases.tasks import send_overdue_digests_task
from cases.tests.factories import CaseFactory, TaskFactory
from customers.tests.factories import CustomerFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 6, 17, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # a Wednesday, Berlin summer


@pytest.fixture(autouse=True)
def _noon():
    with time_machine.travel(NOON, tick=False):
        yield


def overdue_first_contact(owner, **kwargs):
    past = timezone.now() - dt.timedelta(days=1)
    return CaseFactory(owner=owner, first_contact_due=past, deadline_at=past, **kwargs)


def overdue_case(owner, **kwargs):
    past = timezone.now() - dt.timedelta(hours=3)
    return CaseFactory(
        owner=owner, first_contact_at=timezone.now() - dt.timedelta(days=20), due_at=past, deadline_at=past, **kwargs
    )


def test_each_owner_gets_one_email_with_their_overdue_first_contacts_cases_and_tasks():
    owner, other = UserFactory(role="Account managers"), UserFactory(role="Account managers")
    first = overdue_first_contact(owner, customer=CustomerFactory(name="Ada <b>Lovelace</b>", account_manager=owner))
    late = overdue_case(owner)
    task = TaskFactory(case=CaseFactory(owner=other), assignee=owner, title="Call back Tuesday")
    task.due_on = timezone.localdate() - dt.timedelta(days=1)
    task.save()
    on_time = CaseFactory(owner=owner)
    overdue_case(other)
    overdue_first_contact(None)  # the pool: nobody to mail
    TaskFactory(case=on_time, due_on=timezone.localdate())  # due today is not overdue

    assert send_overdue_digests() == 2

    assert sorted(message.to[0] for message in mail.outbox) == sorted([owner.email, other.email])
    message = next(message for message in mail.outbox if message.to == [owner.email])
    assert message.subject == "3 overdue items in your win-back cases"
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert f"{settings.SITE_URL}/cases/{first.pk}/" in body
        assert f"{settings.SITE_URL}/cases/{late.pk}/" in body
        assert f"{settings.SITE_URL}/cases/{task.case_id}/" in body
        assert "Call back Tuesday" in body
        assert f"/cases/{on_time.pk}/" not in body
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in html
    assert "<b>Lovelace" not in html
    assert "Ada <b>Lovelace</b>" in message.body  # the text part is plain text
    assert "Overdue" in html
    notices = set(OverdueNotice.objects.filter(recipient=owner).values_list("kind", "object_id"))
    assert notices == {("first_contact", first.pk), ("case", late.pk), ("task", task.pk)}
    assert not OverdueNotice.objects.filter(sent_at__isnull=True).exists()


def test_a_second_run_the_same_day_sends_nothing_and_the_next_day_names_the_items_again():
    owner = UserFactory(role="Account managers")
    overdue_case(owner)
    assert send_overdue_digests() == 1
    assert send_overdue_digests() == 0
    assert len(mail.outbox) == 1

    newly = overdue_first_contact(owner)  # something new the same day: only the new item
    assert send_overdue_digests() == 1
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == "1 overdue item in your win-back cases"
    assert f"/cases/{newly.pk}/" in mail.outbox[1].body

    with time_machine.travel(NOON + dt.timedelta(days=1), tick=False):
        assert send_overdue_digests() == 1
        assert send_overdue_digests() == 0
    assert len(mail.outbox) == 3
    assert mail.outbox[2].subject == "2 overdue items in your win-back cases"


def test_no_email_when_nothing_is_overdue():
    owner = UserFactory(role="Account managers")
    CaseFactory(owner=owner)
    done = TaskFactory(case=CaseFactory(owner=owner), due_on=timezone.localdate() - dt.timedelta(days=3))
    done.done_at = timezone.now()
    done.save()
    closed = overdue_case(owner)
    states.move(closed, Stage.LOST, actor=owner, note="Moved abroad")

    assert send_overdue_digests() == 0
    assert mail.outbox == []
    assert not OverdueNotice.objects.exists()


def test_an_executive_who_took_a_rescue_case_gets_it_and_an_inactive_owner_gets_nothing():
    executive = UserFactory(role="Executives")
    rescued = overdue_case(executive, rescued_by=executive)
    gone = UserFactory(role="Account managers", is_active=False)
    overdue_case(gone)
    assert send_overdue_digests() == 1
    assert mail.outbox[0].to == [executive.email]
    assert f"/cases/{rescued.pk}/" in mail.outbox[0].body


def test_an_overdue_health_review_links_to_its_review_page():
    owner = UserFactory(role="Account managers")
    case = CaseFactory(owner=owner)
    review = TaskFactory(
        case=case,
        kind=Task.Kind.HEALTH_REVIEW,
        title="Health review 1 of 4",
        due_on=timezone.localdate() - dt.timedelta(days=2),
    )
    send_overdue_digests()
    assert f"{settings.SITE_URL}/cases/tasks/{review.pk}/review/" in mail.outbox[0].body


def test_a_failed_send_gives_the_items_back_for_the_next_run(settings):
    owner = UserFactory(role="Account managers")
    late = overdue_case(owner)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens

    assert send_overdue_digests() == 0
    assert not OverdueNotice.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_overdue_digests() == 1
    assert f"/cases/{late.pk}/" in mail.outbox[0].body


def test_the_task_runs_each_hour_once():
    owner = UserFactory(role="Account managers")
    overdue_case(owner)
    assert send_overdue_digests_task.delay().get().endswith(": sent 1")
    assert send_overdue_digests_task.delay().get().endswith("already claimed")
    assert len(mail.outbox) == 1


def test_a_long_list_names_the_most_valuable_and_counts_the_rest(monkeypatch):
    monkeypatch.setattr("cases.services.digest.SHOWN_PER_SECTION", 2)
    owner = UserFactory(role="Account managers")
    cases = [overdue_case(owner, value_at_stake=value) for value in (100, 300, 200)]
    assert send_overdue_digests() == 1
    body = mail.outbox[0].body
    assert mail.outbox[0].subject == "3 overdue items in your win-back cases"
    assert f"/cases/{cases[1].pk}/" in body
    assert f"/cases/{cases[2].pk}/" in body
    assert f"/cases/{cases[0].pk}/" not in body
    assert "… and 1 more" in body
    assert OverdueNotice.objects.filter(recipient=owner).count() == 3
