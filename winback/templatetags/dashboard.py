"""Formatting of the dashboard's figures: each by its kind (count, money, rate, ratio, days)."""

from decimal import Decimal

from django import template

from winback.templatetags.winback import money

register = template.Library()

# Figures where a rise is bad news (shown in red): the rest are good news when they rise.
BAD_WHEN_UP = {
    "defected",
    "defected_passive",
    "defected_active",
    "churn_rate",
    "lost_revenue",
    "at_risk",
    "stake",
    "open_cases",
    "offer_cost",
}


@register.filter
def figure(value, kind: str = "count") -> str:
    if value is None:
        return "—"
    if kind == "money":
        return money(value, 0)
    if kind == "rate":
        return f"{float(value) * 100:.1f}%"
    if kind == "ratio":
        return f"{float(value):.1f}×"
    if kind == "days":
        return f"{float(value):.1f}"
    return f"{int(value):,}"


@register.filter
def change(fig) -> str:
    """The change against the previous period, signed, in the figure's unit ("" when unknown)."""
    delta = fig.change
    if delta is None:
        return ""
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    size = abs(delta)
    if fig.kind == "money":
        return sign + money(size, 0)
    if fig.kind == "rate":
        return f"{sign}{float(size) * 100:.1f} pt"
    if fig.kind == "ratio":
        return f"{sign}{float(size):.1f}×"
    return f"{sign}{int(size):,}"


@register.filter
def change_class(fig) -> str:
    delta = fig.change
    if not delta:
        return "text-body-secondary"
    worse = (delta > 0) == (fig.key in BAD_WHEN_UP)
    return "text-danger" if worse else "text-success"


@register.filter
def heat(value) -> str:
    """A retention share as one of eleven CSS classes (no style attributes: CSP)."""
    if value is None:
        return "heat-none"
    return f"heat-{max(0, min(10, round(float(value) * 10)))}"


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{float(value) * 100:.0f}%"


@register.filter
def as_decimal(value):
    return Decimal(str(value)) if value is not None else None


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if mapping else ""
