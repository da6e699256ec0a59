"""The detection settings page: rules per segment, the live preview, the latest backtest with its
suggestions, the recent runs and "run detection now"."""

import datetime as dt
import html as html_lib
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from conftest import sign_in
from customers.models import BacktestRun, DetectionRun, DetectionSettings, Segment
from customers.services.detection_settings import apply_suggestion, save_rules
from customers.tests.detection_helpers import NOON_TODAY, TODAY, customer_buying, segment
from customers.tests.factories import CustomerFactory
from winback.tests.factories import DEMO_TEST_PASSWORD

pytestmark = pytest.mark.django_db

SETTINGS = reverse("customers:detection_settings")
PREVIEW = reverse("customers:detection_preview")
APPLY = reverse("customers:detection_apply")
RUN = reverse("customers:detection_run")
FIELDS = ("at_risk_days", "defected_days", "rhythm_enabled", "rhythm_multiple", "rate_drop_percent")


@pytest.fixture(autouse=True)
def _frozen_today(request):
    if request.node.get_closest_marker("browser"):  # the browser's clock cannot be frozen
        yield
        return
    with time_machine.travel(NOON_TODAY, tick=False):
        yield


def _rules_data(**rows) -> dict:
    """POST data for every row: the saved rules, changed by rows={key: {field: value}} ("0" is the
    defaults, "seg<pk>" a segment given as a keyword like seg12={...})."""
    data = {}
    sources = [(0, DetectionSettings.load())] + [(seg.pk, seg) for seg in Segment.objects.all()]
    for key, source in sources:
        values = {name: getattr(source, name) for name in Segment.RULE_FIELDS}
        values.update(rows.get(f"seg{key}", {}))
        for name, value in values.items():
            if name == "rhythm_enabled":
                if value:
                    data[f"rules-{key}-{name}"] = "on"
            else:
                data[f"rules-{key}-{name}"] = str(value)
    return data


def _text(response) -> str:
    return html_lib.unescape(response.content.decode())


def _bought(seg, days: int, **fields):
    return CustomerFactory(segment=seg, last_purchase_at=NOON_TODAY - dt.timedelta(days=days), **fields)


# Who may use the page


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for method, url in ((client.get, SETTINGS), (client.post, PREVIEW), (client.post, APPLY), (client.post, RUN)):
        response = method(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_only_administrators_may_see_or_change_the_rules(client, role_user):
    seg = segment()
    client.force_login(role_user)
    assert client.get(SETTINGS).status_code == 403
    assert client.post(SETTINGS, _rules_data(**{f"seg{seg.pk}": {"at_risk_days": 30}})).status_code == 403
    assert client.post(PREVIEW, _rules_data()).status_code == 403
    assert client.post(APPLY, {"backtest": 1, "index": 0}).status_code == 403
    assert client.post(RUN).status_code == 403
    assert Segment.objects.get(pk=seg.pk).at_risk_days == 60
    assert not DetectionRun.objects.exists()


def test_administrators_see_one_row_per_segment_and_the_defaults(admin_client, django_assert_max_num_queries):
    segment("Wholesale", at_risk=45, defected=120)
    segment("Retail")
    DetectionSettings.load()  # the defaults' row exists after the first visit
    with django_assert_max_num_queries(10):
        response = admin_client.get(SETTINGS)
    assert response.status_code == 200
    text = _text(response)
    assert text.index("Customers without a segment") < text.index("Retail") < text.index("Wholesale")
    wholesale = Segment.objects.get(name="Wholesale").pk
    assert f'name="rules-{wholesale}-defected_days" value="120"' in text
    assert 'name="rules-0-at_risk_days" value="60"' in text
    assert f'hx-post="{PREVIEW}"' in text
    assert 'hx-trigger="input changed delay:400ms' in text


# Saving


def test_saving_writes_every_row(admin_client):
    seg = segment("Retail")
    data = _rules_data(
        seg0={"at_risk_days": 30, "defected_days": 75, "rhythm_enabled": False},
        **{f"seg{seg.pk}": {"rhythm_multiple": "4.5", "rate_drop_percent": 40, "rate_drop_min_orders": 6}},
    )
    response = admin_client.post(SETTINGS, data, follow=True)
    assert response.redirect_chain == [(SETTINGS, 302)]
    assert "Detection rules saved." in _text(response)
    defaults = DetectionSettings.load()
    assert (defaults.at_risk_days, defaults.defected_days, defaults.rhythm_enabled) == (30, 75, False)
    seg.refresh_from_db()
    assert (seg.rhythm_multiple, seg.rate_drop_percent, seg.rate_drop_min_orders) == (Decimal("4.5"), 40, 6)


def test_an_invalid_row_saves_nothing_and_says_what_is_wrong(admin_client):
    seg = segment("Retail")
    data = _rules_data(seg0={"at_risk_days": 30}, **{f"seg{seg.pk}": {"at_risk_days": 90, "defected_days": 90}})
    response = admin_client.post(SETTINGS, data)
    assert response.status_code == 200
    text = _text(response)
    assert "The rules were not saved" in text
    assert "Must be more than the days to 'at risk' (90)." in text
    assert 'class="form-control form-control-sm is-invalid"' in text
    assert DetectionSettings.load().at_risk_days == 60
    assert Segment.objects.get(pk=seg.pk).defected_days == 90


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rhythm_multiple", "25", "Ensure this value is less than or equal to 20.0."),
        ("rate_drop_percent", "0", "Ensure this value is greater than or equal to 1."),
        ("at_risk_days", "0", "Ensure this value is greater than or equal to 1."),
        ("defected_days", "x", "Enter a whole number."),
    ],
)
def test_values_out_of_range_are_refused(admin_client, field, value, message):
    response = admin_client.post(SETTINGS, _rules_data(seg0={field: value}))
    assert message in _text(response)
    assert str(getattr(DetectionSettings.load(), field)) != value


