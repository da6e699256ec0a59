"""The administrators' invitation list: failures first with their error, a status filter,
pagination, and nobody else may see it."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.models import Survey
from surveys.tests.factories import InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db

URL = reverse("surveys:invitation_list")


@pytest.fixture
def survey() -> Survey:
    return SurveyFactory(is_active=False, questions=False)


@pytest.mark.parametrize(
    ("role_user", "status"), [("manager", 403), ("executive", 403), ("administrator", 200)], indirect=["role_user"]
)
def test_only_administrators_see_the_invitations(client, role_user, status):
    client.force_login(role_user)
    assert client.get(URL).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_failed_invitations_come_first_with_their_error_and_attempts(admin_client, survey):
    now = timezone.now()
    newest = InvitationFactory(survey=survey, status="sent", sent_at=now, created_at=now)
    failed = InvitationFactory(
        survey=survey,
        status="failed",
        attempts=5,
        last_error="SMTPRecipientsRefused: 550 5.1.1 <x@example.org> unknown",
        created_at=now - dt.timedelta(days=3),
    )

    response = admin_client.get(URL)

    assert [invitation.pk for invitation in response.context["page"].object_list] == [failed.pk, newest.pk]
    html = response.content.decode()
    assert "550 5.1.1 &lt;x@example.org&gt; unknown" in html  # escaped
    assert failed.customer.get_absolute_url() in html
    assert html.index(failed.customer.name) < html.index(newest.customer.name)


def test_the_status_filter_shows_one_status(admin_client, survey):
    InvitationFactory(survey=survey, status="failed")
    skipped = InvitationFactory(survey=survey, status="skipped_suppressed", skip_reason="The address is suppressed.")

    response = admin_client.get(URL, {"status": "skipped_suppressed"})

    assert [invitation.pk for invitation in response.context["page"].object_list] == [skipped.pk]
    assert "The address is suppressed." in response.content.decode()


def test_an_unknown_status_shows_everything(admin_client, survey):
    InvitationFactory(survey=survey, status="failed")
    InvitationFactory(survey=survey, status="sent")
    assert len(admin_client.get(URL, {"status": "nonsense"}).context["page"].object_list) == 2


def test_the_list_is_paginated_in_a_fixed_number_of_queries(admin_client, survey, django_assert_max_num_queries):
    for _number in range(55):
        InvitationFactory(survey=survey, status="pending")

    with django_assert_max_num_queries(8):
        first = admin_client.get(URL)
    second = admin_client.get(URL, {"page": 2})

    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 5
    assert "?page=2" in first.content.decode()


def test_the_empty_list_says_so(admin_client):
    assert "No invitations match." in admin_client.get(URL).content.decode()
