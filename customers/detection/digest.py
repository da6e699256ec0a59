"""The daily at-risk digest: each account manager gets at most one email a day listing their
customers who newly moved to at risk, and none when nothing is new.

"Newly" means: a move to at risk (StatusChange to_status="at_risk") after the manager's previous
digest was sent (in the last 24 hours for a first digest), for a customer still at risk now.

One a day is enforced by AtRiskDigest's unique (manager, day) row, created before the email is
sent: a second call the same day (a retry, a second beat, a parallel worker) finds the row and
skips. When nothing is new no row is written, so the day stays open: if a later detection run
that same day flags customers, the digest still goes out then, once.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import ngettext

from customers.detection.explain import explain
from customers.models import AtRiskDigest, Customer, StatusChange
from winback.roles import Role

logger = logging.getLogger(__name__)

FIRST_DIGEST_LOOKBACK = dt.timedelta(hours=24)


@dataclass(frozen=True)
class DigestEntry:
    customer: Customer
    url: str
    explanation: str
    days_since_purchase: int | None


def base_url() -> str:
    """Where links in emails point: WINBACK_BASE_URL if set, else the site URL (never the request)."""
    return (
        getattr(settings, "WINBACK_BASE_URL", "") or getattr(settings, "SITE_URL", "") or "http://localhost:8000"
    ).rstrip("/") + "/"


def digest_recipients():
    """Active account managers with an email address."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.ACCOUNT_MANAGER.value)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def newly_at_risk(*, manager, since: dt.datetime, today: dt.date) -> list[DigestEntry]:
    """The manager's customers who moved to at risk after `since` and still are, the most
    revenue at stake first (one query)."""
    changes = (
        StatusChange.objects.filter(
            customer__account_manager=manager,
            customer__status=Customer.Status.AT_RISK,
            to_status=Customer.Status.AT_RISK,
            changed_at__gt=since,
        )
        .select_related("customer")
        .order_by("customer_id", "-changed_at", "-id")
    )
    latest: dict[int, StatusChange] = {}
    for change in changes:
        latest.setdefault(change.customer_id, change)
    entries = []
    for change in latest.values():
        customer = change.customer
        days = None
        if customer.last_purchase_at:
            days = max((today - timezone.localtime(customer.last_purchase_at).date()).days, 0)
        entries.append(
            DigestEntry(
                customer=customer,
                url=urljoin(base_url(), customer.get_absolute_url().lstrip("/")),
                explanation=explain(change),
                days_since_purchase=days,
            )
        )
    entries.sort(key=lambda entry: (-entry.customer.annual_value, entry.customer.name, entry.customer.pk))
    return entries


def _claim(manager, day: dt.date, count: int) -> AtRiskDigest | None:
    """The day's digest row for the manager, or None if another call already has it."""
    try:
        with transaction.atomic():
            return AtRiskDigest.objects.create(manager=manager, day=day, customers=count)
    except IntegrityError:
        return None


def _message(manager, entries: list[DigestEntry], day: dt.date) -> EmailMultiAlternatives:
    count = len(entries)
    subject = ngettext("%(count)s customer newly at risk", "%(count)s customers newly at risk", count) % {
        "count": count
    }
    context = {
        "manager": manager,
        "entries": entries,
        "count": count,
        "day": day,
        "total_at_stake": sum((entry.customer.annual_value for entry in entries), Decimal("0")),
        "list_url": urljoin(base_url(), "at-risk/"),
        "company_name": settings.WINBACK_COMPANY_NAME,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("customers/email/at_risk_digest.txt", context),
        to=[manager.email],
    )
    message.attach_alternative(render_to_string("customers/email/at_risk_digest.html", context), "text/html")
    return message


def send_at_risk_digests(day: dt.date | None = None) -> int:
    """Sends each account manager their digest of newly at-risk customers; returns how many
    emails were sent. Safe to call any number of times a day."""
    now = timezone.now()
    day = day or timezone.localdate(now)
    sent = 0
    for manager in digest_recipients():
        if AtRiskDigest.objects.filter(manager=manager, day=day).exists():
            continue
        previous = AtRiskDigest.objects.filter(manager=manager, sent_at__isnull=False).order_by("-sent_at").first()
        since = previous.sent_at if previous else now - FIRST_DIGEST_LOOKBACK
        entries = newly_at_risk(manager=manager, since=since, today=day)
        if not entries:
            continue
        digest = _claim(manager, day, len(entries))
        if digest is None:
            continue
        try:
            _message(manager, entries, day).send()
        except Exception:
            # Give the day back so the next call can send it; one bad address must not stop
            # the other managers' digests.
            digest.delete()
            logger.exception("at-risk digest to manager %s failed", manager.pk)
            continue
        digest.sent_at = timezone.now()
        digest.save(update_fields=["sent_at"])
        sent += 1
        logger.info("at-risk digest to manager %s: %s customers", manager.pk, len(entries))
    return sent
