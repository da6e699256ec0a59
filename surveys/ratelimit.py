"""Rate limits of the public survey pages (RELIABILITY.md SUR-12): 30 requests a minute per token
(or per invitation, once the link is bound to the session) and 60 a minute plus 600 an hour per
client address. Counters live in the default cache (locmem in development and tests, Redis through
CACHE_URL in production, so every web process shares them).

django-ratelimit is used as a library (`is_ratelimited`), not as an installed app, so its cache
system check does not run; production must point CACHE_URL at a shared cache such as Redis.
A respondent needs about four requests (open, form, submit, thank-you), far below every limit."""

import functools
import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django_ratelimit.core import is_ratelimited

__all__ = ["IP_RATES", "TOKEN_RATE", "key_for_token", "rate_limited", "throttled"]

security_log = logging.getLogger("winback.security")

# The defaults; settings.WINBACK_SURVEY_TOKEN_RATE / WINBACK_SURVEY_IP_RATES override them (the page
# benchmark raises the address limits, as all its requests come from one address).
TOKEN_RATE = "30/m"
IP_RATES = ("60/m", "600/h")


def _token_rate() -> str:
    return getattr(settings, "WINBACK_SURVEY_TOKEN_RATE", None) or TOKEN_RATE


def _ip_rates() -> tuple[str, ...]:
    return tuple(getattr(settings, "WINBACK_SURVEY_IP_RATES", None) or IP_RATES)


# One security-log event per throttled address (or token) in this many seconds, not one per request.
LOG_ONCE_SECONDS = 3600


def key_for_token(token: str) -> str:
    """A cache key part for a raw token or any string in its place: never the token itself."""
    return "t:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "-"


def throttled(request, *, key: str | None) -> bool:
    """Counts this request against the address's limits and, when `key` is given and the address
    is within its limits, against the token's; True when a limit is exceeded. The first throttled
    request of an address (or token) is logged to the security log."""
    ip_limited = False
    for rate in _ip_rates():
        # Every rate is counted (no short circuit), so the hourly counter sees every request.
        ip_limited = is_ratelimited(request, group="surveys:ip", key="ip", rate=rate, increment=True) or ip_limited
    if ip_limited:
        # A throttled address creates no per-token counters: guessing tokens cannot fill the cache.
        address = _client_address(request)
        if cache.add(f"surveys:throttle-logged:ip:{address}", 1, LOG_ONCE_SECONDS):
            security_log.warning("survey_rate_limited kind=address address=%s path_kind=%s", address, _kind(request))
        return True
    if not key:
        return False
    token_limited = is_ratelimited(
        request, group="surveys:token", key=lambda group, request: key, rate=_token_rate(), increment=True
    )
    if token_limited and cache.add(f"surveys:throttle-logged:{key}", 1, LOG_ONCE_SECONDS):
        security_log.warning("survey_rate_limited kind=token token=%s path_kind=%s", key[:10], _kind(request))
    return token_limited


def _kind(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.url_name if match else "-"


def too_many_requests(request):
    response = render(request, "surveys/public/rate_limited.html", status=429)
    response["Retry-After"] = "60"
    response["Cache-Control"] = "no-store"
    # Django's request log would write the path, which for /s/<token>/ holds the token (SUR-08).
    response._has_been_logged = True
    return response


def rate_limited(key_of):
    """View decorator: `key_of(request, *args, **kwargs)` gives the token or invitation key (or
    None); a throttled request gets the friendly 429 page and never reaches the view."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if throttled(request, key=key_of(request, *args, **kwargs)):
                return too_many_requests(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
