"""The dashboard's drill-down lists: each list returns exactly the rows its figure counts, for a
small hand-made history with rows on both sides of every period edge (business time zone), with
the filters, the narrowing of a chart segment, the CSV/XLSX of the same rows, a query budget and
the permission of every role."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from cases.models import Stage
from cases.tests.factories import CaseFactory, OfferFactory
from customers.models import DefectionEvent, Reason
from customers.tests.factories import CustomerFactory, SegmentFactory
from surveys.tests.factories import DefectionEventFactory, InvitationFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MARCH = {"period": "month", "month": "2025-03"}
Q1 = {"period": "quarter", "quarter": "2025-Q1"}
ROW_ID = re.compile(r'class="fw-semibold drill-(?:customer|case)" href="/(?:customers|cases)/(\d+)/"')


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=timezone.get_default_timezone())


def grant_dashboard(user):
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    return user


def event(customer, as_of, **fields):
    return DefectionEventFactory(customer=customer, as_of=as_of, **fields)


@pytest.fixture
def world(db):
    """Events, customers, invitations and cases either side of March 2025's edges."""
    north, south = SegmentFactory(name="North"), SegmentFactory(name="South")
    am1 = UserFactory(username="am1", role="Account managers")
    am2 = UserFactory(username="am2", role="Account managers")

    def customer(name, segment=north, manager=am1, **fields):
        return CustomerFactory(name=name, segment=segment, account_manager=manager, **fields)

    w = {"north": north, "south": south, "am1": am1, "am2": am2}
    # Defections
    w["e1"] = event(customer("E1"), dt.date(2025, 3, 1), kind="passive", primary_reason=Reason.PRICE)
    w["e2"] = event(customer("E2", south, am2), dt.date(2025, 3, 31), kind="active", primary_reason="")
    w["e3"] = event(customer("E3"), dt.date(2025, 2, 28), kind="passive", primary_reason=Reason.PRICE)
    w["e4"] = event(customer("E4"), dt.date(2025, 4, 1), kind="passive")
    w["e5"] = event(customer("E5"), dt.date(2025, 3, 15), status="closed")  # a dismissed false alarm
    w["e6"] = event(
        customer("E6"),
        dt.date(2025, 3, 10),
        kind="passive",
        primary_reason=Reason.SERVICE,
        status="recovered",
        recovered_at=local(2025, 4, 2, 9),
    )
    w["e7"] = event(
        customer("E7", south, None), dt.date(2024, 12, 1), status="recovered", recovered_at=local(2025, 3, 31, 23, 30)
    )
    w["e8"] = event(customer("E8"), dt.date(2024, 12, 1), status="recovered", recovered_at=local(2025, 4, 1, 0, 0))
    # Invitations (the funnel: e1 invited, e2 invited and answered)
    InvitationFactory(event=w["e1"], status="sent", sent_at=local(2025, 3, 1, 0, 0))
    InvitationFactory(event=w["e2"], status="sent", sent_at=local(2025, 3, 31, 23, 59), responded_at=local(2025, 4, 3))
    InvitationFactory(event=w["e3"], status="sent", sent_at=local(2025, 2, 28, 23, 59))
    InvitationFactory(event=w["e4"], status="pending", sent_at=None)
    # At risk now
    w["r1"] = customer("R1", status="at_risk")
    w["r2"] = customer("R2", south, am2, status="at_risk")
    # Active at the start of March 2025
    old = local(2024, 1, 1, 12)
    w["cA"] = customer("CA", first_purchase_at=local(2025, 2, 28, 23, 0))
    w["cB"] = customer("CB", first_purchase_at=local(2025, 3, 1, 0, 0))
    w["cC"] = customer("CC", first_purchase_at=old)
    event(w["cC"], dt.date(2025, 1, 10))
    w["cD"] = customer("CD", south, am2, first_purchase_at=old)
    event(w["cD"], dt.date(2025, 1, 10), status="recovered", recovered_at=local(2025, 2, 15))
    w["cE"] = customer("CE", first_purchase_at=old)
    event(w["cE"], dt.date(2025, 1, 10), status="recovered", recovered_at=local(2025, 3, 5))
    w["cF"] = customer("CF", first_purchase_at=old)
    event(w["cF"], dt.date(2025, 1, 10), status="closed")
    w["cG"] = customer("CG", first_purchase_at=local(2025, 1, 10, 12))
    event(w["cG"], dt.date(2025, 1, 10))  # bought on its as-of day: not in the stock, so not out of it
    # Cases
    w["k1"] = CaseFactory(
        owner=am1, customer=w["e1"].customer, event=w["e1"], segment=north, opened_at=local(2025, 3, 5)
    )
    OfferFactory(case=w["k1"])
    w["k2"] = CaseFactory(
        owner=am1,
        customer=w["e6"].customer,
        event=w["e6"],
        segment=north,
        opened_at=local(2025, 3, 12),
        first_contact_at=local(2025, 3, 13),
        stage=Stage.WON_BACK,
        is_open=False,
        closed_at=local(2025, 4, 2),
        deadline_at=None,
    )
    w["k3"] = CaseFactory(
        owner=None, customer=customer("K3", south, None), event=None, segment=south, opened_at=local(2025, 2, 1)
    )
    closed = {"is_open": False, "deadline_at": None, "event": None}
    w["k4"] = CaseFactory(
        owner=am2,
        segment=south,
        opened_at=local(2025, 1, 1),
        stage=Stage.LOST,
        closed_at=local(2025, 3, 31, 23, 30),
        **closed,
    )
    w["k5"] = CaseFactory(
        owner=am2,
        segment=south,
        opened_at=local(2025, 2, 20),
        stage=Stage.LET_GO,
        closed_at=local(2025, 3, 1, 0, 0),
        **closed,
    )
    w["k6"] = CaseFactory(
        owner=am1,
        segment=north,
        opened_at=local(2025, 1, 5),
        stage=Stage.WON_BACK,
        closed_at=local(2025, 2, 28, 23, 59),
        **closed,
    )
    w["k7"] = CaseFactory(owner=am2, segment=south, event=None)  # opened now
    return w


