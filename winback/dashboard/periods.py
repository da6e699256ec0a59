"""The dashboard's periods: calendar months, quarters and years in the business time zone, or a
custom range of whole months (the facts are monthly). Each has the period just before it, of the
same length, to compare with."""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

KINDS = ("month", "quarter", "year", "custom")


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from `first` to `last`, both included (first days of months)."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def this_month() -> dt.date:
    return timezone.localdate().replace(day=1)


@dataclass(frozen=True)
class Period:
    kind: str
    first: dt.date  # the first month (its first day)
    last: dt.date  # the last month (its first day)

    @property
    def start(self) -> dt.date:
        return self.first

    @property
    def end(self) -> dt.date:
        """The day after the period (exclusive)."""
        return add_months(self.last, 1)

    @property
    def months(self) -> list[dt.date]:
        return months_between(self.first, self.last)

    @property
    def length(self) -> int:
        return len(self.months)

    def previous(self) -> "Period":
        return Period(self.kind, add_months(self.first, -self.length), add_months(self.first, -1))

    def includes_today(self) -> bool:
        return self.first <= this_month() <= self.last

    @property
    def label(self) -> str:
        if self.kind == "month":
            return self.first.strftime("%B %Y")
        if self.kind == "quarter":
            return f"Q{(self.first.month - 1) // 3 + 1} {self.first.year}"
        if self.kind == "year":
            return str(self.first.year)
        return _("%(first)s – %(last)s") % {"first": self.first.strftime("%b %Y"), "last": self.last.strftime("%b %Y")}

    def query(self) -> dict[str, str]:
        """The URL parameters that select this period (the form reads them back)."""
        if self.kind == "month":
            return {"period": "month", "month": self.first.strftime("%Y-%m")}
        if self.kind == "quarter":
            return {"period": "quarter", "quarter": f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"}
        if self.kind == "year":
            return {"period": "year", "year": str(self.first.year)}
        return {"period": "custom", "from": self.first.strftime("%Y-%m"), "to": self.last.strftime("%Y-%m")}


def month_period(month: dt.date) -> Period:
    month = month.replace(day=1)
    return Period("month", month, month)


def quarter_period(year: int, quarter: int) -> Period:
    first = dt.date(year, 3 * (quarter - 1) + 1, 1)
    return Period("quarter", first, add_months(first, 2))


def year_period(year: int) -> Period:
    return Period("year", dt.date(year, 1, 1), dt.date(year, 12, 1))


def custom_period(first: dt.date, last: dt.date) -> Period:
    return Period("custom", first.replace(day=1), last.replace(day=1))


def default_period() -> Period:
    """The last complete month: a month still under way would show a churn rate that only grows."""
    return month_period(add_months(this_month(), -1))
