"""Survey figures (reads only): the report period, the invitation funnel, response rates by segment
and by language, and the reasons customers named weighted by the revenue they took with them.

Every figure is one aggregate query in SQL, so the page runs a fixed number of queries whatever the
volume. Definitions (docs/surveys.md, "Deliverability, exports and figures"):
- the funnel and the response rates count the invitations *created* in the period (a cohort, so a
  rate is never pushed above 100 % by answers to older invitations); "answered ÷ sent" is the rate;
- the reasons count the responses *submitted* in the period (as the answer export does), with the
  sum of the lost revenue of their defection events."""

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _

from customers.models import Reason
from surveys.models import Invitation, InvitationStatus, Response

__all__ = [
    "PERIOD_KINDS",
    "Period",
    "invitation_funnel",
    "period_from_params",
    "rates_by_language",
    "rates_by_segment",
    "reasons_by_lost_revenue",
    "recent_quarters",
]

PERIOD_KINDS = (
    ("90d", _("Last 90 days")),
    ("month", _("Month")),
    ("quarter", _("Quarter")),
    ("custom", _("From … to …")),
)
SKIPPED = (InvitationStatus.SKIPPED_SUPPRESSED, InvitationStatus.SKIPPED_PREFERENCE)


@dataclass(frozen=True)
class Period:
    """Days first..last (inclusive) in the business time zone."""

    kind: str
    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time.min, tzinfo=timezone.get_default_timezone())

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period (exclusive bound)."""
        return dt.datetime.combine(
            self.last + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_default_timezone()
        )

    @property
    def month_value(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def quarter_value(self) -> str:
        return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"


def _month(value: str, today: dt.date) -> tuple[dt.date, dt.date]:
    try:
        year, month = (int(part) for part in value.split("-"))
        first = dt.date(year, month, 1)
    except (ValueError, TypeError):
        first = today.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _quarter(value: str, today: dt.date) -> tuple[dt.date, dt.date]:
    try:
        year, quarter = value.upper().split("-Q")
        year, quarter = int(year), int(quarter)
        if not 1 <= quarter <= 4:
            raise ValueError
    except (ValueError, AttributeError):
        year, quarter = today.year, (today.month - 1) // 3 + 1
    first = dt.date(year, 3 * quarter - 2, 1)
    last_month = 3 * quarter
    return first, dt.date(year, last_month, calendar.monthrange(year, last_month)[1])


def period_from_params(params, *, today: dt.date | None = None) -> Period:
    """The period of ?period=90d|month|quarter|custom (with month=YYYY-MM, quarter=YYYY-Qn, or
    from/to=YYYY-MM-DD); anything missing or malformed falls back to the last 90 days."""
    today = today or timezone.localdate()
    kind = params.get("period") or "90d"
    if kind == "month":
        return Period("month", *_month(params.get("month", ""), today))
    if kind == "quarter":
        return Period("quarter", *_quarter(params.get("quarter", ""), today))
    if kind == "custom":
        first, last = parse_date_safe(params.get("from")), parse_date_safe(params.get("to"))
        if first or last:
            first, last = first or dt.date(2000, 1, 1), last or today
            if first > last:
                first, last = last, first
            return Period("custom", first, last)
    return Period("90d", today - dt.timedelta(days=89), today)


def recent_quarters(count: int = 8, *, today: dt.date | None = None) -> list[str]:
    """["2025-Q2", "2025-Q1", ...]: the current quarter and the ones before it."""
    today = today or timezone.localdate()
    index = today.year * 4 + (today.month - 1) // 3
    return [f"{(index - back) // 4}-Q{(index - back) % 4 + 1}" for back in range(count)]


def parse_date_safe(value) -> dt.date | None:
    try:
        return parse_date(value or "")
    except ValueError:  # well formed but impossible, such as 2024-02-31
        return None


def _rate(answered: int, sent: int) -> float | None:
    return round(100 * answered / sent, 1) if sent else None


def invitation_funnel(period: Period) -> dict:
    """Invitations created in the period: created, sent, opened, answered, skipped, failed,
    still waiting, cancelled, and the response rate (answered ÷ sent, in %). One query."""
    created = Q(created_at__gte=period.start, created_at__lt=period.end)
    figures = Invitation.objects.filter(created).aggregate(
        created=Count("id"),
        sent=Count("id", filter=Q(sent_at__isnull=False)),
        opened=Count("id", filter=Q(opened_at__isnull=False)),
        answered=Count("id", filter=Q(response__isnull=False)),
        skipped=Count("id", filter=Q(status__in=SKIPPED)),
        failed=Count("id", filter=Q(status=InvitationStatus.FAILED)),
        waiting=Count("id", filter=Q(status__in=(InvitationStatus.PENDING, InvitationStatus.SENDING))),
        cancelled=Count("id", filter=Q(status=InvitationStatus.CANCELLED)),
    )
    figures["rate"] = _rate(figures["answered"], figures["sent"])
    return figures


def _rates(period: Period, group: str, group_expression) -> list[dict]:
    rows = (
        Invitation.objects.filter(created_at__gte=period.start, created_at__lt=period.end, sent_at__isnull=False)
        .values(**{group: group_expression})
        .annotate(sent=Count("id"), answered=Count("id", filter=Q(response__isnull=False)))
        .order_by(group)
    )
    return [{**row, "rate": _rate(row["answered"], row["sent"])} for row in rows]


def rates_by_segment(period: Period) -> list[dict]:
    """[{segment (name or None), sent, answered, rate}] for invitations created in the period
    and sent. One query."""
    return _rates(period, "segment", F("customer__segment__name"))


def rates_by_language(period: Period) -> list[dict]:
    """[{language, sent, answered, rate}], the invitation's (= the survey's) language. One query."""
    return _rates(period, "language_code", F("language"))


def reasons_by_lost_revenue(period: Period) -> list[dict]:
    """[{reason (code, "" = none named), label, responses, lost_revenue}] for responses submitted
    in the period, largest lost revenue first. One query."""
    rows = (
        Response.objects.filter(submitted_at__gte=period.start, submitted_at__lt=period.end)
        .values("stated_reason")
        .annotate(responses=Count("id"), lost_revenue=Sum("invitation__event__lost_revenue"))
        .order_by()
    )
    labels = dict(Reason.choices)
    result = [
        {
            "reason": row["stated_reason"],
            "label": labels.get(row["stated_reason"], _("No reason given")),
            "responses": row["responses"],
            "lost_revenue": row["lost_revenue"] or Decimal(0),
        }
        for row in rows
    ]
    result.sort(key=lambda row: (-row["lost_revenue"], -row["responses"], str(row["label"])))
    return result
