"""Who may see the dashboard: executives and administrators by their role's permission, an account
manager only when an administrator gave them the `winback.view_dashboard` permission. What a
drill-down list shows is further limited by the apps' own policies (cases.policy.visible_cases).
Only administrators may start a refresh; nobody changes data from the dashboard."""

from winback.roles import is_administrator, role_of


def can_view_dashboard(user) -> bool:
    return (
        user.is_authenticated
        and user.is_active
        and role_of(user) is not None
        and user.has_perm("winback.view_dashboard")
    )


def can_refresh_dashboard(user) -> bool:
    return can_view_dashboard(user) and is_administrator(user)
