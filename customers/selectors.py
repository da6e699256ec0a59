"""Reads for the customer pages: the filtered, sorted customer list (which the CSV export shares)
and everything the customer card shows."""

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, DecimalField, F, OrderBy, Q, Sum, Value
from django.db.models.functions import Abs, Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.detection.explain import explain
from customers.models import Customer, DefectionEvent, Interaction, Segment, StatusChange, Transaction
from winback.roles import Role

PAGE_SIZE = 50
CARD_ROWS = 50
CHART_MONTHS = 24
STATUS_HISTORY_ROWS = 20

MANAGER_NONE = "none"
MANAGER_MINE = "mine"

# Sort key -> (columns in ascending order, whether the first click sorts descending).
# Every key ends in "id" so pages are stable; name and status follow the model's (name, id)
# and (status, name) indexes, and a filter on status, segment or account manager plus the
# default name order is served by the matching (<filter>, name) index.
SORTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "name": (("name", "id"), False),
    "status": (("status", "name", "id"), False),
    "last_purchase": (("last_purchase_at", "id"), True),
    "orders": (("order_count", "id"), True),
    "revenue": (("lifetime_revenue", "id"), True),
}
DEFAULT_SORT = "name"
NULLABLE_SORT_COLUMNS = {"last_purchase_at"}

DO_NOT_CONTACT_CHOICES = [("yes", gettext_lazy("Do not contact")), ("no", gettext_lazy("May be contacted"))]


def _id_or_none(text: str) -> int | None:
    """A primary key from the query string; anything else (or out of bigint range) is None."""
    if text.isascii() and text.isdigit() and 0 < len(text) <= 18:
        return int(text)
    return None


@dataclass(frozen=True)
class CustomerListFilters:
    """The list's query string, parsed and cleaned: unknown values are ignored, not errors, so a
    stale bookmark still opens."""

    query: str = ""
    status: str = ""
    segment_id: int | None = None
    manager: str = ""  # "", MANAGER_NONE, MANAGER_MINE or a user id
    do_not_contact: str = ""  # "", "yes" or "no"
    sort: str = DEFAULT_SORT
    descending: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> "CustomerListFilters":
        status = params.get("status", "")
        manager = params.get("manager", "")
        if manager not in (MANAGER_NONE, MANAGER_MINE) and _id_or_none(manager) is None:
            manager = ""
        dnc = params.get("dnc", "")
        sort = params.get("sort", "")
        descending = sort.startswith("-")
        sort = sort.removeprefix("-")
        if sort not in SORTS:
            sort, descending = DEFAULT_SORT, False
        segment = params.get("segment", "")
        return cls(
            query=params.get("q", "").strip()[:200],
            status=status if status in Customer.Status.values else "",
            segment_id=_id_or_none(segment),
            manager=manager,
            do_not_contact=dnc if dnc in ("yes", "no") else "",
            sort=sort,
            descending=descending,
        )

    @property
    def is_filtered(self) -> bool:
        return bool(self.query or self.status or self.segment_id or self.manager or self.do_not_contact)

    @property
    def sort_param(self) -> str:
        return f"-{self.sort}" if self.descending else self.sort


def _ordering(filters: CustomerListFilters) -> list[OrderBy]:
    columns = SORTS[filters.sort][0]
    ordering = []
    for column in columns:
        # Customers who never bought sort after everyone else in both directions.
        nulls_last = True if column in NULLABLE_SORT_COLUMNS else None
        if filters.descending:
            ordering.append(F(column).desc(nulls_last=nulls_last))
        else:
            ordering.append(F(column).asc(nulls_last=nulls_last))
    return ordering


def _filtered(queryset, *, filters: CustomerListFilters, user):
    if filters.query:
        queryset = queryset.search(filters.query)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.segment_id:
        queryset = queryset.filter(segment_id=filters.segment_id)
    if filters.manager == MANAGER_NONE:
        queryset = queryset.filter(account_manager__isnull=True)
    elif filters.manager == MANAGER_MINE:
        queryset = queryset.managed_by(user)
    elif filters.manager:
        queryset = queryset.filter(account_manager_id=int(filters.manager))
    if filters.do_not_contact:
        queryset = queryset.filter(do_not_contact=filters.do_not_contact == "yes")
    return queryset.order_by(*_ordering(filters))


def customer_list(*, filters: CustomerListFilters, user):
    """The customers matching the filters, sorted, with segment and account manager joined."""
    return _filtered(Customer.objects.select_related("segment", "account_manager"), filters=filters, user=user)


def customers_exist() -> bool:
    return Customer.objects.exists()


EXPORT_COLUMNS = (
    ("customer_id", "external_id"),
    ("name", "name"),
    ("email", "email"),
    ("phone", "phone"),
    ("company", "company"),
    ("segment", "segment__name"),
    ("account_manager", "account_manager__username"),
    ("language", "language"),
    ("status", "status"),
    ("do_not_contact", "do_not_contact"),
    ("last_purchase_at", "last_purchase_at"),
    ("order_count", "order_count"),
    ("lifetime_revenue", "lifetime_revenue"),
)


