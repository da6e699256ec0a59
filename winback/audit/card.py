"""The customer card's "Audit trail" panel (customers.card_panels). Administrators only, like the
staff audit page: entries carry earlier values (old addresses, notes) and who changed them. Two
queries for an administrator, none for anyone else."""

from customers.card_panels import CardPanel, register
from winback.audit.context import recording
from winback.audit.selectors import entries_for
from winback.roles import is_administrator


def panel_context(obj, user, limit: int = 20) -> dict:
    if not is_administrator(user):
        return {"shown": False}
    return {"shown": True, "entries": entries_for(obj, limit=limit), "recording": recording()}


def audit_panel(customer, user) -> dict:
    return panel_context(customer, user)


register(CardPanel(name="audit", template="winback/audit/_panel.html", context=audit_panel, order=90))
