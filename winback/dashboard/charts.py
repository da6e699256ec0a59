"""The charts' data (handed to static/js/dashboard.js through json_script) and the drill-down link
behind every figure and chart segment."""

from django.conf import settings
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from winback.dashboard.figures import Dashboard

# The list behind each headline figure: (what, extra parameters).
HEADLINE_DRILL = {
    "active_start": ("active", {}),
    "defected": ("defected", {}),
    "defected_passive": ("defected", {"kind": "passive"}),
    "defected_active": ("defected", {"kind": "active"}),
    "churn_rate": ("defected", {}),
    "lost_revenue": ("defected", {}),
    "at_risk": ("at_risk", {}),
    "won_back": ("won_back", {}),
    "recovered_revenue": ("won_back", {}),
    "win_back_rate": ("defected", {"stage": "won_back"}),
    "survey_response_rate": ("invited", {}),
    "open_cases": ("cases_open", {}),
    "stake": ("cases_open", {}),
    "offer_cost": ("cases_closed", {"outcome": "won_back"}),
    "offer_return": ("cases_closed", {"outcome": "won_back"}),
}


def drill_url(what: str, query: dict, **extra) -> str:
    return reverse("dashboard:drill", args=[what]) + "?" + urlencode({**query, **extra})


def drill_links(data: Dashboard, query: dict) -> dict:
    links = {key: drill_url(what, query, **extra) for key, (what, extra) in HEADLINE_DRILL.items()}
    links["reasons"] = {
        row.reason: drill_url("defected", query, reason=row.reason or "unknown") for row in data.reasons
    }
    links["funnel"] = {
        step.key: drill_url("defected", query, **({} if step.key == "defected" else {"stage": step.key}))
        for step in data.funnel
    }
    return links


def _month_query(query: dict, month) -> dict:
    """The filters with the period narrowed to one month (a bar of a monthly chart)."""
    rest = {k: v for k, v in query.items() if k not in ("period", "month", "quarter", "year", "from", "to")}
    return {**rest, "period": "month", "month": month.strftime("%Y-%m")}


def chart_data(data: Dashboard, query: dict) -> dict:
    months = [row.month.strftime("%Y-%m") for row in data.monthly]
    return {
        "currency": settings.WINBACK_CURRENCY,
        "labels": {
            "churn_rate": _("Churn rate"),
            "lost_revenue": _("Lost revenue"),
            "passive": _("Passive (stopped buying)"),
            "active": _("Active (cancelled)"),
            "by_revenue": _("Lost revenue"),
            "by_count": _("Defections"),
            "cumulative": _("Cumulative share"),
            "customers": _("Customers"),
        },
        "monthly": {
            "months": months,
            "churn_rate": [None if r.churn_rate is None else round(r.churn_rate * 100, 2) for r in data.monthly],
            "lost_revenue": [float(r.lost_revenue) for r in data.monthly],
            "passive": [r.passive for r in data.monthly],
            "active": [r.active for r in data.monthly],
            "urls": [drill_url("defected", _month_query(query, r.month)) for r in data.monthly],
            "passive_urls": [drill_url("defected", _month_query(query, r.month), kind="passive") for r in data.monthly],
            "active_urls": [drill_url("defected", _month_query(query, r.month), kind="active") for r in data.monthly],
        },
        "reasons": {
            "labels": [r.label for r in data.reasons],
            "revenue": [float(r.lost_revenue) for r in data.reasons],
            "count": [r.events for r in data.reasons],
            "urls": [drill_url("defected", query, reason=r.reason or "unknown") for r in data.reasons],
        },
        "funnel": {
            "labels": [s.label for s in data.funnel],
            "counts": [s.count for s in data.funnel],
            "urls": [
                drill_url("defected", query, **({} if s.key == "defected" else {"stage": s.key})) for s in data.funnel
            ],
        },
        "actions": {
            "labels": [Truncator(a.title).chars(32) for a in data.actions],
            "revenue": [float(a.lost_revenue) for a in data.actions],
            "status": [a.status_label for a in data.actions],
        },
    }
