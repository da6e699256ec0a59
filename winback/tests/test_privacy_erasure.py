"""PRIV-05: erasure of customer X through the confirmed administrator action, then a scan of every
text/JSON column of every table (information_schema), the Redis cache keys, the queued Celery
messages of the Redis broker and the media store for X's email, phone, name and external id;
the look-alike Y untouched, the dashboard's facts unchanged, X never emailed again."""

import datetime as dt
import time

import pytest
import redis
import time_machine
from django.core import mail
from django.db import connection
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone

from customers import services as customer_services
from customers.models import Customer
from customers.tests.factories import CustomerFactory, ImportRunFactory
from surveys.models import Invitation, InvitationStatus, Suppression
from surveys.services.invitations import create_invitations
from surveys.services.sending import send_reminder_batch
from surveys.suppression import email_hash
from surveys.tests.factories import DefectionEventFactory
from surveys.tests.test_sending_messages import send_all
from winback.audit.models import Entry
from winback.celery import app as celery_app
from winback.dashboard import models as facts
from winback.dashboard.refresh import refresh_facts
from winback.privacy.erasure import customer_erase
from winback.tests.test_privacy_export import X, Y, seed_customer

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/14"
FACT_MODELS = [facts.CustomerMonth, facts.AtRiskMonth, facts.DefectionMonth, facts.CaseMonth, facts.CohortMonth]


