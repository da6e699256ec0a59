"""Outcomes: per won-back case the revenue the customer brought since the win-back against the
cost of the accepted offers, and the totals, over the cases the user may see."""

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Sum
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from cases import policy
from cases.forms.actions import StaffChoiceField, active_staff
from cases.models import Case
from cases.outcomes import ZERO, offer_cost_expression, recovered_revenue_expression, won_back_filter
from customers.models import Segment
from winback.roles import role_of

PAGE_SIZE = 50


class OutcomeFilterForm(forms.Form):
    since = forms.DateField(label=_("Won back from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Won back until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    owner = StaffChoiceField(label=_("Owner"), queryset=active_staff(), required=False, empty_label=_("Anyone"))
    segment = forms.ModelChoiceField(
        label=_("Segment"), queryset=Segment.objects.order_by("name"), required=False, empty_label=_("Any segment")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_staff()
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        for name in ("owner", "segment"):
            self.fields[name].widget.attrs["class"] = "form-select"

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end of the period is before its start."))
        return data

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        zone = timezone.get_current_timezone()
        if data["since"]:
            queryset = queryset.filter(won_back_at__gte=dt.datetime.combine(data["since"], dt.time.min, tzinfo=zone))
        if data["until"]:
            end = dt.datetime.combine(data["until"] + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
            queryset = queryset.filter(won_back_at__lt=end)
        if data["owner"]:
            queryset = queryset.filter(owner=data["owner"])
        if data["segment"]:
            queryset = queryset.filter(customer__segment=data["segment"])
        return queryset


def outcome_return(recovered: Decimal, cost: Decimal) -> Decimal | None:
    """Recovered revenue per unit of offer cost; None when nothing was spent."""
    return (recovered / cost).quantize(Decimal("0.01")) if cost else None


@require_GET
@login_required
def outcomes(request):
    if not (request.user.is_active and role_of(request.user) is not None):
        raise PermissionDenied
    form = OutcomeFilterForm(request.GET or None)
    cases = form.filter(policy.visible_cases(request.user, Case.objects.filter(won_back_filter())))
    cases = cases.annotate(recovered_revenue=recovered_revenue_expression(), offer_cost=offer_cost_expression())
    totals = cases.aggregate(recovered=Sum("recovered_revenue", default=ZERO), cost=Sum("offer_cost", default=ZERO))
    page = Paginator(
        cases.select_related("customer__segment", "owner").order_by("-won_back_at", "-id"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    for case in page:
        case.outcome_return = outcome_return(case.recovered_revenue, case.offer_cost)
    context = {
        "form": form,
        "page": page,
        "totals": totals,
        "total_return": outcome_return(totals["recovered"], totals["cost"]),
    }
    return render(request, "cases/outcomes/outcomes.html", context)
