"""Who may receive survey mail. Suppressions are keyed on an HMAC of the normalised address
(settings.WINBACK_EMAIL_HASH_KEY), so an unsubscribed or bounced person stays suppressed after a
re-import creates a new customer row, and the list holds no address in clear (PRIV-03)."""

import hashlib
import hmac

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from customers.models import Customer
from surveys.models import Suppression

__all__ = [
    "email_hash",
    "is_suppressed",
    "normalise_email",
    "suppress",
    "suppressed_hashes",
    "survey_mail_check",
    "survey_mail_refusal",
]

# Reasons that stop every email, not only survey mail.
UNDELIVERABLE = {Suppression.Reason.HARD_BOUNCE, Suppression.Reason.COMPLAINT, Suppression.Reason.INVALID}


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def email_hash(email: str) -> str:
    key = settings.WINBACK_EMAIL_HASH_KEY.encode()
    return hmac.new(key, normalise_email(email).encode(), hashlib.sha256).hexdigest()


def suppressed_hashes(emails) -> dict[str, str]:
    """{hash: reason} for those of `emails` that are suppressed (one query)."""
    hashes = {email_hash(e) for e in emails if e}
    if not hashes:
        return {}
    return dict(Suppression.objects.filter(email_hash__in=hashes).values_list("email_hash", "reason"))


def is_suppressed(email: str) -> bool:
    return bool(email) and Suppression.objects.filter(email_hash=email_hash(email)).exists()


def suppress(email: str, reason: str, *, customer: Customer | None = None, note: str = "") -> Suppression | None:
    """Adds the address to the suppression list (idempotent: an existing entry is kept)."""
    if not normalise_email(email):
        return None
    digest = email_hash(email)
    try:
        with transaction.atomic():
            return Suppression.objects.create(email_hash=digest, reason=reason, customer=customer, note=note[:300])
    except IntegrityError:
        return Suppression.objects.get(email_hash=digest)


PREFERENCE, SUPPRESSED = "preference", "suppressed"


def survey_mail_check(customer: Customer, suppressions: dict[str, str] | None = None) -> tuple[str, str]:
    """(PREFERENCE or SUPPRESSED, why) when survey mail must not go to this customer — their own
    wish or missing address, or a suppressed address — else ("", ""). `suppressions` is the result
    of suppressed_hashes() for a batch; without it one query is made."""
    if customer.do_not_contact:
        return PREFERENCE, _("The customer asked not to be contacted.")
    if customer.survey_opt_out_at:
        return PREFERENCE, _("The customer opted out of surveys.")
    if not normalise_email(customer.email):
        return PREFERENCE, _("No email address on file.")
    if suppressions is None:
        suppressions = suppressed_hashes([customer.email])
    reason = suppressions.get(email_hash(customer.email))
    if reason:
        return SUPPRESSED, _("The address is suppressed: %(reason)s.") % {"reason": Suppression.Reason(reason).label}
    return "", ""


def survey_mail_refusal(customer: Customer, suppressions: dict[str, str] | None = None) -> str:
    """Why survey mail must not go to this customer, or "" when it may."""
    return survey_mail_check(customer, suppressions)[1]
