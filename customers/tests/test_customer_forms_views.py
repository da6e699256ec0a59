import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from customers.models import Customer
from customers.tests.factories import CustomerFactory, SegmentFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _new_customer(**overrides) -> dict:
    data = {
        "external_id": "000123",
        "name": "Greta Vollmer",
        "email": "greta@example.org",
        "phone": "+49 30 1234567",
        "company": "Vollmer Bau",
        "segment": "",
        "language": "en",
        "do_not_contact": "",
        "preferred_channel": "email",
        "contact_notes": "",
    }
    data.update(overrides)
    return data


def _details(customer, **overrides) -> dict:
    data = {
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "company": customer.company,
        "segment": customer.segment_id or "",
        "language": customer.language,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("url_name", ["customers:edit", "customers:preferences"])
def test_anonymous_visitors_are_sent_to_sign_in_from_the_edit_pages(client, url_name):
    customer = CustomerFactory()
    for method in (client.get, client.post):
        response = method(reverse(url_name, args=[customer.pk]))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert Customer.objects.get(pk=customer.pk).name == customer.name


def test_anonymous_visitors_are_sent_to_sign_in_from_the_new_customer_page(client, db):
    response = client.post(reverse("customers:create"), _new_customer())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Customer.objects.exists()


@pytest.mark.parametrize(("role_user", "status"), [("manager", 200), ("administrator", 200)], indirect=["role_user"])
def test_managers_and_administrators_open_the_new_customer_form(
    client, role_user, status, django_assert_max_num_queries
):
    client.force_login(role_user)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("customers:create"))
    assert response.status_code == status
    assert "external_id" in response.context["form"].fields


def test_executives_cannot_create_customers(executive_client):
    assert executive_client.get(reverse("customers:create")).status_code == 403
    assert executive_client.post(reverse("customers:create"), _new_customer()).status_code == 403
    assert not Customer.objects.exists()


def test_a_manager_creates_a_customer_and_looks_after_it(manager_client, manager, other_manager):
    segment = SegmentFactory(name="Wholesale")
    response = manager_client.post(
        reverse("customers:create"),
        # A manager's form has no account manager field; sneaking one in changes nothing.
        _new_customer(external_id="  000123  ", segment=segment.pk, account_manager=other_manager.pk),
    )
    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    assert customer.external_id == "000123"
    assert customer.account_manager == manager
    assert customer.segment == segment
    assert customer.preferred_channel == "email"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Customer Greta Vollmer created."]


def test_a_managers_new_customer_form_has_no_account_manager_field(manager_client):
    response = manager_client.get(reverse("customers:create"))
    assert "account_manager" not in response.context["form"].fields
    assert 'name="account_manager"' not in response.content.decode()


def test_an_administrator_chooses_the_account_manager_of_a_new_customer(admin_client, other_manager):
    response = admin_client.post(reverse("customers:create"), _new_customer(account_manager=other_manager.pk))
    assert response.status_code == 302
    assert Customer.objects.get().account_manager == other_manager


def test_an_administrator_may_leave_a_new_customer_without_a_manager(admin_client):
    admin_client.post(reverse("customers:create"), _new_customer(account_manager=""))
    assert Customer.objects.get().account_manager is None


def test_only_active_account_managers_are_offered(admin_client, manager, executive):
    gone = UserFactory(role="Account managers", is_active=False)
    form = admin_client.get(reverse("customers:create")).context["form"]
    offered = set(form.fields["account_manager"].queryset)
    assert manager in offered
    assert executive not in offered
    assert gone not in offered
    response = admin_client.post(reverse("customers:create"), _new_customer(account_manager=executive.pk))
    assert response.status_code == 200
    assert "account_manager" in response.context["form"].errors
    assert not Customer.objects.exists()


