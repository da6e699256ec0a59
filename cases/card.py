"""The customer card's "Win-back cases" panel: the customer's cases (open first, then the latest
closed), each linked when the viewer may see it, and a button to open a case by hand.
Registered from CasesConfig.ready(); one query (two when the viewer's role is not known yet)."""

from django.db.models import Exists, OuterRef
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from cases import policy
from cases.models import Case
from customers.card_panels import CardPanel, register
from winback.roles import Role, role_of

CARD_CASES = 8


def _open_case_url(customer) -> str:
    try:
        return reverse("cases:open_for_customer", args=[customer.pk])
    except NoReverseMatch:  # the case page's views are not installed
        return ""


def cases_panel(customer, user) -> dict:
    """Whether the viewer may see each case is worked out from the owner, the open flag and one
    "follows it" annotation, the rules of cases.policy.visible_cases, without a query per case."""
    follows = Case.followers.through.objects.filter(case_id=OuterRef("pk"), user_id=user.pk)
    cases = list(
        Case.objects.filter(customer=customer)
        .select_related("owner")
        .annotate(followed=Exists(follows))
        .order_by("-is_open", "-opened_at", "-id")[:CARD_CASES]
    )
    role = role_of(user)
    sees_all = role in (Role.ADMINISTRATOR, Role.EXECUTIVE) and user.is_active
    now = timezone.now()
    for case in cases:
        case.visible = sees_all or (
            role is not None
            and user.is_active
            and (case.owner_id == user.pk or (case.owner_id is None and case.is_open) or case.followed)
        )
        case.overdue = case.is_open and case.deadline_at is not None and case.deadline_at < now
    has_open = any(case.is_open for case in cases)
    can_open = policy.can_open_case(user) and not has_open
    return {"cases": cases, "can_open": can_open, "open_url": _open_case_url(customer) if can_open else ""}


register(CardPanel(name="cases", template="cases/_card_cases.html", context=cases_panel, order=20))
