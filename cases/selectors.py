"""Reads shared by the cases views: a case the user may see (else 404)."""

from django.http import Http404

from cases import policy
from cases.models import Case
from winback.logs import security_event


def case_for(user, pk: int, queryset=None) -> Case:
    """The case with this id if `user` may see it; a plain 404 otherwise, the same answer as for an
    id that does not exist (AUTHZ-02)."""
    queryset = queryset if queryset is not None else Case.objects.all()
    case = policy.visible_cases(user, queryset).filter(pk=pk).first()
    if case is None:
        if user.is_authenticated:  # a guessed or foreign id (AUTHZ-02): a security event (PRIV-08)
            security_event("authz_denied", user=user, status=404, object="case", object_id=pk)
        raise Http404
    return case


def active_managers():
    """The active account managers, by id (the order round-robin takes turns in)."""
    from django.contrib.auth import get_user_model

    from winback.roles import Role

    return get_user_model().objects.filter(is_active=True, groups__name=Role.ACCOUNT_MANAGER.value).order_by("pk")


def owner_choices():
    """Who may be given a case by reassignment: active account managers, by name. Executives own
    cases only by taking them in a rescue cycle (cases.services.rescue), which lets them work them."""
    return active_managers().order_by("first_name", "last_name", "username")
