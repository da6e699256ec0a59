"""The security middleware and sign-in hooks (docs/security-settings.md).

- SecurityHeadersMiddleware: `Cache-Control: no-store` on every page Django answers (static files
  are served before it), `Referrer-Policy: no-referrer` on the survey and unsubscribe links, and a
  CSP nonce on every page so script-src is always nonce-based.
- SessionLifetimeMiddleware: signs a user out 2 hours after their last request (idle) and 12 hours
  after signing in (absolute), from timestamps kept in the session.
- AdminTwoFactorMiddleware: with WINBACK_REQUIRE_ADMIN_2FA, administrators (and anyone who may use
  the Django admin) reach no staff page before verifying a TOTP code.
- LoginThrottleMiddleware: an address with 20 failed sign-ins within an hour gets the lock-out page;
  django-axes locks a username+address pair after 5 (AXES_* settings).
"""

import datetime as dt
import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY, hashers, logout
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from winback.logs import security_event
from winback.roles import is_administrator

STARTED_KEY = "winback_signed_in_at"
SEEN_KEY = "winback_seen_at"
# The last-seen time is written at most once a minute, so most requests do not write the session.
SEEN_RESOLUTION_SECONDS = 60


class Argon2PasswordHasher(hashers.Argon2PasswordHasher):
    """Argon2id with the first configuration OWASP's password storage cheat sheet recommends (46 MiB,
    1 pass, 1 lane): about 180 ms a sign-in on two cores, where Django's default (100 MiB, 2 passes,
    8 lanes) takes about 700 ms. Same algorithm name: hashes with other parameters are re-hashed on
    sign-in."""

    time_cost = 1
    memory_cost = 47104
    parallelism = 1


class ModelBackend(DjangoModelBackend):
    """Django's ModelBackend. It lives here so that loading the authentication backends (which every
    sign-in does, the test client's force_login included) registers `stamp_session` below."""


@receiver(user_logged_in, dispatch_uid="winback.security.stamp_session")
def stamp_session(sender, request, user, **kwargs):
    """The sign-in time, for the absolute session limit (login() has just rotated the key)."""
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[STARTED_KEY] = now
        request.session[SEEN_KEY] = now


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind a proxy the header named by
    RATELIMIT_IP_META_KEY (as for the survey rate limits). Of a list, the last entry: the address
    our own proxy saw, which the client cannot choose."""
    key = getattr(settings, "RATELIMIT_IP_META_KEY", None) or "REMOTE_ADDR"
    value = request.META.get(key) or request.META.get("REMOTE_ADDR", "")
    return value.split(",")[-1].strip() or None


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lock-out answer, and the per-address one: a plain page, status 429."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = render(request, "winback/otp_lockout.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.no_referrer_prefixes = tuple(settings.WINBACK_NO_REFERRER_PREFIXES)

    def __call__(self, request):
        response = self.get_response(request)
        if "no-store" not in response.get("Cache-Control", ""):
            patch_cache_control(response, no_store=True, private=True)
        if request.path_info.startswith(self.no_referrer_prefixes):
            response["Referrer-Policy"] = "no-referrer"
        nonce = getattr(request, "csp_nonce", None)
        if nonce is not None:
            str(nonce)  # generate it, so the CSP header always carries one
        return response


class SessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if SESSION_KEY in session:
            now = int(time.time())
            started = session.get(STARTED_KEY)
            seen = session.get(SEEN_KEY)
            if started is None or seen is None:  # a session from before these limits existed
                session[STARTED_KEY] = started = now
                session[SEEN_KEY] = seen = now
            idle = now - seen > settings.WINBACK_SESSION_IDLE_SECONDS
            if idle or now - started > settings.WINBACK_SESSION_ABSOLUTE_SECONDS:
                logout(request)
                return _to(request, redirect_to_login(request.get_full_path()))
            if now - seen >= SEEN_RESOLUTION_SECONDS:
                session[SEEN_KEY] = now
        return self.get_response(request)


def _to(request, response):
    """A redirect that htmx follows as a whole page instead of swapping it into a fragment."""
    if request.headers.get("HX-Request"):
        hx = HttpResponse(status=200)
        hx["HX-Redirect"] = response["Location"]
        return hx
    return response


class AdminTwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.WINBACK_REQUIRE_ADMIN_2FA and self._needs_second_factor(request):
            return _to(request, redirect_to_login(request.get_full_path(), reverse("two_factor")))
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        exempt = (reverse("two_factor"), reverse("logout"), reverse("login"), reverse("healthz"))
        public = (settings.STATIC_URL, *settings.WINBACK_NO_REFERRER_PREFIXES)
        return path in exempt or path.startswith(public)

    def _needs_second_factor(self, request) -> bool:
        if SESSION_KEY not in request.session or self._exempt(request.path_info):
            return False
        user = request.user
        if not user.is_authenticated or not (user.is_staff or is_administrator(user)):
            return False
        return not user.is_verified()


class LoginThrottleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method == "POST"
            and settings.AXES_ENABLED
            and self._is_sign_in(request.path_info)
            and self._address_failures(request) >= settings.WINBACK_LOGIN_IP_FAILURES_PER_HOUR
        ):
            security_event("login_address_throttled", ip=client_ip(request) or "")
            return locked_out(request)
        return self.get_response(request)

    @staticmethod
    def _is_sign_in(path: str) -> bool:
        return path in (reverse("login"), reverse("admin:login"))

    @staticmethod
    def _address_failures(request) -> int:
        from axes.models import AccessFailureLog

        since = timezone.now() - dt.timedelta(hours=1)
        return AccessFailureLog.objects.filter(ip_address=client_ip(request), attempt_time__gte=since).count()