def listed(client, what: str, params: dict) -> set[int]:
    response = client.get(reverse("dashboard:drill", args=[what]), params)
    assert response.status_code == 200
    return {int(pk) for pk in ROW_ID.findall(response.content.decode())}


def customers_of(world, *names) -> set[int]:
    found = set()
    for name in names:
        obj = world[name]
        found.add(obj.customer_id if isinstance(obj, DefectionEvent) else obj.pk)
    return found


def cases(world, *names) -> set[int]:
    return {world[name].pk for name in names}


def test_defections_list_the_counting_events_of_the_period_with_its_edges(executive_client, world):
    assert listed(executive_client, "defected", MARCH) == customers_of(world, "e1", "e2", "e6")
    # The quarter adds February's last day and the January defections (not cF's dismissed one).
    expected = customers_of(world, "e1", "e2", "e3", "e6", "cC", "cD", "cE", "cG")
    assert listed(executive_client, "defected", Q1) == expected


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"kind": "passive"}, ("e1", "e6")),
        ({"kind": "active"}, ("e2",)),
        ({"reason": "unknown"}, ("e2",)),
        ({"reason": Reason.PRICE}, ("e1",)),
        ({"stage": "invited"}, ("e1", "e2")),
        ({"stage": "answered"}, ("e2",)),
        ({"stage": "contacted"}, ("e6",)),
        ({"stage": "offered"}, ("e1",)),
        ({"stage": "won_back"}, ("e6",)),
        ({"manager": "am2"}, ("e2",)),
        ({"segment": "north"}, ("e1", "e6")),
    ],
)
def test_defections_narrow_to_a_chart_segment_or_a_filter(executive_client, world, extra, expected):
    params = {**MARCH, **{k: str(world[v].pk) if k in ("manager", "segment") else v for k, v in extra.items()}}
    assert listed(executive_client, "defected", params) == customers_of(world, *expected)


def test_a_month_bar_narrows_a_quarter_to_that_month(executive_client, world):
    assert listed(executive_client, "defected", {**Q1, "month": "2025-02"}) == customers_of(world, "e3")
    assert listed(executive_client, "defected", {**Q1, "month": "2025-03"}) == customers_of(world, "e1", "e2", "e6")


def test_won_back_lists_the_events_recovered_in_the_period_by_local_time(executive_client, world):
    assert listed(executive_client, "won_back", MARCH) == customers_of(world, "e7", "cE")
    assert listed(executive_client, "won_back", {"period": "month", "month": "2025-04"}) == customers_of(
        world, "e6", "e8"
    )
    assert listed(executive_client, "won_back", {**MARCH, "manager": "none"}) == customers_of(world, "e7")


def test_at_risk_lists_the_customers_at_risk_now(executive_client, world):
    assert listed(executive_client, "at_risk", MARCH) == customers_of(world, "r1", "r2")
    assert listed(executive_client, "at_risk", {**MARCH, "segment": world["south"].pk}) == customers_of(world, "r2")


def test_active_lists_the_customers_in_the_stock_at_the_start(executive_client, world):
    assert listed(executive_client, "active", MARCH) == customers_of(world, "cA", "cD", "cF", "cG")
    assert listed(executive_client, "active", {**MARCH, "manager": world["am2"].pk}) == customers_of(world, "cD")


def test_invited_lists_the_invitations_sent_in_the_period(executive_client, world):
    assert listed(executive_client, "invited", MARCH) == customers_of(world, "e1", "e2")
    assert listed(executive_client, "invited", {**MARCH, "stage": "answered"}) == customers_of(world, "e2")


def test_open_cases_are_those_open_at_the_end_of_a_past_period_or_now(executive_client, world):
    assert listed(executive_client, "cases_open", MARCH) == cases(world, "k1", "k2", "k3")
    now = {"period": "month", "month": timezone.localdate().strftime("%Y-%m")}
    assert listed(executive_client, "cases_open", now) == cases(world, "k1", "k3", "k7")
    assert listed(executive_client, "cases_open", {**now, "manager": "none"}) == cases(world, "k3")
    assert listed(executive_client, "cases_open", {**now, "segment": world["south"].pk}) == cases(world, "k3", "k7")


