"""The dashboard's drill-down lists (the customers or cases behind a figure or chart segment) and
the downloads of its tables. Every cell of every file goes through winback.exports (SUR-10)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cases.models import Stage
from customers.models import DefectionEvent, Reason, Segment
from surveys.policy import can_export_answers
from winback.dashboard.drill_columns import LIST_COLUMNS, when
from winback.dashboard.drilldown import LISTS, SORTS, Drill, drill_list, parse_drill, stage_labels
from winback.dashboard.figures import Filters, build_dashboard
from winback.dashboard.forms import DashboardFilterForm, filter_query
from winback.dashboard.periods import month_period
from winback.dashboard.policy import can_view_dashboard
from winback.dashboard.voices import voices_queryset
from winback.exports import csv_download, xlsx_download

PAGE_SIZE = 50
CHUNK_SIZE = 2000
FORMATS = ("csv", "xlsx")


def _allowed(request) -> None:
    if not can_view_dashboard(request.user):
        raise PermissionDenied


def _titles() -> dict[str, str]:
    return {
        "defected": _("Defections"),
        "won_back": _("Won back"),
        "at_risk": _("Customers at risk now"),
        "active": _("Customers active at the start"),
        "invited": _("Survey invitations sent"),
        "cases_open": _("Open cases"),
        "cases_closed": _("Closed cases"),
    }


def _sort_labels() -> dict[str, str]:
    return {
        "-lost_revenue": _("Lost revenue"),
        "-as_of": _("Newest first"),
        "as_of": _("Oldest first"),
        "-recovered_at": _("Latest won back"),
        "name": _("Name"),
        "-annual_value": _("Annual value"),
        "-lifetime_revenue": _("Lifetime revenue"),
        "-sent_at": _("Newest first"),
        "sent_at": _("Oldest first"),
        "-value_at_stake": _("Revenue at stake"),
        "-opened_at": _("Newest first"),
        "-closed_at": _("Latest closed"),
    }


def _describe(what: str, drill: Drill) -> list[str]:
    """The list's period and filters in words, for the title."""
    filters = drill.filters
    if what == "at_risk" or (what == "cases_open" and drill.until_now):
        parts = [_("now")]
    elif what == "cases_open":
        parts = [_("at the end of %(period)s") % {"period": _period_label(drill)}]
    else:
        parts = [_period_label(drill)]
    if filters.segment == 0:
        parts.append(_("no segment"))
    elif filters.segment is not None:
        parts.append(Segment.objects.filter(pk=filters.segment).values_list("name", flat=True).first() or "?")
    if filters.manager == 0:
        parts.append(_("no owner") if what.startswith("cases") else _("no account manager"))
    elif filters.manager is not None:
        user = _manager(filters.manager)
        parts.append((user.get_full_name() or user.get_username()) if user else "?")
    if drill.kind:
        parts.append(str(dict(DefectionEvent.Kind.choices)[drill.kind]))
    if drill.reason is not None:
        parts.append(str(dict(Reason.choices).get(drill.reason, _("reason not yet known"))))
    if drill.stage:
        parts.append(str(dict(stage_labels())[drill.stage]))
    if drill.outcome:
        parts.append(str(dict(Stage.choices)[drill.outcome]))
    return parts


def _period_label(drill: Drill) -> str:
    return month_period(drill.month).label if drill.month else drill.filters.period.label


def _manager(pk: int):
    return get_user_model().objects.filter(pk=pk).first()


@login_required
@require_GET
@never_cache
def drill(request, what):
    """The rows behind a figure: paginated, sortable, and as CSV or XLSX with ?format=."""
    _allowed(request)
    if what not in LISTS:
        raise Http404
    filters = DashboardFilterForm(request.GET).filters()
    narrowing = parse_drill(filters, request.GET)
    rows, sort = drill_list(what, narrowing, request.user, request.GET.get("sort", ""))
    fmt = request.GET.get("format", "")
    if fmt in FORMATS:
        header, row = LIST_COLUMNS[what]()
        lines = (row(item) for item in rows.iterator(chunk_size=CHUNK_SIZE))
        filename = f"{what}-{filters.period.first:%Y-%m}.{fmt}"
        if fmt == "csv":
            return csv_download(header, lines, filename=filename)
        return xlsx_download(header, lines, sheet=_titles()[what][:31], filename=filename)
    dashboard_query = filter_query(filters)
    query = {**dashboard_query, **narrowing.query()}
    sort_labels = _sort_labels()
    context = {
        "what": what,
        "title": _titles()[what],
        "described": _describe(what, narrowing),
        "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "sort": sort,
        "sorts": [(key, sort_labels[key]) for key in SORTS[what]],
        "dashboard_url": reverse("dashboard:home") + "?" + urlencode(dashboard_query),
        "csv_url": request.path + "?" + urlencode({**query, "sort": sort, "format": "csv"}),
        "xlsx_url": request.path + "?" + urlencode({**query, "sort": sort, "format": "xlsx"}),
        "now": timezone.now(),
    }
    return render(request, "winback/dashboard/drill.html", context)


