"""The cases settings page: administrators only; the settings with validation, one threshold
per segment, the holiday list (a day once, removal after a confirmation)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from cases.models import CaseSettings, Holiday, SegmentThreshold
from customers.tests.factories import SegmentFactory

URL = "/cases/settings/"


def _settings_form(**changes) -> dict:
    data = {
        "open_automatically": "on",
        "value_threshold": "1500",
        "first_contact_working_days": "3",
        "deadline_working_days": "15",
        "care_interval_months": "6",
        "care_duration_months": "24",
        "rescue_limit": "5",
        "rescue_cycle_months": "1",
        "rescue_candidates": "30",
        "save_settings": "1",
    }
    return {**data, **changes}


def test_the_url_is_the_briefs():
    assert reverse("cases:settings") == URL


@pytest.mark.parametrize("who", ["manager", "other_manager", "executive"])
def test_only_administrators_may_see_or_change_the_settings(client, request, who):
    client.force_login(request.getfixturevalue(who))
    holiday = Holiday.objects.create(day=dt.date(2030, 1, 1))
    assert client.get(URL).status_code == 403
    assert client.post(URL, _settings_form()).status_code == 403
    assert client.post(URL, {"day": "2030-12-25", "add_holiday": "1"}).status_code == 403
    assert client.post(reverse("cases:settings_holiday_remove", args=[holiday.pk])).status_code == 403
    assert CaseSettings.load().value_threshold == Decimal("1000")
    assert list(Holiday.objects.values_list("day", flat=True)) == [dt.date(2030, 1, 1)]


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    assert client.get(URL)["Location"].startswith("/accounts/login/")
    assert client.post(URL, _settings_form())["Location"].startswith("/accounts/login/")


def test_an_administrator_changes_the_settings(admin_client, django_assert_max_num_queries):
    SegmentFactory(name="Retail")
    CaseSettings.load()
    with django_assert_max_num_queries(10):
        assert admin_client.get(URL).status_code == 200
    answer = admin_client.post(URL, _settings_form())
    assert answer["Location"] == URL
    settings = CaseSettings.load()
    assert (settings.value_threshold, settings.first_contact_working_days, settings.rescue_limit) == (
        Decimal("1500"),
        3,
        5,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rescue_limit": "11"}, "less than or equal to 10"),
        ({"value_threshold": "-1"}, "greater than or equal to 0"),
        ({"first_contact_working_days": "30", "deadline_working_days": "10"}, "cannot be due after the case"),
        ({"care_interval_months": "30", "care_duration_months": "12"}, "cannot be longer than intensive care"),
        ({"rescue_candidates": ""}, "This field is required."),
    ],
)
def test_invalid_settings_are_refused_with_a_clear_message(admin_client, changes, message):
    answer = admin_client.post(URL, _settings_form(**changes))
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert CaseSettings.load().value_threshold == Decimal("1000")


def test_segment_thresholds_are_set_and_cleared_one_row_per_segment(admin_client):
    retail, wholesale = SegmentFactory(name="Retail"), SegmentFactory(name="Wholesale")
    SegmentThreshold.objects.create(segment=wholesale, value_threshold=Decimal("9"))
    html = admin_client.get(URL).content.decode()
    assert html.count('name="segment_') == 2
    admin_client.post(URL, {f"segment_{retail.pk}": "2500", f"segment_{wholesale.pk}": "", "save_thresholds": "1"})
    assert dict(SegmentThreshold.objects.values_list("segment_id", "value_threshold")) == {retail.pk: Decimal("2500")}
    answer = admin_client.post(URL, {f"segment_{retail.pk}": "-5", "save_thresholds": "1"})
    assert "A threshold cannot be negative." in answer.content.decode()
    assert SegmentThreshold.objects.get().value_threshold == Decimal("2500")


def test_a_holiday_is_added_once_and_removed_after_a_confirmation(admin_client):
    assert admin_client.post(URL, {"day": "2030-12-25", "name": "Christmas", "add_holiday": "1"})["Location"] == URL
    answer = admin_client.post(URL, {"day": "2030-12-25", "name": "Again", "add_holiday": "1"})
    assert "2030-12-25 is on the holiday list already." in answer.content.decode()
    assert Holiday.objects.count() == 1
    holiday = Holiday.objects.get()
    html = admin_client.get(URL).content.decode()
    assert 'data-confirm="Remove 2030-12-25 from the holidays?"' in html
    admin_client.post(reverse("cases:settings_holiday_remove", args=[holiday.pk]))
    assert not Holiday.objects.exists()
    assert admin_client.post(reverse("cases:settings_holiday_remove", args=[holiday.pk])).status_code == 404


def test_a_holiday_needs_a_day(admin_client):
    answer = admin_client.post(URL, {"day": "", "name": "Nothing", "add_holiday": "1"})
    assert "Choose the day." in answer.content.decode()
    assert not Holiday.objects.exists()
