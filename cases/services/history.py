"""The case timeline's one writer: every change to a case goes through record()."""

from cases.models import Case, CaseEvent


def _plain(value):
    """JSON-safe: dates, decimals and model instances as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "pk"):
        return value.pk
    return str(value)


def record(
    case: Case, kind: str, summary: str, *, actor=None, before: dict | None = None, after: dict | None = None
) -> CaseEvent:
    """Appends one history entry. `actor` None (or an anonymous user) means the system."""
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        summary=summary[:300],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        before={key: _plain(value) for key, value in (before or {}).items()},
        after={key: _plain(value) for key, value in (after or {}).items()},
    )
