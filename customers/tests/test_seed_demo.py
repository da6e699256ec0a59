import datetime as dt
import io
import random
import statistics
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from customers.demo import SEED, build_demo
from customers.models import BacktestRun, Customer, DefectionEvent, Interaction, Segment, Transaction
from customers.tests.factories import CustomerFactory
from winback.roles import Role, role_of

PASSWORD = "winback-demo-2026"
NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)
User = get_user_model()


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def frozen_clock():
    """The demo is built relative to today; a fixed day makes every run see the same company."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def seeded(db) -> str:
    return seed("--customers", "300")


def counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Segment.objects.count(),
        Customer.objects.count(),
        Transaction.objects.count(),
        Interaction.objects.count(),
    )


def test_it_creates_the_four_demo_users_with_their_roles_and_the_demo_password(seeded):
    expected = {
        "manager1": Role.ACCOUNT_MANAGER,
        "manager2": Role.ACCOUNT_MANAGER,
        "exec1": Role.EXECUTIVE,
        "admin1": Role.ADMINISTRATOR,
    }
    users = {user.username: user for user in User.objects.filter(username__in=expected)}
    assert set(users) == set(expected)
    for username, role in expected.items():
        user = users[username]
        assert list(user.groups.values_list("name", flat=True)) == [role.value]
        assert role_of(user) == role
        assert user.check_password(PASSWORD)
        assert user.first_name
        assert user.last_name
        assert user.email
        assert user.is_staff == (role == Role.ADMINISTRATOR)


def test_it_creates_three_segments_with_detection_thresholds_and_the_requested_number_of_customers(seeded):
    segments = {segment.name: segment for segment in Segment.objects.all()}
    assert set(segments) == {"Enterprise", "SMB", "Consumer"}
    assert (segments["SMB"].at_risk_days, segments["SMB"].defected_days) == (60, 120)
    assert segments["Enterprise"].case_min_annual_value == Decimal("5000")
    assert Customer.objects.count() == 300
    assert set(Customer.objects.values_list("segment__name", flat=True).distinct()) == set(segments)


def test_every_customer_has_purchases_and_metric_columns_equal_to_their_transactions(seeded):
    purchase = Q(transactions__kind=Transaction.Kind.PURCHASE)
    refund = Q(transactions__kind=Transaction.Kind.REFUND)
    rows = Customer.objects.annotate(
        first=Min("transactions__occurred_at", filter=purchase),
        last=Max("transactions__occurred_at", filter=purchase),
        orders=Count("transactions", filter=purchase),
        bought=Sum("transactions__amount", filter=purchase),
        refunded=Sum("transactions__amount", filter=refund, default=Decimal(0)),
    ).values_list(
        "first_purchase_at",
        "last_purchase_at",
        "order_count",
        "lifetime_revenue",
        "first",
        "last",
        "orders",
        "bought",
        "refunded",
    )

    rows = list(rows)
    assert len(rows) == 300
    for first_at, last_at, order_count, revenue, first, last, orders, bought, refunded in rows:
        assert orders > 0
        assert (first_at, last_at, order_count) == (first, last, orders)
        assert revenue == bought - refunded
    assert Transaction.objects.filter(kind=Transaction.Kind.REFUND).exists()
    assert not Transaction.objects.filter(amount__lte=0).exists()


def test_some_customers_went_quiet_while_others_bought_within_the_last_month(seeded):
    now = timezone.now()
    quiet = Customer.objects.filter(last_purchase_at__lt=now - dt.timedelta(days=90)).count()
    recent = Customer.objects.filter(last_purchase_at__gte=now - dt.timedelta(days=30)).count()
    assert quiet >= 30
    assert recent >= 100
    assert not Transaction.objects.filter(occurred_at__gt=now).exists()
    assert not Transaction.objects.filter(occurred_at__lt=now - dt.timedelta(days=731)).exists()
    # The seed replays detection over its history: the quiet ones are flagged, with events.
    statuses = set(Customer.objects.values_list("status", flat=True))
    assert {Customer.Status.ACTIVE, Customer.Status.AT_RISK, Customer.Status.DEFECTED} <= statuses
    assert DefectionEvent.objects.filter(status=DefectionEvent.Status.OPEN).count() == (
        Customer.objects.filter(status=Customer.Status.DEFECTED).count()
    )
    # ... and backtested the rules over the past year, for the settings page.
    backtest = BacktestRun.objects.get()
    assert len(backtest.result["months"]) == 12
    assert all(month["complete"] for month in backtest.result["months"])


def test_it_records_complaints_cancellations_and_open_requests_with_due_dates(seeded):
    kinds = Counter(Interaction.objects.values_list("kind", flat=True))
    assert kinds[Interaction.Kind.COMPLAINT] >= 5
    assert kinds[Interaction.Kind.CANCELLATION] >= 1
    assert kinds[Interaction.Kind.SUPPORT_REQUEST] >= 20
    assert kinds[Interaction.Kind.PRAISE] >= 1

    open_requests = Interaction.objects.awaiting_answer()
    assert open_requests.count() >= 6
    assert not open_requests.filter(due_at__isnull=True).exists()
    assert set(open_requests.values_list("owner__username", flat=True)) == {"manager1", "manager2"}
    now = timezone.now()
    assert open_requests.filter(due_at__lt=now).exists()
    assert open_requests.filter(due_at__gt=now).exists()
    resolved = Interaction.objects.filter(status=Interaction.Status.RESOLVED)
    assert not resolved.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=now)).exists()


def test_customers_look_like_a_real_customer_base(seeded):
    customers = Customer.objects.select_related("segment", "account_manager")
    assert all(c.external_id.startswith("C00") and len(c.external_id) == 7 for c in customers)
    languages = Counter(c.language for c in customers)
    assert languages.most_common(1)[0][0] == "en"
    assert {"ru", "bg", "pl"} <= set(languages)
    managers = Counter(c.account_manager.username if c.account_manager else None for c in customers)
    assert managers["manager1"] > 50
    assert managers["manager2"] > 50
    assert 0 < managers[None] < 100
    assert all(c.company for c in customers if c.segment.name != "Consumer")
    assert not any(c.company for c in customers if c.segment.name == "Consumer")
    assert all("@" in c.email and c.email.isascii() for c in customers)
    assert any(c.contact_notes for c in customers if c.do_not_contact)
    assert any(c.preferred_channel for c in customers)


def test_a_second_run_says_already_loaded_and_changes_nothing(seeded):
    before = counts()
    assert "already loaded" in seed("--customers", "300")
    assert "already loaded" in seed("--if-empty")
    assert counts() == before


def test_if_empty_does_nothing_when_the_database_already_has_customers(db):
    CustomerFactory()
    before = counts()
    output = seed("--if-empty", "--customers", "50")
    assert "already loaded" in output
    assert counts() == before
    assert not User.objects.filter(username="manager1").exists()


def test_if_empty_seeds_an_empty_database(db):
    output = seed("--if-empty", "--customers", "40")
    assert Customer.objects.count() == 40
    assert PASSWORD in output


def test_it_prints_the_counts_the_users_with_their_roles_and_the_demo_password(seeded):
    assert "300 customers" in seeded
    assert f"{Transaction.objects.count()} transactions" in seeded
    assert f"{Interaction.objects.count()} interactions" in seeded
    for username, role in [("manager1", "Account manager"), ("exec1", "Executive"), ("admin1", "Administrator")]:
        line = next(line for line in seeded.splitlines() if username in line)
        assert role in line
    assert f"Demo password: {PASSWORD}" in seeded


def test_it_writes_in_bulk_rather_than_once_per_customer(db, django_assert_max_num_queries):
    # About 80 for the data, a constant ~32 for each of the 7 detection runs of the replay (the
    # first also numbers every purchase's gap to the previous one: ~15 more), and one per month
    # for the backtest. None of it grows with the number of customers.
    with django_assert_max_num_queries(370):
        seed("--customers", "300")


def test_it_refuses_a_customer_count_below_one(db):
    with pytest.raises(CommandError):
        seed("--customers", "0")
    assert not Customer.objects.exists()


def test_the_same_seed_on_the_same_day_builds_the_same_company():
    first = build_demo(size=200, now=NOW, rng=random.Random(SEED))
    second = build_demo(size=200, now=NOW, rng=random.Random(SEED))
    assert first == second
    assert first != build_demo(size=200, now=NOW, rng=random.Random(SEED + 1))


def test_purchases_fall_in_business_hours_of_the_business_time_zone():
    tz = ZoneInfo(settings.TIME_ZONE)
    people = build_demo(size=200, now=NOW, rng=random.Random(SEED))
    for person in people:
        for occurred_at, _ in person.purchases + person.refunds:
            assert occurred_at.tzinfo == tz
            assert 8 <= occurred_at.hour <= 19
            assert occurred_at < NOW


def test_about_fifteen_percent_stopped_buying_three_to_ten_months_ago():
    people = build_demo(size=1000, now=NOW, rng=random.Random(SEED))
    today = NOW.date()
    quiet = [p for p in people if p.fate.startswith("quiet")]
    assert len(quiet) == 150
    for person in quiet:
        silent_days = (today - person.purchases[-1][0].date()).days
        assert 90 <= silent_days <= 305
    departing_complaints = [p for p in quiet if any(i.kind == Interaction.Kind.COMPLAINT for i in p.interactions)]
    assert len(departing_complaints) >= 30


def test_slow_leavers_buy_at_growing_intervals_before_they_stop():
    people = build_demo(size=1000, now=NOW, rng=random.Random(SEED))
    slow = [p for p in people if p.fate == "quiet_slow" and len(p.purchases) >= 6]
    assert len(slow) >= 30
    growing = 0
    for person in slow:
        days = [occurred_at for occurred_at, _ in person.purchases]
        gaps = [(later - earlier).days for earlier, later in zip(days, days[1:], strict=False)]
        growing += gaps[-1] > statistics.median(gaps[:-2])
    assert growing >= 0.9 * len(slow)


def test_purchases_are_busier_before_christmas_than_in_summer():
    people = build_demo(size=1500, now=NOW, rng=random.Random(SEED))
    months = Counter(occurred_at.month for p in people for occurred_at, _ in p.purchases if occurred_at.year == 2025)
    assert (months[11] + months[12]) / 2 > 1.3 * (months[6] + months[7] + months[8]) / 3
    assert months[4] > months[7]
