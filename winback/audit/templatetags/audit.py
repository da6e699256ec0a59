from django import template

from winback.audit.card import panel_context

register = template.Library()


@register.inclusion_tag("winback/audit/_panel.html", takes_context=True)
def audit_panel(context, obj, limit: int = 20) -> dict:
    """The audit panel of a case (or any tracked object), for administrators: two queries."""
    return {"panel": panel_context(obj, context["request"].user, limit=limit)}
