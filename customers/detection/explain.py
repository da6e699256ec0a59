"""Every status change explains itself in words and numbers, from the facts the run recorded:
"No purchase for 124 days; this customer usually buys every 21 days (segment rule: 90 days)."
"""

import datetime as dt
import math

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.models import StatusChange


def _day(value: str | None) -> str:
    if not value:
        return "?"
    try:
        return formats.date_format(dt.date.fromisoformat(str(value)[:10]), "DATE_FORMAT")
    except ValueError:
        return str(value)


def _number(value) -> str:
    if value is None:
        return "?"
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def _days(count) -> str:
    count = int(count or 0)
    return ngettext("%(count)s day", "%(count)s days", count) % {"count": count}


def _rhythm(facts: dict) -> tuple[str, int | None]:
    """The customer's buying rhythm in words, and the rhythm limit in days if it applies."""
    gap = facts.get("gap")
    if gap is None:
        return _("a one-time buyer, so the segment's days apply"), None
    words = _("this customer usually buys every %(gap)s") % {"gap": _days(round(float(gap)))}
    limit = math.ceil(float(facts.get("multiple") or 0) * float(gap)) if facts.get("rhythm") else None
    if limit is not None and limit > int(facts.get("defected_days") or 0):
        return words, limit
    return words, None


def _inactive_defected(facts: dict) -> str:
    rhythm, limit = _rhythm(facts)
    text = _("No purchase for %(days)s; %(rhythm)s") % {"days": _days(facts.get("days")), "rhythm": rhythm}
    if limit:
        text += _(", so the limit is %(multiple)s × %(gap)s = %(limit)s") % {
            "multiple": _number(facts.get("multiple")),
            "gap": _days(round(float(facts["gap"]))),
            "limit": _days(limit),
        }
    return text + _(" (segment rule: %(days)s).") % {"days": _days(facts.get("defected_days"))}


def _inactive_at_risk(facts: dict) -> str:
    rhythm, _limit = _rhythm(facts)
    return _("No purchase for %(days)s (at risk after %(rule)s); %(rhythm)s.") % {
        "days": _days(facts.get("days")),
        "rule": _days(facts.get("at_risk_days")),
        "rhythm": rhythm,
    }


def _rate_drop(facts: dict) -> str:
    recent, base = int(facts.get("orders_90d") or 0), int(facts.get("orders_base") or 0)
    fell = 100 - round(100 * (recent / 90) / (base / 365)) if base else 0
    return _(
        "%(recent)s in the last 90 days against %(base)s in the 365 days before: the order rate fell by "
        "%(fell)s%% (rule: %(rule)s%%)."
    ) % {
        "recent": ngettext("%(count)s order", "%(count)s orders", recent) % {"count": recent},
        "base": base,
        "fell": fell,
        "rule": facts.get("drop_percent"),
    }


def explain(change: StatusChange) -> str:
    facts = change.facts or {}
    rule = change.rule
    if rule == StatusChange.Rule.INACTIVE_DEFECTED:
        return _inactive_defected(facts)
    if rule == StatusChange.Rule.INACTIVE_AT_RISK:
        return _inactive_at_risk(facts)
    if rule == StatusChange.Rule.RATE_DROP:
        return _rate_drop(facts)
    if rule == StatusChange.Rule.CANCELLATION:
        text = _("Cancelled on %(day)s") % {"day": _day(facts.get("cancelled_on"))}
        if facts.get("last_purchase"):
            text += _(", after the last purchase on %(day)s") % {"day": _day(facts["last_purchase"])}
        return text + "."
    if rule == StatusChange.Rule.WON_BACK:
        return _("Bought again on %(day)s after defecting: won back.") % {"day": _day(facts.get("won_on"))}
    if rule == StatusChange.Rule.BOUGHT_AGAIN:
        return _("Bought on %(day)s; no longer at risk.") % {"day": _day(facts.get("last_purchase"))}
    if rule == StatusChange.Rule.DISMISSED:
        text = _("Alarm dismissed (%(kind)s); not flagged again before %(day)s.") % {
            "kind": facts.get("kind_label") or facts.get("kind", ""),
            "day": _day(facts.get("until")),
        }
        return f"{text} {facts['note']}" if facts.get("note") else text
    return facts.get("note") or change.get_rule_display()
