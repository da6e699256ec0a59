"""Working time (DESIGN.md): deadlines count working days in the business time zone, Monday to
Friday, skipping the holidays administrators list."""

import datetime as dt

from django.utils import timezone

from cases.models import Holiday


def holidays_between(start: dt.date, end: dt.date) -> set[dt.date]:
    return set(Holiday.objects.filter(day__gte=start, day__lte=end).values_list("day", flat=True))


def add_working_days(start: dt.datetime, days: int, holidays: set[dt.date] | None = None) -> dt.datetime:
    """The end of the `days`-th working day after `start`'s day (in the business time zone):
    a case opened on Friday with two working days is due at the end of Tuesday.
    One query for the holidays unless they are given."""
    local = timezone.localtime(start)
    if holidays is None:
        # Enough calendar days to cover weekends and a generous holiday list.
        holidays = holidays_between(local.date(), local.date() + dt.timedelta(days=days * 2 + 30))
    day = local.date()
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            left -= 1
    return end_of_day(day)


def end_of_day(day: dt.date) -> dt.datetime:
    """The last second of `day` in the business time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


def working_days_between(start: dt.date, end: dt.date, holidays: set[dt.date] | None = None) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    if end <= start:
        return 0
    if holidays is None:
        holidays = holidays_between(start, end)
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            count += 1
    return count