@login_required
@require_GET
def export(request, table, fmt):
    """One of the dashboard's tables as CSV or XLSX, for the same filters as the page."""
    _allowed(request)
    if table not in TABLES or fmt not in FORMATS:
        raise Http404
    if table == "voices" and not can_export_answers(request.user):
        raise PermissionDenied  # survey answers leave the application only with executives and administrators
    filters = DashboardFilterForm(request.GET).filters()
    header, rows = TABLES[table](filters)
    filename = f"dashboard-{table}-{filters.period.first:%Y-%m}.{fmt}"
    if fmt == "csv":
        return csv_download(header, rows, filename=filename)
    return xlsx_download(header, rows, sheet=table, filename=filename)


# The dashboard's tables as files: (header, rows) for a set of filters.
VOICES_EXPORT_LIMIT = 5000


def _headline(filters: Filters):
    data = build_dashboard(filters)
    header = [_("Figure"), _("Key"), data.period.label, data.previous.label, _("Change"), _("Kind")]
    return header, [[f.label, f.key, f.value, f.previous, f.change, f.kind] for f in data.headline.values()]


def _monthly(filters: Filters):
    header = [
        _("Month"),
        _("Active at the start"),
        _("Defected"),
        _("Passive"),
        _("Active"),
        _("Churn rate"),
        _("Lost revenue"),
    ]
    rows = [
        [r.month.strftime("%Y-%m"), r.active_start, r.defected, r.passive, r.active, r.churn_rate, r.lost_revenue]
        for r in build_dashboard(filters).monthly
    ]
    return header, rows


def _reasons(filters: Filters):
    header = [_("Reason"), _("Key"), _("Defections"), _("Lost revenue")]
    return header, [[r.label, r.reason, r.events, r.lost_revenue] for r in build_dashboard(filters).reasons]


def _funnel(filters: Filters):
    header = [_("Step"), _("Key"), _("Customers")]
    return header, [[s.label, s.key, s.count] for s in build_dashboard(filters).funnel]


def _cohorts(filters: Filters):
    cohorts = build_dashboard(filters).cohorts
    width = max((len(c.retention) for c in cohorts), default=0)
    header = [_("Cohort"), _("Joined"), *[_("Month %(n)s") % {"n": n} for n in range(width)]]
    return header, [[c.cohort.strftime("%Y-%m"), c.joined, *c.retention] for c in cohorts]


def _people(filters: Filters):
    header = [
        _("Account manager"),
        _("Open cases"),
        _("Overdue"),
        _("Median days to first contact"),
        _("Win rate"),
        _("Recovered revenue"),
    ]
    rows = [
        [p.name, p.open_cases, p.overdue, p.median_contact_days, p.win_rate, p.recovered_revenue]
        for p in build_dashboard(filters).people
    ]
    return header, rows


def _actions(filters: Filters):
    header = [
        _("Id"),
        _("Corrective action"),
        _("Reason"),
        _("Status"),
        _("Lost revenue"),
        _("Done"),
        _("Defections citing the reason, by month"),
    ]
    rows = [
        [
            a.id,
            a.title,
            a.reason_label,
            a.status_label,
            a.lost_revenue,
            when(a.done_at),
            "; ".join(f"{month:%Y-%m}: {count}" for month, count, *_rest in a.effect),
        ]
        for a in build_dashboard(filters).actions
    ]
    return header, rows


def _voices(filters: Filters):
    labels = dict(Reason.choices)
    header = [_("Answered"), _("Customer id"), _("Customer"), _("Reason given"), _("In their own words")]
    rows = (
        [when(submitted), external_id, name, str(labels.get(reason, "")), text]
        for _a, _r, submitted, _c, external_id, name, reason, text in voices_queryset(filters)[:VOICES_EXPORT_LIMIT]
    )
    return header, rows


TABLES = {
    "headline": _headline,
    "monthly": _monthly,
    "reasons": _reasons,
    "funnel": _funnel,
    "cohorts": _cohorts,
    "people": _people,
    "actions": _actions,
    "voices": _voices,
}
