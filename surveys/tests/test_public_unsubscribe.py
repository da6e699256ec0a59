"""The one-click unsubscribe (PRIV-02): RFC 8058 POSTs without cookies record the opt-out at once
and idempotently; a GET only asks; bad or orphaned tokens reveal nothing."""

from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from surveys.mail import UNSUBSCRIBE_SALT, unsubscribe_url
from surveys.models import EmailEvent, Suppression, SurveySettings
from surveys.suppression import email_hash, survey_mail_refusal
from surveys.tests.test_public_support import _fresh_rate_limits  # noqa: F401

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"


def _path(customer) -> str:
    return urlsplit(unsubscribe_url(customer)).path


def _state(customer) -> tuple:
    customer.refresh_from_db()
    return (
        customer.survey_opt_out_at,
        Suppression.objects.filter(email_hash=email_hash(customer.email)).count(),
        EmailEvent.objects.filter(customer=customer, kind=EmailEvent.Kind.UNSUBSCRIBED).count(),
    )


@pytest.fixture
def customer():
    SurveySettings.load()
    return CustomerFactory(email="Pia.Person@Example.org ", language="en")


def test_priv_02_a_one_click_post_without_cookies_unsubscribes_at_once_and_idempotently(customer):
    bot = Client(enforce_csrf_checks=True)  # a mail provider: no cookies, no CSRF token
    url = _path(customer)
    response = bot.post(url, ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert not response.has_header("Location")
    assert "You are unsubscribed" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    opted_out_at, suppressions, events = _state(customer)
    assert opted_out_at is not None
    assert suppressions == 1
    assert events == 1
    assert Suppression.objects.get().reason == "unsubscribed"
    assert survey_mail_refusal(customer) != ""

    repeat = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})  # multipart
    assert repeat.status_code == 200
    assert _state(customer) == (opted_out_at, 1, 1)
    print("PRIV-02: form-urlencoded POST -> 200 (no redirect), suppression 1; multipart repeat -> 200, unchanged")


def test_priv_02_a_get_only_shows_the_confirmation_button(customer):
    before = _state(customer)
    url = _path(customer)
    for method in ("get", "head"):
        response = getattr(Client(), method)(url)
        assert response.status_code == 200
    page = Client().get(url).content.decode()
    assert 'method="post"' in page
    assert "Unsubscribe" in page
    assert customer.email.strip() not in page
    changes = 0 if _state(customer) == before else 1
    assert changes == 0
    button = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})
    assert button.status_code == 200
    assert _state(customer)[0] is not None
    print(f"PRIV-02: state changes on GET/HEAD: {changes}")


def test_priv_02_a_tampered_token_gets_a_generic_page_and_changes_nothing(customer):
    url = _path(customer)
    token = url.split("/")[2]
    tampered = [
        f"/u/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}/",
        f"/u/{token[:-6]}/",
        f"/u/{signing.dumps(customer.pk, salt='another.salt', compress=True)}/",
        f"/u/{customer.pk}/",
    ]
    before = _state(customer)
    for path in tampered:
        response = Client().post(path, ONE_CLICK, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    assert _state(customer) == before
    assert EmailEvent.objects.count() == 0
    assert Suppression.objects.count() == 0


def test_priv_02_a_deleted_customer_gets_the_same_unsubscribed_page(customer):
    live = CustomerFactory(language="en")
    gone_url = _path(customer)
    Customer.objects.filter(pk=customer.pk).delete()
    gone = Client().post(gone_url, ONE_CLICK, content_type="application/x-www-form-urlencoded")
    real = Client().post(_path(live), ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert gone.status_code == real.status_code == 200
    assert gone.content == real.content
    assert Suppression.objects.count() == 1  # only the live customer's


def test_the_unsubscribe_page_speaks_the_customers_language():
    SurveySettings.load()
    russian = CustomerFactory(language="ru")
    response = Client().get(_path(russian))
    assert '<html lang="ru"' in response.content.decode()
    assert signing.loads(_path(russian).split("/")[2], salt=UNSUBSCRIBE_SALT) == russian.pk


def test_the_unsubscribe_endpoint_stays_within_its_query_budget(customer, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        Client().get(_path(customer))
    with django_assert_max_num_queries(12):
        Client().post(_path(customer), ONE_CLICK, content_type="application/x-www-form-urlencoded")
