"""Formatting used everywhere money and dates are shown: the business currency and time zone."""

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.utils.http import urlencode

register = template.Library()


@register.filter
def money(value, places: int = 2) -> str:
    """1234.5 -> "1,234.50 EUR" (the currency from WINBACK_CURRENCY); empty for None."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    return f"{amount:,.{int(places)}f} {settings.WINBACK_CURRENCY}"


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None removes one): for sorting
    and pagination links that keep the filters."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(sorted(params.lists()), doseq=True) if params else "?"
