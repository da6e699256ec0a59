"""The surveys admin: administrators see the invitations with their status and last error and can
retry failed ones; the settings are one row; other roles are kept out."""

import pytest
from django.urls import reverse

from surveys.models import Invitation, InvitationStatus, SurveySettings
from surveys.tests.test_invitations_create import make_invitation

pytestmark = pytest.mark.django_db

INVITATIONS = reverse("admin:surveys_invitation_changelist")


@pytest.fixture
def failed():
    return make_invitation(
        status=InvitationStatus.FAILED, attempts=5, last_error="SMTPRecipientsRefused: 550 5.1.1 mailbox unavailable"
    )


def test_administrators_see_invitations_with_their_last_error(admin_client, failed, django_assert_max_num_queries):
    make_invitation(status=InvitationStatus.SENT)

    with django_assert_max_num_queries(12):
        response = admin_client.get(INVITATIONS, {"status__exact": "failed"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "550 5.1.1 mailbox unavailable" in page
    assert str(failed.customer) in page
    assert response.context["cl"].result_count == 1


def test_the_retry_action_puts_failed_invitations_back_in_the_queue(admin_client, failed):
    sent = make_invitation(status=InvitationStatus.SENT)

    response = admin_client.post(
        INVITATIONS, {"action": "retry_failed", "_selected_action": [failed.pk, sent.pk]}, follow=True
    )

    assert "1 invitation will be sent again." in response.content.decode()
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.attempts) == (InvitationStatus.PENDING, 0)
    assert sent.status == InvitationStatus.SENT


def test_the_settings_list_opens_the_one_settings_row(admin_client):
    response = admin_client.get(reverse("admin:surveys_surveysettings_changelist"))

    assert response.status_code == 302
    assert response.url == reverse("admin:surveys_surveysettings_change", args=[SurveySettings.load().pk])
    assert admin_client.get(response.url).status_code == 200
    assert admin_client.get(reverse("admin:surveys_surveysettings_add")).status_code == 403


@pytest.mark.parametrize(
    "name", ["surveys_survey", "surveys_emailtemplate", "surveys_suppression", "surveys_response", "surveys_surveylink"]
)
def test_every_surveys_model_has_an_admin_list_for_administrators(admin_client, name):
    assert admin_client.get(reverse(f"admin:{name}_changelist")).status_code == 200


def test_invitations_cannot_be_added_or_edited_by_hand(admin_client, failed):
    assert admin_client.get(reverse("admin:surveys_invitation_add")).status_code == 403
    response = admin_client.post(reverse("admin:surveys_invitation_change", args=[failed.pk]), {"status": "sent"})
    assert Invitation.objects.get(pk=failed.pk).status == InvitationStatus.FAILED
    assert response.status_code in (200, 302, 403)


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_other_roles_cannot_open_the_surveys_admin(client, role_user, failed):
    role_user.is_staff = True  # even with staff status, the role decides
    role_user.save()
    client.force_login(role_user)

    assert client.get(INVITATIONS).status_code == 403
    client.post(INVITATIONS, {"action": "retry_failed", "_selected_action": [failed.pk]})
    assert Invitation.objects.get(pk=failed.pk).status == InvitationStatus.FAILED


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get(INVITATIONS)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
