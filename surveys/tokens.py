"""Personal survey links. The raw token (256 bits from `secrets`) goes only into the email; the
database keeps its SHA-256, so a leaked table or backup opens no survey (RELIABILITY.md SUR-01)."""

import datetime as dt
import hashlib
import re
import secrets

from django.utils import timezone

from surveys.models import Invitation, SurveyLink, SurveySettings

__all__ = ["TOKEN_PATTERN", "find_link", "hash_token", "mint_link", "new_token"]

# token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def mint_link(
    invitation: Invitation,
    purpose: str = SurveyLink.Purpose.INVITATION,
    *,
    now: dt.datetime | None = None,
    valid_days: int | None = None,
) -> str:
    """Stores a new link for the invitation and returns its raw token (never stored)."""
    now = now or timezone.now()
    if valid_days is None:
        valid_days = SurveySettings.load().link_valid_days
    token = new_token()
    SurveyLink.objects.create(
        invitation=invitation,
        token_hash=hash_token(token),
        purpose=purpose,
        created_at=now,
        expires_at=now + dt.timedelta(days=valid_days),
    )
    return token


def find_link(token: str) -> SurveyLink | None:
    """The link of a well-formed, known token (expired or revoked ones included: callers decide),
    with its invitation; None for anything else. One indexed query at most."""
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        return None
    return (
        SurveyLink.objects.select_related("invitation", "invitation__customer")
        .filter(token_hash=hash_token(token))
        .first()
    )
