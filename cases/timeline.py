"""The case timeline: its history entries (CaseEvent), newest first, one page at a time.

One query per page and no count: a page fetches one row more than it shows to know whether there
is a next page (a case's history only grows, so "page 3 of 17" buys nothing). Served by the
case_event_case_at index (case, -at, -id)."""

from dataclasses import dataclass

from cases.models import Case, CaseEvent

PAGE_SIZE = 25


@dataclass(frozen=True)
class TimelinePage:
    events: list[CaseEvent]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1


def page_number(value) -> int:
    """A page number from the query string: a positive integer, else 1 (capped so an absurd
    offset cannot be requested)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), 10_000)


def timeline_page(case: Case, *, number: int = 1, size: int = PAGE_SIZE) -> TimelinePage:
    start = (number - 1) * size
    rows = list(
        CaseEvent.objects.filter(case_id=case.pk)
        .select_related("actor")
        .order_by("-at", "-id")[start : start + size + 1]
    )
    return TimelinePage(events=rows[:size], number=number, has_next=len(rows) > size)