def test_the_service_saves_all_rows_or_none(administrator):
    seg = segment("Retail")
    with pytest.raises(ValidationError) as caught:
        save_rules(actor=administrator, rows={0: {"at_risk_days": 20}, seg.pk: {"defected_days": 10}})
    assert caught.value.messages == ["Retail: days to 'defected': Must be more than the days to 'at risk' (60)."]
    assert DetectionSettings.load().at_risk_days == 60
    save_rules(actor=administrator, rows={0: {"at_risk_days": 20}, seg.pk: {"defected_days": 100}})
    assert DetectionSettings.load().at_risk_days == 20
    assert Segment.objects.get(pk=seg.pk).defected_days == 100


def test_a_suggestion_for_a_segment_that_is_gone_is_refused(administrator):
    with pytest.raises(ValidationError, match="The segment no longer exists."):
        apply_suggestion(
            actor=administrator, segment_key=999999, defected_days=100, rhythm_enabled=True, rhythm_multiple="2.0"
        )


# The live preview


def test_the_preview_counts_what_the_unsaved_rules_would_flag(admin_client, django_assert_max_num_queries):
    seg = segment("Retail", at_risk=60, defected=90)
    _bought(seg, 70)
    _bought(seg, 100)
    _bought(seg, 10)
    _bought(None, 65)  # no segment: the defaults (60 / 90)
    headers, data = {"HX-Request": "true"}, _rules_data()
    with django_assert_max_num_queries(6):
        response = admin_client.post(PREVIEW, data, headers=headers)
    assert response.status_code == 200
    text = _text(response)
    assert "If saved now: 2 at risk, 1 defected (2 newly at risk, 1 newly defected)." in text
    assert "<html" not in text

    looser = _rules_data(seg0={"at_risk_days": 80, "defected_days": 200}, **{f"seg{seg.pk}": {"at_risk_days": 75}})
    text = _text(admin_client.post(PREVIEW, looser, headers=headers))
    assert "If saved now: 0 at risk, 1 defected (0 newly at risk, 1 newly defected)." in text
    assert Segment.objects.get(pk=seg.pk).at_risk_days == 60  # a preview saves nothing


