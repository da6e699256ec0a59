import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.detection.engine import run_detection
from customers.models import (
    BacktestRun,
    Customer,
    DefectionEvent,
    DetectionRun,
    DetectionSettings,
    Dismissal,
    ImportRun,
    Interaction,
    Segment,
    StatusChange,
    Transaction,
)
from customers.services import dismiss_alarm
from customers.tests.factories import ImportRunFactory, InteractionFactory, TransactionFactory

pytestmark = pytest.mark.django_db

MODELS = [Segment, Customer, Transaction, Interaction, ImportRun]
DETECTION_MODELS = [DetectionSettings, DetectionRun, DefectionEvent, StatusChange, Dismissal, BacktestRun]


@pytest.fixture
def one_of_each(administrator):
    transaction = TransactionFactory(occurred_at=timezone.now() - dt.timedelta(days=400))
    InteractionFactory(customer=transaction.customer, owner=administrator)
    ImportRunFactory(started_by=administrator)
    DetectionSettings.load()
    run_detection()
    dismiss_alarm(
        customer=transaction.customer,
        actor=administrator,
        kind="seasonal",
        note="",
        until=timezone.localdate() + dt.timedelta(days=30),
    )
    BacktestRun.objects.create(from_month=dt.date(2026, 1, 1), to_month=dt.date(2026, 3, 1), horizon_days=180)


def _admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS + DETECTION_MODELS, ids=lambda m: m.__name__)
def test_an_administrator_opens_each_list_and_change_page(
    admin_client, one_of_each, model, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20):
        response = admin_client.get(_admin_url(model, "changelist"))
    assert response.status_code == 200
    obj = model.objects.first()
    assert str(obj.pk) in response.content.decode()
    assert admin_client.get(_admin_url(model, "change", obj.pk)).status_code == 200


def test_the_customer_list_searches_and_filters(admin_client, one_of_each):
    customer = Customer.objects.get()
    response = admin_client.get(_admin_url(Customer, "changelist"), {"q": customer.external_id, "status": "active"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [customer]
    response = admin_client.get(_admin_url(Customer, "changelist"), {"q": "nobody-has-this-id"})
    assert list(response.context["cl"].result_list) == []


def test_the_customer_metrics_cannot_be_edited_in_the_admin(admin_client, one_of_each):
    customer = Customer.objects.get()
    form = admin_client.get(_admin_url(Customer, "change", customer.pk)).context["adminform"].form
    assert "external_id" in form.fields
    for metric in ("lifetime_revenue", "order_count", "last_purchase_at", "r_score"):
        assert metric not in form.fields


def test_segment_detection_settings_are_edited_in_the_list(admin_client):
    segment = Segment.objects.create(name="Wholesale")
    response = admin_client.get(_admin_url(Segment, "changelist"))
    assert 'name="form-0-at_risk_days"' in response.content.decode()
    assert segment.name in response.content.decode()


def test_import_runs_are_read_only(admin_client, one_of_each):
    run = ImportRun.objects.get()
    assert admin_client.get(_admin_url(ImportRun, "add")).status_code == 403
    response = admin_client.post(_admin_url(ImportRun, "change", run.pk), {"file_name": "changed.csv"})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.file_name == "customers.csv"


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_managers_and_executives_cannot_open_the_admin(client, role_user):
    client.force_login(role_user)
    for url in ("/admin/", _admin_url(Customer, "changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("model", DETECTION_MODELS[1:], ids=lambda m: m.__name__)
def test_detection_records_are_read_only_in_the_admin(admin_client, one_of_each, model):
    obj = model.objects.first()
    assert admin_client.get(_admin_url(model, "add")).status_code == 403
    response = admin_client.post(_admin_url(model, "change", obj.pk), {})
    assert response.status_code == 403
