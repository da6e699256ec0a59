"""Who may do what with cases: the one policy module the cases views, templates, exports and the
admin ask (the issue's "Who may do what").

- Account managers see the cases they own or follow and the open cases in the unassigned pool;
  they change the cases they own or follow, take pool cases, open cases from any customer card,
  and create corrective actions (changing those they own).
- Executives see every case and change only the ones they took in a rescue cycle.
- Administrators do everything, including reassignment and the settings.

A case the user may not see is a 404 (one consistent answer to guessed ids, AUTHZ-02); a case they
see but may not change is a 403.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from cases.models import Case, CorrectiveAction, Task
from winback.roles import Role, is_administrator, is_executive, role_of


def _active(user) -> bool:
    return user.is_authenticated and user.is_active and role_of(user) is not None


def can_view_cases(user) -> bool:
    """Any active staff role sees some cases (which ones: visible_cases)."""
    return _active(user)


def visible_cases(user, queryset: QuerySet | None = None) -> QuerySet:
    """The cases `user` may see (every list, export, search and drill-down starts here)."""
    queryset = Case.objects.all() if queryset is None else queryset
    if not _active(user):
        return queryset.none()
    if role_of(user) in (Role.ADMINISTRATOR, Role.EXECUTIVE):
        return queryset
    follows = Case.followers.through.objects.filter(case_id=OuterRef("pk"), user_id=user.pk)
    return queryset.filter(Q(owner_id=user.pk) | Q(owner__isnull=True, is_open=True) | Exists(follows))


def is_follower(user, case: Case) -> bool:
    if getattr(case, "_prefetched_objects_cache", {}).get("followers") is not None:
        return any(follower.pk == user.pk for follower in case.followers.all())
    return case.followers.filter(pk=user.pk).exists()


def can_view_case(user, case: Case) -> bool:
    if not _active(user):
        return False
    if role_of(user) in (Role.ADMINISTRATOR, Role.EXECUTIVE):
        return True
    return case.owner_id == user.pk or (case.owner_id is None and case.is_open) or is_follower(user, case)


def can_work_case(user, case: Case) -> bool:
    """Log calls, send emails, make offers, add tasks, record the reason, move the stage."""
    if not _active(user):
        return False
    if is_administrator(user):
        return True
    if is_executive(user):
        return case.owner_id == user.pk and case.rescued_by_id == user.pk
    return case.owner_id == user.pk or is_follower(user, case)


def can_take_case(user, case: Case) -> bool:
    """Managers take open cases from the unassigned pool."""
    return _active(user) and role_of(user) == Role.ACCOUNT_MANAGER and case.is_open and case.owner_id is None


def can_reassign_cases(user) -> bool:
    return _active(user) and is_administrator(user)


def can_open_case(user) -> bool:
    """By hand from any customer card."""
    return _active(user) and role_of(user) in (Role.ACCOUNT_MANAGER, Role.ADMINISTRATOR)


def can_rescue(user) -> bool:
    """Take cases in the rescue cycle."""
    return _active(user) and is_executive(user)


def can_change_case_settings(user) -> bool:
    return _active(user) and is_administrator(user)


def can_complete_task(user, task: Task) -> bool:
    return _active(user) and (task.assignee_id == user.pk or can_work_case(user, task.case))


def can_view_actions(user) -> bool:
    return _active(user)


def can_create_action(user) -> bool:
    return _active(user) and role_of(user) in (Role.ACCOUNT_MANAGER, Role.ADMINISTRATOR)


def can_edit_action(user, action: CorrectiveAction) -> bool:
    if not _active(user):
        return False
    return is_administrator(user) or (role_of(user) == Role.ACCOUNT_MANAGER and action.owner_id == user.pk)


def can_export_cases(user) -> bool:
    """Everyone exports what they can see (visible_cases)."""
    return _active(user)