@pytest.fixture
def redis_db14(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    imports = settings.MEDIA_ROOT / "imports"
    imports.mkdir(parents=True)
    lines = [f"{who['external_id']},{who['name']},{who['email']},{who['phone']}\r\n" for who in (X, Y)]
    (imports / "rejects-7-abcdef12.csv").write_text("line,column,code,message,value\r\n" + "".join(lines))
    (imports / "0f1e2d3c.csv").write_text("customer_id,name,email,phone\r\n" + "".join(lines))
    return imports


def facts_snapshot() -> list:
    rows = []
    for model in FACT_MODELS:
        rows += sorted(
            repr(sorted((k, v) for k, v in model_to_dict(row).items() if k != "id")) for row in model.objects.all()
        )
    return rows


def scan_database(values: list[str]) -> dict[str, int]:
    """Hits per table.column of any value, in every text and JSON column of every table."""
    hits = {}
    patterns = ["%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for value in values]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb') ORDER BY 1, 2"
        )
        columns = cursor.fetchall()
        for table, column in columns:
            cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE ANY(%s)', [patterns])
            count = cursor.fetchone()[0]
            if count:
                hits[f"{table}.{column}"] = count
    return hits, len(columns)


def scan_redis(client, values: list[str]) -> int:
    lowered = [value.lower().encode() for value in values]
    hits = 0
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"list":
            contents = b"".join(client.lrange(key, 0, -1))
        elif kind == b"string":
            contents = client.get(key) or b""
        else:
            contents = b""
        hits += sum(1 for value in lowered if value in (key + contents).lower())
    return hits


def scan_media(folder, values: list[str]) -> int:
    return sum(
        1
        for path in folder.rglob("*")
        if path.is_file()
        for value in values
        if value.lower() in path.read_text().lower()
    )


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_erasure_leaves_no_trace_of_x_and_keeps_y_and_the_dashboard(client, administrator, redis_db14, media):
    x, extra = seed_customer(X, owner=administrator, suppressed=False)
    y, _y_extra = seed_customer(Y, owner=administrator)
    ImportRunFactory(preview=[X, Y], errors=[{"line": 2, "value": X["email"]}, {"line": 3, "value": Y["email"]}])
    y_before = model_to_dict(Customer.objects.get(pk=y.pk))
    survey_client = client.__class__()
    assert survey_client.get(f"/s/{extra['token']}/").status_code == 302  # binds X's link to a session
    assert survey_client.get("/s/answer/").status_code == 200
    with celery_app.connection_for_write(REDIS_URL) as broker:  # messages queued about X: ids only
        celery_app.send_task("surveys.tasks.send_survey_invitations", kwargs={}, connection=broker)
        celery_app.send_task("cases.mail_tasks.send_case_email_task", args=[extra["case"].pk], connection=broker)
    rate_keys = [key for key in redis_db14.scan_iter(match="*surveys:rl:token:*")]
    assert rate_keys
    seeded_hits, _columns = scan_database(list(X.values()))
    assert len(seeded_hits) >= 20, seeded_hits  # X is quoted all over the database before erasure
    refresh_facts()
    before = facts_snapshot()

    client.force_login(administrator)
    url = reverse("privacy:erase", args=[x.pk])
    assert client.post(url, {"external_id": "CUST-1002"}).status_code == 200  # a wrong id erases nothing
    assert Customer.objects.get(pk=x.pk).email == X["email"]
    started = time.monotonic()
    response = client.post(url, {"external_id": X["external_id"]})
    duration = time.monotonic() - started
    assert response.status_code == 302

    values = list(X.values())
    db_hits, columns = scan_database(values)
    redis_hits = scan_redis(redis_db14, values)
    media_hits = scan_media(media, values)
    residual = sum(db_hits.values()) + redis_hits + media_hits
    print(
        f"PRIV-05: residual hits {residual} ({columns} text/JSON columns, Redis keys and broker list, media files), "
        f"duration {duration:.3f} s"
    )
    assert db_hits == {}
    assert (redis_hits, media_hits) == (0, 0)
    assert not [key for key in redis_db14.scan_iter(match="*surveys:rl:token:*") if key in rate_keys]
    assert redis_db14.llen("celery") == 2  # the queued messages are still there (they carry ids only)

    erased = Customer.objects.get(pk=x.pk)
    assert (erased.name, erased.external_id, erased.do_not_contact) == (
        f"Erased customer #{x.pk}",
        f"erased-{x.pk}",
        True,
    )
    assert Suppression.objects.filter(email_hash=email_hash(X["email"])).exists()
    assert Invitation.objects.get(pk=extra["pending"].pk).status == InvitationStatus.CANCELLED
    assert client.get(f"/s/{extra['token']}/").status_code == 404
    assert survey_client.get("/s/answer/").status_code == 404
    assert Entry.objects.filter(kind="privacy.customer", action="erase", customer_id=x.pk).get().after == {
        "action": "erasure",
        "summary": f"customer #{x.pk} erased",
    }
    assert model_to_dict(Customer.objects.get(pk=y.pk)) == y_before
    assert scan_database(list(Y.values()))[0]  # Y's data are all still there
    assert all(value in (media / "rejects-7-abcdef12.csv").read_text() for value in Y.values())
    refresh_facts()
    assert facts_snapshot() == before


def test_a_reimport_of_an_erased_customer_is_never_emailed(tmp_path):
    """As PRIV-03: the same person imported again (a new row) defects again: no invitation sent."""
    x, _extra = seed_customer(X, suppressed=False)
    customer_erase(customer_id=x.pk)
    path = tmp_path / "customers.csv"
    path.write_text(f"customer_id,name,email\nNEW-1,Sam Jones, {X['email'].upper()}\n", encoding="utf-8")
    assert customer_services.import_file(kind="customers", path=path).status == "done"
    again = Customer.objects.get(external_id="NEW-1")
    Customer.objects.filter(pk=again.pk).update(status="defected")
    DefectionEventFactory(customer=again)
    mail.outbox.clear()
    create_invitations()
    send_all()
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        send_reminder_batch()
    print(f"PRIV-05: emails to the erased address after a re-import {len(mail.outbox)}")
    assert mail.outbox == []
    assert Invitation.objects.get(customer=again).status == InvitationStatus.SKIPPED_SUPPRESSED


def test_erasing_twice_changes_nothing_more():
    x, _extra = seed_customer(X, suppressed=False)
    customer_erase(customer_id=x.pk)
    first = model_to_dict(Customer.objects.get(pk=x.pk))
    customer_erase(customer_id=x.pk)
    assert model_to_dict(Customer.objects.get(pk=x.pk)) == first
    assert Suppression.objects.filter(customer=x).count() == 1


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_only_administrators_may_erase(client, role_user):
    customer = CustomerFactory()
    url = reverse("privacy:erase", args=[customer.pk])
    for response in (client.get(url), client.post(url, {"external_id": customer.external_id})):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    client.force_login(role_user)
    allowed = role_user.groups.filter(name="Administrators").exists()
    page = client.get(url)
    assert page.status_code == (200 if allowed else 403)
    if allowed:
        assert customer.external_id in page.content.decode()
    assert client.post(url, {"external_id": customer.external_id}).status_code == (302 if allowed else 403)
    assert Customer.objects.get(pk=customer.pk).external_id == (
        f"erased-{customer.pk}" if allowed else customer.external_id
    )


def test_the_confirmation_page_and_the_erasure_run_bounded_queries(
    admin_client, administrator, django_assert_max_num_queries
):
    x, _extra = seed_customer(X, owner=administrator, suppressed=False)
    url = reverse("privacy:erase", args=[x.pk])
    with django_assert_max_num_queries(10):
        assert admin_client.get(url).status_code == 200
    with django_assert_max_num_queries(90):
        assert admin_client.post(url, {"external_id": X["external_id"]}).status_code == 302