def customer_export_rows(*, filters: CustomerListFilters, user, chunk_size: int = 2000) -> Iterator[tuple]:
    """Tuples in EXPORT_COLUMNS order for the same customers, in the same order, as the list;
    streamed from a server-side cursor so a million rows never sit in memory."""
    fields = [column for _header, column in EXPORT_COLUMNS]
    queryset = _filtered(Customer.objects.all(), filters=filters, user=user).values_list(*fields)
    return queryset.iterator(chunk_size=chunk_size)


def segment_choices() -> list[tuple[int, str]]:
    return list(Segment.objects.order_by("name").values_list("id", "name"))


def account_manager_choices() -> list[tuple[int, str]]:
    """Everyone who can be an account manager: account managers and administrators."""
    users = (
        get_user_model()
        .objects.filter(groups__name__in=[Role.ACCOUNT_MANAGER.value, Role.ADMINISTRATOR.value])
        .distinct()
        .only("id", "username", "first_name", "last_name", "is_active")
        .order_by("first_name", "last_name", "username")
    )
    choices = []
    for user in users:
        label = user.get_full_name() or user.username
        if not user.is_active:
            label = _("%(name)s (deactivated)") % {"name": label}
        choices.append((user.pk, label))
    return choices


# The customer card


@dataclass(frozen=True)
class MonthlyRevenue:
    month: dt.date  # the first day of the month in the business time zone
    revenue: Decimal


@dataclass(frozen=True)
class StatusHistoryEntry:
    change: StatusChange
    explanation: str


@dataclass
class CustomerCard:
    customer: Customer
    transaction_count: int
    orders_last_year: int
    revenue_last_year: Decimal
    days_since_last_purchase: int | None
    monthly_revenue: list[MonthlyRevenue]
    transactions: list[Transaction]
    interactions: list[Interaction]
    interaction_count: int
    preferences_line: str
    has_scores: bool = field(default=False)
    status_history: list[StatusHistoryEntry] = field(default_factory=list)
    defection_events: list[DefectionEvent] = field(default_factory=list)
    today: dt.date | None = None

    @property
    def status_explanation(self) -> str:
        """Why the customer has their current status: the latest change, if it led there."""
        if self.status_history and self.status_history[0].change.to_status == self.customer.status:
            return self.status_history[0].explanation
        return ""

    @property
    def dismissed_until(self) -> dt.date | None:
        """The day before which detection leaves the customer alone, while that is still ahead."""
        until = self.customer.dismissed_until
        return until if until and self.today and until > self.today else None

    @property
    def usual_gap_days(self) -> int | None:
        gap = self.customer.median_gap_days
        return None if gap is None else round(gap)

    @property
    def chart_data(self) -> dict:
        """What static/js/customer_chart.js draws (through json_script)."""
        return {
            "months": [entry.month.strftime("%Y-%m") for entry in self.monthly_revenue],
            "values": [float(entry.revenue) for entry in self.monthly_revenue],
            "label": _("Revenue"),
            "currency": settings.WINBACK_CURRENCY,
        }

    @property
    def monthly_revenue_total(self) -> Decimal:
        return sum((entry.revenue for entry in self.monthly_revenue), Decimal("0"))


def customer_card_queryset():
    return Customer.objects.select_related("segment", "account_manager")


