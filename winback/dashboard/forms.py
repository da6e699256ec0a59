"""The dashboard's filters, read from the URL so that a view can be bookmarked and shared."""

import datetime as dt
import re

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.forms import account_managers
from customers.models import Segment
from winback.dashboard import periods
from winback.dashboard.figures import Filters

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
NONE = "none"


def parse_month(value: str) -> dt.date:
    match = MONTH.match(value or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise forms.ValidationError(_("Enter a month like 2026-03."))
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[("month", _("Month")), ("quarter", _("Quarter")), ("year", _("Year")), ("custom", _("Custom range"))],
    )
    month = forms.CharField(label=_("Month"), required=False, widget=forms.TextInput(attrs={"type": "month"}))
    quarter = forms.CharField(label=_("Quarter"), required=False, help_text=_("Like 2026-Q3"))
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)
    from_month = forms.CharField(label=_("From"), required=False, widget=forms.TextInput(attrs={"type": "month"}))
    to_month = forms.CharField(label=_("To"), required=False, widget=forms.TextInput(attrs={"type": "month"}))
    segment = forms.ChoiceField(label=_("Segment"), required=False, widget=forms.Select(attrs={"class": "form-select"}))
    manager = forms.ChoiceField(
        label=_("Account manager"), required=False, widget=forms.Select(attrs={"class": "form-select"})
    )

    def __init__(self, data=None, **kwargs):
        if data is not None:  # the URL says "from" and "to"
            data = data.copy()
            for short, name in (("from", "from_month"), ("to", "to_month")):
                if short in data and name not in data:
                    data[name] = data[short]
        super().__init__(data, **kwargs)
        self.fields["segment"].choices = [
            ("", _("All segments")),
            *[(str(pk), name) for pk, name in Segment.objects.order_by("name").values_list("pk", "name")],
            (NONE, _("No segment")),
        ]
        self.fields["manager"].choices = [
            ("", _("All account managers")),
            *[(str(user.pk), user.get_full_name() or user.get_username()) for user in account_managers()],
            (NONE, _("No account manager")),
        ]

    def clean(self):
        data = super().clean()
        data["chosen_period"] = self._period(data)
        return data

    def _period(self, data) -> periods.Period:
        kind = data.get("period") or "month"
        if kind == "month":
            month = self._month("month") if data.get("month") else None
            return periods.month_period(month) if month else periods.default_period()
        if kind == "quarter":
            match = QUARTER.match(data.get("quarter") or "")
            if not match:
                self.add_error("quarter", _("Enter a quarter like 2026-Q3."))
                return periods.default_period()
            return periods.quarter_period(int(match.group(1)), int(match.group(2)))
        if kind == "year":
            if data.get("year") is None:
                self.add_error("year", _("Enter a year."))
                return periods.default_period()
            return periods.year_period(data["year"])
        first, last = self._month("from_month"), self._month("to_month")
        if first and last and first > last:
            self.add_error("to_month", _("The range must end on or after its first month."))
        if first and last and len(periods.months_between(first, last)) > 60:
            self.add_error("to_month", _("Choose a range of at most 60 months."))
        if not (first and last):
            for name, value in (("from_month", first), ("to_month", last)):
                if value is None and name not in self.errors:
                    self.add_error(name, _("Enter a month like 2026-03."))
            return periods.default_period()
        return periods.custom_period(first, last)

    def _month(self, name: str) -> dt.date | None:
        try:
            return parse_month(self.data.get(name, ""))
        except forms.ValidationError as error:
            self.add_error(name, error)
            return None

    def filters(self) -> Filters:
        """The chosen filters; the defaults (the last complete month, everyone) for anything invalid."""
        if not self.is_valid():
            return Filters(period=periods.default_period())
        data = self.cleaned_data
        return Filters(
            period=data["chosen_period"], segment=_key(data.get("segment")), manager=_key(data.get("manager"))
        )


def _key(value: str | None) -> int | None:
    if not value:
        return None
    return 0 if value == NONE else int(value)


def filter_query(filters: Filters) -> dict[str, str]:
    """The URL parameters of a set of filters (for links that keep them)."""
    query = filters.period.query()
    for name, value in (("segment", filters.segment), ("manager", filters.manager)):
        if value is not None:
            query[name] = NONE if value == 0 else str(value)
    return query