def test_closed_cases_are_those_closed_in_the_period_with_an_outcome(executive_client, world):
    assert listed(executive_client, "cases_closed", MARCH) == cases(world, "k4", "k5")
    assert listed(executive_client, "cases_closed", {**MARCH, "outcome": "lost"}) == cases(world, "k4")
    assert listed(executive_client, "cases_closed", {**Q1, "manager": world["am1"].pk}) == cases(world, "k6")


def test_a_manager_with_the_permission_sees_only_the_cases_they_may_see(client, world):
    client.force_login(grant_dashboard(world["am1"]))
    now = {"period": "month", "month": timezone.localdate().strftime("%Y-%m")}
    assert listed(client, "cases_open", now) == cases(world, "k1", "k3")  # not am2's k7
    assert listed(client, "cases_closed", MARCH) == set()  # am2's closed cases


def test_an_unknown_list_is_not_found(executive_client, world):
    assert executive_client.get(reverse("dashboard:drill", args=["everything"])).status_code == 404


def test_the_title_names_the_list_and_its_filters_and_links_back_to_the_dashboard(executive_client, world):
    response = executive_client.get(
        reverse("dashboard:drill", args=["defected"]), {**MARCH, "kind": "passive", "segment": world["north"].pk}
    )
    html = response.content.decode()
    assert "March 2025" in html
    assert "North" in html
    assert "Passive (stopped buying)" in html
    assert f'href="/dashboard/?period=month&amp;month=2025-03&amp;segment={world["north"].pk}"' in html


def test_an_empty_list_says_so(executive_client, world):
    response = executive_client.get(
        reverse("dashboard:drill", args=["defected"]), {"period": "month", "month": "2020-01"}
    )
    assert "Nothing here for these filters." in response.content.decode()


def test_the_csv_holds_every_row_of_the_list(executive_client, world):
    response = executive_client.get(reverse("dashboard:drill", args=["defected"]), {**MARCH, "format": "csv"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:2] == ["Customer id", "Customer"]
    assert sorted(row[1] for row in rows[1:]) == ["E1", "E2", "E6"]
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name["E1"][4] == "2025-03-01"
    assert Decimal(by_name["E1"][7]) == world["e1"].lost_revenue


def test_the_xlsx_holds_every_row_of_the_list(executive_client, world):
    response = executive_client.get(reverse("dashboard:drill", args=["cases_closed"]), {**MARCH, "format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Case id"
    assert {row[0] for row in rows[1:]} == cases(world, "k4", "k5")


def test_the_csv_of_a_manager_holds_only_the_cases_they_may_see(client, world):
    client.force_login(grant_dashboard(world["am1"]))
    response = client.get(reverse("dashboard:drill", args=["cases_open"]), {**MARCH, "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert {int(row[0]) for row in rows[1:]} == cases(world, "k1", "k2", "k3")  # k2: am1's, open at March's end


@pytest.mark.parametrize("what", ["defected", "won_back", "at_risk", "active", "invited", "cases_open", "cases_closed"])
def test_a_full_page_takes_a_fixed_number_of_queries(executive_client, world, what, django_assert_max_num_queries):
    segment, manager = world["north"], world["am1"]
    for n in range(55):
        c = CustomerFactory(
            segment=segment, account_manager=manager, status="at_risk", first_purchase_at=local(2024, 5, 1)
        )
        e = event(c, dt.date(2025, 3, 2), status="recovered", recovered_at=local(2025, 3, 20))
        InvitationFactory(event=e, status="sent", sent_at=local(2025, 3, 3))
        CaseFactory(
            owner=manager,
            customer=c,
            event=e,
            segment=segment,
            opened_at=local(2025, 3, 4),
            stage=Stage.LOST if n % 2 else Stage.NEW,
            is_open=not n % 2,
            closed_at=local(2025, 3, 6) if n % 2 else None,
        )
    with django_assert_max_num_queries(12):
        response = executive_client.get(reverse("dashboard:drill", args=[what]), MARCH)
    assert response.status_code == 200
    assert len(ROW_ID.findall(response.content.decode())) >= 25


URL = reverse("dashboard:drill", args=["defected"])


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_manager_without_the_permission_is_refused(manager_client, world):
    assert manager_client.get(URL).status_code == 403
    assert manager_client.get(URL, {"format": "csv"}).status_code == 403


def test_a_manager_with_the_permission_may_look(client, manager, world):
    client.force_login(grant_dashboard(manager))
    assert client.get(URL).status_code == 200


@pytest.mark.parametrize("role_user", ["executive", "administrator"], indirect=True)
def test_executives_and_administrators_may_look(client, role_user, world):
    client.force_login(role_user)
    assert client.get(URL, MARCH).status_code == 200