def _first_of_month(day: dt.date, months_back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


def monthly_revenue(*, customer: Customer, now: dt.datetime, months: int = CHART_MONTHS) -> list[MonthlyRevenue]:
    """Purchases minus refunds per calendar month (business time zone), oldest first, for the
    last `months` months including the current one; months without transactions are 0."""
    zone = timezone.get_default_timezone()
    this_month = _first_of_month(timezone.localtime(now, zone).date())
    first_month = _first_of_month(this_month, months - 1)
    start = dt.datetime.combine(first_month, dt.time.min, tzinfo=zone)
    decimal = DecimalField(max_digits=16, decimal_places=2)
    rows = (
        Transaction.objects.filter(customer=customer, occurred_at__gte=start)
        .annotate(month=TruncMonth("occurred_at", tzinfo=zone))
        .values("month")
        .annotate(
            purchases=Coalesce(Sum("amount", filter=Q(kind=Transaction.Kind.PURCHASE)), Value(0), output_field=decimal),
            # Refunds subtract whichever sign they were stored with.
            refunds=Coalesce(
                Sum(Abs("amount"), filter=Q(kind=Transaction.Kind.REFUND)), Value(0), output_field=decimal
            ),
        )
        .order_by()
    )
    by_month = {}
    for row in rows:
        month = row["month"]
        key = timezone.localtime(month, zone).date() if isinstance(month, dt.datetime) else month
        by_month[key] = by_month.get(key, Decimal("0")) + row["purchases"] - row["refunds"]
    series = []
    for offset in range(months - 1, -1, -1):
        month = _first_of_month(this_month, offset)
        series.append(MonthlyRevenue(month=month, revenue=by_month.get(month, Decimal("0.00"))))
    return series


def contact_preferences_line(customer: Customer) -> str:
    """ "Prefers email; no phone calls": the preferred channel and the free-text notes."""
    parts = []
    if customer.preferred_channel:
        parts.append(_("Prefers %(channel)s") % {"channel": customer.get_preferred_channel_display().lower()})
    if customer.contact_notes.strip():
        parts.append(customer.contact_notes.strip())
    return "; ".join(parts)


def status_history(*, customer: Customer, rows: int = STATUS_HISTORY_ROWS) -> list[StatusHistoryEntry]:
    """The customer's latest status changes, newest first, each with its explanation (one query)."""
    changes = StatusChange.objects.filter(customer=customer).select_related("actor").order_by("-changed_at", "-id")
    return [StatusHistoryEntry(change, explain(change)) for change in changes[:rows]]


def customer_card(*, customer: Customer, now: dt.datetime | None = None) -> CustomerCard:
    """Everything the card shows beyond the customer row: six queries (one aggregate over the
    transactions, the monthly series, the latest transactions, the latest interactions, the
    status history, the defection events) plus an interaction count only when there are more
    than fit on the card."""
    now = now or timezone.now()
    year_ago = now - dt.timedelta(days=365)
    decimal = DecimalField(max_digits=16, decimal_places=2)
    purchase_last_year = Q(kind=Transaction.Kind.PURCHASE, occurred_at__gte=year_ago)
    refund_last_year = Q(kind=Transaction.Kind.REFUND, occurred_at__gte=year_ago)
    figures = Transaction.objects.filter(customer=customer).aggregate(
        transaction_count=Count("id"),
        orders_last_year=Count("id", filter=purchase_last_year),
        purchases_last_year=Coalesce(Sum("amount", filter=purchase_last_year), Value(0), output_field=decimal),
        refunds_last_year=Coalesce(Sum(Abs("amount"), filter=refund_last_year), Value(0), output_field=decimal),
    )

    transactions = list(Transaction.objects.filter(customer=customer).order_by("-occurred_at", "-id")[:CARD_ROWS])
    interactions = list(
        Interaction.objects.filter(customer=customer)
        .select_related("owner")
        .order_by("-occurred_at", "-id")[: CARD_ROWS + 1]
    )
    if len(interactions) > CARD_ROWS:
        interactions = interactions[:CARD_ROWS]
        interaction_count = Interaction.objects.filter(customer=customer).count()
    else:
        interaction_count = len(interactions)
    for interaction in interactions:
        interaction.overdue = interaction.is_overdue(now)

    days_since = None
    if customer.last_purchase_at:
        today = timezone.localtime(now).date()
        days_since = max((today - timezone.localtime(customer.last_purchase_at).date()).days, 0)

    return CustomerCard(
        customer=customer,
        transaction_count=figures["transaction_count"],
        orders_last_year=figures["orders_last_year"],
        revenue_last_year=figures["purchases_last_year"] - figures["refunds_last_year"],
        days_since_last_purchase=days_since,
        monthly_revenue=monthly_revenue(customer=customer, now=now),
        transactions=transactions,
        interactions=interactions,
        interaction_count=interaction_count,
        preferences_line=contact_preferences_line(customer),
        has_scores=any(score is not None for score in (customer.r_score, customer.f_score, customer.m_score)),
        status_history=status_history(customer=customer),
        defection_events=list(DefectionEvent.objects.filter(customer=customer).order_by("-as_of", "-id")[:CARD_ROWS]),
        today=timezone.localtime(now).date(),
    )


# "My at-risk customers"


def at_risk_customers(*, manager: str = ""):
    """At-risk customers, the most revenue at stake first (the (account_manager, status,
    annual_value) and (status, annual_value) indexes serve both forms). `manager` is "" for
    everyone, MANAGER_NONE for customers without one, or a user id."""
    queryset = Customer.objects.filter(status=Customer.Status.AT_RISK).select_related("account_manager", "segment")
    if manager == MANAGER_NONE:
        queryset = queryset.filter(account_manager__isnull=True)
    elif manager:
        queryset = queryset.filter(account_manager_id=int(manager))
    return queryset.order_by(F("annual_value").desc(), "id")


def at_risk_explanations(customers: list[Customer]) -> dict[int, str]:
    """Why each of these customers is at risk: their latest move to at risk, explained (one query)."""
    latest: dict[int, StatusChange] = {}
    changes = StatusChange.objects.filter(
        customer_id__in=[customer.pk for customer in customers], to_status=Customer.Status.AT_RISK
    ).order_by("customer_id", "-changed_at", "-id")
    for change in changes:
        latest.setdefault(change.customer_id, change)
    return {customer_id: explain(change) for customer_id, change in latest.items()}


def days_since_purchase(customer: Customer, today: dt.date) -> int | None:
    if not customer.last_purchase_at:
        return None
    return max((today - timezone.localtime(customer.last_purchase_at).date()).days, 0)