def test_a_taken_customer_id_is_refused_with_a_clear_message(manager_client):
    CustomerFactory(external_id="000123")
    response = manager_client.post(reverse("customers:create"), _new_customer(external_id=" 000123 "))
    assert response.status_code == 200
    assert "A customer with this id already exists." in response.content.decode()
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("external_id", "   "), ("name", ""), ("email", "not-an-email"), ("language", "xx"), ("external_id", "x" * 65)],
)
def test_bad_input_re_renders_the_form_and_writes_nothing(manager_client, field, value):
    response = manager_client.post(reverse("customers:create"), _new_customer(**{field: value}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert "is-invalid" in response.content.decode()
    assert not Customer.objects.exists()


def test_a_manager_edits_their_own_customer(manager_client, manager, django_assert_max_num_queries):
    customer = CustomerFactory(account_manager=manager, name="Old name")
    url = reverse("customers:edit", args=[customer.pk])
    with django_assert_max_num_queries(10):
        response = manager_client.get(url)
    assert response.status_code == 200
    assert "account_manager" not in response.context["form"].fields
    with django_assert_max_num_queries(12):
        response = manager_client.post(url, _details(customer, name="New name", language="pl"))
    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    customer.refresh_from_db()
    assert (customer.name, customer.language) == ("New name", "pl")


def test_a_manager_cannot_hand_their_customer_to_someone_else(manager_client, manager, other_manager):
    customer = CustomerFactory(account_manager=manager)
    response = manager_client.post(
        reverse("customers:edit", args=[customer.pk]), _details(customer, account_manager=other_manager.pk)
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.account_manager == manager


@pytest.mark.parametrize("url_name", ["customers:edit", "customers:preferences"])
def test_a_manager_cannot_edit_someone_elses_customer(manager_client, other_manager, url_name):
    customer = CustomerFactory(account_manager=other_manager, name="Theirs", do_not_contact=False)
    url = reverse(url_name, args=[customer.pk])
    assert manager_client.get(url).status_code == 403
    data = {**_details(customer, name="Mine now"), "do_not_contact": "on"}
    assert manager_client.post(url, data).status_code == 403
    customer.refresh_from_db()
    assert (customer.name, customer.do_not_contact) == ("Theirs", False)


@pytest.mark.parametrize("url_name", ["customers:edit", "customers:preferences"])
def test_executives_cannot_edit_customers(executive_client, manager, url_name):
    customer = CustomerFactory(account_manager=manager, name="Kept")
    url = reverse(url_name, args=[customer.pk])
    assert executive_client.get(url).status_code == 403
    assert executive_client.post(url, _details(customer, name="Changed")).status_code == 403
    customer.refresh_from_db()
    assert customer.name == "Kept"


def test_an_administrator_edits_any_customer_and_changes_the_manager(
    admin_client, manager, other_manager, django_assert_max_num_queries
):
    customer = CustomerFactory(account_manager=manager)
    url = reverse("customers:edit", args=[customer.pk])
    with django_assert_max_num_queries(10):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["form"]["account_manager"].value() == manager.pk
    with django_assert_max_num_queries(18):
        response = admin_client.post(url, _details(customer, company="New GmbH", account_manager=other_manager.pk))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.company == "New GmbH"
    assert customer.account_manager == other_manager


def test_saving_details_keeps_a_deactivated_manager_in_place(admin_client):
    gone = UserFactory(role="Account managers", is_active=False)
    customer = CustomerFactory(account_manager=gone)
    url = reverse("customers:edit", args=[customer.pk])
    response = admin_client.post(url, _details(customer, name="Renamed", account_manager=gone.pk))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.account_manager) == ("Renamed", gone)


def test_a_bad_edit_re_renders_and_changes_nothing(manager_client, manager):
    customer = CustomerFactory(account_manager=manager, name="Kept", email="kept@example.org")
    response = manager_client.post(
        reverse("customers:edit", args=[customer.pk]), _details(customer, name="Changed", email="broken")
    )
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    customer.refresh_from_db()
    assert (customer.name, customer.email) == ("Kept", "kept@example.org")


def test_editing_a_missing_customer_is_not_found(admin_client):
    assert admin_client.get(reverse("customers:edit", args=[999999])).status_code == 404


@pytest.mark.parametrize("role_user", ["manager", "administrator"], indirect=True)
def test_contact_preferences_are_saved_by_the_manager_or_an_administrator(
    client, role_user, manager, django_assert_max_num_queries
):
    client.force_login(role_user)
    customer = CustomerFactory(account_manager=manager)
    url = reverse("customers:preferences", args=[customer.pk])
    with django_assert_max_num_queries(10):
        response = client.get(url)
    assert response.status_code == 200
    assert 'type="checkbox"' in response.content.decode()
    with django_assert_max_num_queries(12):
        response = client.post(
            url, {"do_not_contact": "on", "preferred_channel": "post", "contact_notes": "no phone calls"}
        )
    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    customer.refresh_from_db()
    assert customer.do_not_contact
    assert customer.preferred_channel == "post"
    assert customer.contact_notes == "no phone calls"


def test_an_unknown_preferred_channel_is_refused(manager_client, manager):
    customer = CustomerFactory(account_manager=manager, preferred_channel="email")
    response = manager_client.post(
        reverse("customers:preferences", args=[customer.pk]), {"preferred_channel": "pigeon", "do_not_contact": "on"}
    )
    assert response.status_code == 200
    assert "preferred_channel" in response.context["form"].errors
    customer.refresh_from_db()
    assert (customer.preferred_channel, customer.do_not_contact) == ("email", False)
