import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from customers.tests.factories import CustomerFactory, SegmentFactory
from winback.tests.factories import UserFactory

URL = reverse("customers:list")


def _names(response) -> list[str]:
    return [customer.name for customer in response.context["page"].object_list]


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_every_role_sees_the_customer_list(client, role_user):
    CustomerFactory(name="Anna Berg")
    client.force_login(role_user)
    response = client.get(URL)
    assert response.status_code == 200
    assert "Anna Berg" in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_user_without_a_role_is_refused(client, db):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(URL).status_code == 403


def test_the_list_renders_with_a_constant_number_of_queries(manager_client, manager, django_assert_max_num_queries):
    for index in range(60):
        CustomerFactory(
            segment=SegmentFactory(name=f"Segment {index % 5}"),
            account_manager=manager if index % 2 else UserFactory(role="Account managers"),
            last_purchase_at=timezone.now() - dt.timedelta(days=index),
        )
    with django_assert_max_num_queries(9):
        response = manager_client.get(URL)
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 50
    with django_assert_max_num_queries(9):
        assert manager_client.get(URL, {"page": 2, "sort": "-revenue", "manager": "mine"}).status_code == 200


def test_each_row_links_the_customer_name_to_the_card_and_shows_the_key_columns(manager_client, manager):
    customer = CustomerFactory(
        name="Anna Berg",
        external_id="K-1001",
        company="Berg GmbH",
        segment=SegmentFactory(name="Wholesale"),
        account_manager=manager,
        status=Customer.Status.AT_RISK,
        last_purchase_at=dt.datetime(2024, 3, 5, 12, tzinfo=dt.UTC),
        order_count=7,
        lifetime_revenue=Decimal("1234.50"),
        do_not_contact=True,
    )
    html = manager_client.get(URL).content.decode()
    assert f'href="{customer.get_absolute_url()}">Anna Berg</a>' in html
    for text in ("K-1001", "Berg GmbH", "Wholesale", manager.get_full_name(), "At risk", "2024-03-05", "1,234.50 EUR"):
        assert text in html
    assert "Do not contact</span>" in html


def test_the_do_not_contact_badge_appears_only_for_customers_who_asked(manager_client):
    CustomerFactory(name="Anna Berg", do_not_contact=False)
    assert "Do not contact</span>" not in manager_client.get(URL).content.decode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("berg", ["Anna Berg"]),
        ("anna@", ["Anna Berg"]),
        ("ACME", ["Carl Diener"]),
        ("K-2", ["Carl Diener"]),
        ("K-", []),  # the external id must match exactly
    ],
)
def test_the_search_finds_customers_by_name_email_company_or_exact_customer_id(manager_client, text, expected):
    CustomerFactory(name="Anna Berg", email="anna@example.org", company="Berg GmbH", external_id="K-1")
    CustomerFactory(name="Carl Diener", email="carl@example.org", company="Acme Ltd", external_id="K-2")
    assert _names(manager_client.get(URL, {"q": text})) == expected


def test_the_filters_narrow_the_list_by_status_segment_and_do_not_contact(manager_client):
    wholesale = SegmentFactory(name="Wholesale")
    CustomerFactory(name="A Active", status=Customer.Status.ACTIVE)
    CustomerFactory(name="B Defected", status=Customer.Status.DEFECTED, segment=wholesale)
    CustomerFactory(name="C Careful", status=Customer.Status.DEFECTED, do_not_contact=True)

    assert _names(manager_client.get(URL, {"status": "defected"})) == ["B Defected", "C Careful"]
    assert _names(manager_client.get(URL, {"segment": wholesale.pk})) == ["B Defected"]
    assert _names(manager_client.get(URL, {"dnc": "yes"})) == ["C Careful"]
    assert _names(manager_client.get(URL, {"dnc": "no", "status": "defected"})) == ["B Defected"]
    assert _names(manager_client.get(URL, {"status": "nonsense"})) == ["A Active", "B Defected", "C Careful"]


def test_the_account_manager_filter_offers_mine_none_and_each_manager(manager_client, manager, other_manager):
    CustomerFactory(name="Mine", account_manager=manager)
    CustomerFactory(name="Theirs", account_manager=other_manager)
    CustomerFactory(name="Nobody's", account_manager=None)

    assert _names(manager_client.get(URL, {"manager": "mine"})) == ["Mine"]
    assert _names(manager_client.get(URL, {"manager": "none"})) == ["Nobody's"]
    assert _names(manager_client.get(URL, {"manager": other_manager.pk})) == ["Theirs"]
    html = manager_client.get(URL).content.decode()
    assert '<option value="mine">Mine</option>' in html
    assert f'<option value="{other_manager.pk}">{other_manager.get_full_name()}</option>' in html