def test_the_preview_says_what_is_wrong_instead_of_failing(admin_client):
    seg = segment("Retail")
    data = _rules_data(**{f"seg{seg.pk}": {"defected_days": "30", "rhythm_multiple": ""}})
    response = admin_client.post(PREVIEW, data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    text = _text(response)
    assert "No preview until these are fixed:" in text
    assert "Retail – Defected after (days): Must be more than the days to 'at risk' (60)." in text
    assert "Retail – Rhythm multiple: This field is required." in text


def test_without_htmx_the_preview_button_shows_the_whole_page(admin_client):
    _bought(segment("Retail"), 100)
    response = admin_client.post(PREVIEW, _rules_data())
    text = _text(response)
    assert "<html" in text
    assert "If saved now: 0 at risk, 1 defected" in text


# The latest backtest


def _backtest(suggestions=None) -> BacktestRun:
    metrics = {"flagged": 40, "false_alarms": 10, "dismissed": 2, "precision": 0.75, "recall": 0.6, "f1": 0.6667}
    plain = {"flagged": 60, "false_alarms": 30, "dismissed": 0, "precision": 0.5, "recall": None, "f1": None}
    return BacktestRun.objects.create(
        from_month=dt.date(2025, 1, 1),
        to_month=dt.date(2025, 2, 1),
        horizon_days=180,
        result={
            "horizon_days": 180,
            "months": [
                {"month": "2025-01", "as_of": "2025-01-31", "population": 1200, "current": metrics, "plain": plain},
                {"month": "2025-02", "as_of": "2025-02-28", "population": 1250, "current": metrics, "plain": plain},
            ],
            "totals": {"current": {**metrics, "flagged": 80}, "plain": plain},
            "suggestions": suggestions or [],
        },
    )


def test_the_latest_backtest_is_shown_month_by_month_with_its_suggestions(admin_client):
    seg = segment("Retail")
    _backtest()
    latest = _backtest(
        [
            {
                "segment_key": seg.pk,
                "segment": "Retail",
                "defected_days": 120,
                "rhythm_enabled": True,
                "rhythm_multiple": "2.5",
                "f1": 0.81,
                "current_f1": 0.74,
            }
        ]
    )
    text = _text(admin_client.get(SETTINGS))
    assert "Months 2025-01 to 2025-02" in text
    assert '<th scope="row" class="text-nowrap">2025-01</th><td class="text-end">1,200</td>' in text
    assert ">0.67<" in text
    assert ">0.75<" in text
    assert ">—<" in text
    assert ">80<" in text  # the totals row
    assert "defected after 120 days" in text
    assert "own rhythm × 2.5" in text
    assert "F1 0.81 (current rules: 0.74)" in text
    assert f'name="backtest" value="{latest.pk}"' in text
    assert 'data-confirm="Apply this suggestion to the rules of Retail?"' in text
    assert "No backtest yet" not in text


def test_months_whose_horizon_is_not_over_yet_are_marked_as_not_yet_known(admin_client):
    backtest = _backtest()
    backtest.result["months"][1]["complete"] = False
    backtest.save()
    text = _text(admin_client.get(SETTINGS))
    assert '<th scope="row" class="text-nowrap">2025-01</th>' in text
    assert "2025-02<span title=" in text
    assert "these months are left out of the totals and the suggestions" in text


def test_without_a_backtest_the_page_explains_how_to_run_one(admin_client):
    text = _text(admin_client.get(SETTINGS))
    assert "No backtest yet." in text
    assert "python manage.py backtest_detection --from YYYY-MM --to YYYY-MM" in text


def test_applying_a_suggestion_changes_that_segments_rules(admin_client):
    seg = segment("Retail", rhythm=False)
    suggestion = {"segment_key": seg.pk, "segment": "Retail", "defected_days": 150, "rhythm_enabled": True}
    backtest = _backtest(
        [
            {"segment_key": 0, "defected_days": 100, "rhythm_enabled": False, "rhythm_multiple": "3.0"},
            {**suggestion, "rhythm_multiple": "2.5", "f1": 0.8, "current_f1": 0.7},
        ]
    )
    response = admin_client.post(APPLY, {"backtest": backtest.pk, "index": 1}, follow=True)
    assert response.redirect_chain == [(SETTINGS, 302)]
    assert "Suggestion applied to Retail." in _text(response)
    seg.refresh_from_db()
    assert (seg.defected_days, seg.rhythm_enabled, seg.rhythm_multiple) == (150, True, Decimal("2.5"))
    assert DetectionSettings.load().defected_days == 90


def test_a_suggestion_that_would_break_the_rules_is_refused(admin_client):
    seg = segment("Retail", at_risk=60, defected=90)
    backtest = _backtest(
        [
            {
                "segment_key": seg.pk,
                "segment": "Retail",
                "defected_days": 45,
                "rhythm_enabled": False,
                "rhythm_multiple": "3.0",
            }
        ]
    )
    response = admin_client.post(APPLY, {"backtest": backtest.pk, "index": 0}, follow=True)
    assert "The suggestion was not applied" in _text(response)
    assert "Must be more than the days to 'at risk' (60)." in _text(response)
    assert Segment.objects.get(pk=seg.pk).defected_days == 90


def test_a_suggestion_that_no_longer_exists_is_refused(admin_client):
    backtest = _backtest()
    for data in ({"backtest": backtest.pk, "index": 3}, {"backtest": 999999, "index": 0}, {"index": "x"}):
        response = admin_client.post(APPLY, data, follow=True)
        assert "That suggestion no longer exists." in _text(response)


# Runs


def test_the_last_ten_runs_are_listed(admin_client):
    for index in range(12):
        DetectionRun.objects.create(
            as_of=TODAY - dt.timedelta(days=index),
            mode=DetectionRun.Mode.NIGHTLY,
            trigger="beat",
            status=DetectionRun.Status.DONE,
            started_at=NOON_TODAY - dt.timedelta(days=index),
            seconds=1.25,
            summary={"scanned": 1500, "newly_at_risk": 7 + index, "newly_defected_passive": 3},
        )
    text = _text(admin_client.get(SETTINGS))
    assert text.count("Nightly (changed customers)") == 10
    assert f"{TODAY:%Y-%m-%d}" in text
    assert f"{TODAY - dt.timedelta(days=9):%Y-%m-%d}" in text
    assert f"{TODAY - dt.timedelta(days=10):%Y-%m-%d}" not in text
    assert ">1,500<" in text


def test_run_detection_now_starts_a_run_after_the_request_commits(admin_client, django_capture_on_commit_callbacks):
    customer_buying(segment("Retail"), 100)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(RUN, follow=True)
    assert len(callbacks) == 1
    assert "Detection run started." in _text(response)
    run = DetectionRun.objects.get()
    assert (run.trigger, run.status, run.summary["newly_defected_passive"]) == ("admin", "done", 1)


def test_the_run_button_does_not_answer_a_get(admin_client):
    assert admin_client.get(RUN).status_code == 405
    assert not DetectionRun.objects.exists()


# In the browser


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_preview_follows_the_admins_typing_and_the_rules_save(page, administrator):
    seg = segment("Retail", at_risk=60, defected=90, rhythm=True, multiple="3.0")
    now = timezone.now()
    for days in (70, 72):
        CustomerFactory(segment=seg, last_purchase_at=now - dt.timedelta(days=days))
    CustomerFactory(segment=seg, last_purchase_at=now - dt.timedelta(days=100), median_gap_days=40.0)
    sign_in(page, administrator.username, DEMO_TEST_PASSWORD)
    page.goto(SETTINGS)
    preview = page.locator("#detection-preview")
    expect(preview).to_contain_text("If saved now: 3 at risk, 0 defected (3 newly at risk, 0 newly defected).")

    page.get_by_label("At risk after (days) (Retail)").fill("75")
    expect(preview).to_contain_text("If saved now: 1 at risk, 0 defected")
    page.get_by_label("Defected after (days) (Retail)").fill("50")
    expect(preview).to_contain_text("Retail – Defected after (days): Must be more than the days to 'at risk' (75).")
    page.get_by_label("Defected after (days) (Retail)").fill("95")
    expect(preview).to_contain_text("If saved now: 1 at risk, 0 defected")
    # Without the rhythm rule the rare buyer (every 40 days, 100 days ago) has defected.
    page.get_by_label("Own rhythm (Retail)").uncheck()
    expect(preview).to_contain_text("If saved now: 0 at risk, 1 defected")
    page.get_by_label("Own rhythm (Retail)").check()
    expect(preview).to_contain_text("If saved now: 1 at risk, 0 defected")

    page.get_by_role("button", name="Save rules").click()
    expect(page.get_by_role("alert")).to_contain_text("Detection rules saved.")
    expect(preview).to_contain_text("If saved now: 1 at risk, 0 defected")  # the saved rules, on load
    seg.refresh_from_db()
    assert (seg.at_risk_days, seg.defected_days, seg.rhythm_enabled) == (75, 95, True)