def test_executives_are_not_offered_a_mine_filter(executive_client):
    assert '<option value="mine"' not in executive_client.get(URL).content.decode()


def test_sorting_by_each_column_in_both_directions_with_id_as_the_tie_breaker(manager_client):
    now = timezone.now()
    first = CustomerFactory(name="Same", order_count=3, lifetime_revenue=10, last_purchase_at=now)
    second = CustomerFactory(name="Same", order_count=3, lifetime_revenue=10, last_purchase_at=now)
    big = CustomerFactory(
        name="Big", order_count=9, lifetime_revenue=900, last_purchase_at=now - dt.timedelta(days=300)
    )
    never = CustomerFactory(name="Never", order_count=0, lifetime_revenue=0, last_purchase_at=None)

    def ids(sort):
        return [customer.pk for customer in manager_client.get(URL, {"sort": sort}).context["page"].object_list]

    assert ids("name") == [big.pk, never.pk, first.pk, second.pk]
    assert ids("-name") == [second.pk, first.pk, never.pk, big.pk]
    assert ids("-revenue") == [big.pk, second.pk, first.pk, never.pk]
    assert ids("orders") == [never.pk, first.pk, second.pk, big.pk]
    # Customers who never bought come last in both directions.
    assert ids("last_purchase") == [big.pk, first.pk, second.pk, never.pk]
    assert ids("-last_purchase") == [second.pk, first.pk, big.pk, never.pk]


def test_sorting_by_status_then_name(manager_client):
    CustomerFactory(name="Zed", status=Customer.Status.ACTIVE)
    CustomerFactory(name="Amy", status=Customer.Status.DEFECTED)
    CustomerFactory(name="Bob", status=Customer.Status.ACTIVE)
    assert _names(manager_client.get(URL, {"sort": "status"})) == ["Bob", "Zed", "Amy"]


def test_column_headers_link_to_the_reverse_order_and_keep_the_filters(manager_client):
    CustomerFactory(name="Anna Berg", status=Customer.Status.ACTIVE)
    html = manager_client.get(URL, {"status": "active", "sort": "name", "page": "1"}).content.decode()
    assert 'aria-sort="ascending"' in html
    assert 'href="?sort=-name&amp;status=active"' in html
    assert 'href="?sort=-revenue&amp;status=active"' in html


def test_fifty_customers_per_page_and_the_next_page_keeps_the_filters(manager_client):
    CustomerFactory.create_batch(55, status=Customer.Status.AT_RISK)
    CustomerFactory(status=Customer.Status.ACTIVE)
    first = manager_client.get(URL, {"status": "at_risk"})
    assert len(first.context["page"].object_list) == 50
    assert 'href="?page=2&amp;status=at_risk"' in first.content.decode()
    second = manager_client.get(URL, {"status": "at_risk", "page": 2})
    assert len(second.context["page"].object_list) == 5


def test_no_matches_shows_a_clear_filters_link(manager_client):
    CustomerFactory(name="Anna Berg")
    html = manager_client.get(URL, {"q": "zzz"}).content.decode()
    assert "No customers match." in html
    assert f'href="{URL}">Clear filters</a>' in html


def test_an_empty_customer_base_points_administrators_to_imports(admin_client):
    html = admin_client.get(URL).content.decode()
    assert "There are no customers yet." in html
    assert reverse("customers:import_list") in html
    assert "No customers match." not in admin_client.get(URL, {"q": "x"}).content.decode()


def test_an_empty_customer_base_tells_managers_who_imports(manager_client):
    html = manager_client.get(URL).content.decode()
    assert "There are no customers yet." in html
    assert 'href="/imports/"' not in html.split("<main", 1)[1]


@pytest.mark.parametrize(
    ("role_user", "can_create"),
    [("manager", True), ("executive", False), ("administrator", True)],
    indirect=["role_user"],
)
def test_the_new_customer_button_is_shown_to_those_who_may_create(client, role_user, can_create):
    client.force_login(role_user)
    html = client.get(URL).content.decode()
    assert (f'href="{reverse("customers:create")}"' in html) is can_create


def test_the_export_link_keeps_the_current_filters_but_not_the_page(manager_client):
    CustomerFactory(name="Anna Berg")
    html = manager_client.get(URL, {"q": "Anna", "status": "active", "page": "1"}).content.decode()
    assert f'href="{reverse("customers:export")}?q=Anna&amp;status=active"' in html
    assert "Export CSV" in html
