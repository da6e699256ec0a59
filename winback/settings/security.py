"""Security settings shared by every environment (imported by base.py; docs/security-settings.md).

The Content-Security-Policy is enforced everywhere, so the tests and the demo see the header that
production sends. Production (production.py) adds HTTPS-only `__Host-` cookies, HSTS, the SSL
redirect and the administrators' second factor.
"""

import datetime as _dt

import environ as _environ
from csp.constants import NONCE as _NONCE
from csp.constants import NONE as _NONE
from csp.constants import SELF as _SELF

_env = _environ.Env()

# django-csp 4: a nonce in script-src on every page (winback.security.SecurityHeadersMiddleware
# makes sure one is generated), no inline scripts or style attributes, nothing from other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF, _NONCE],
        "style-src": [_SELF],
        "img-src": [_SELF, "data:"],
        "font-src": [_SELF],
        "connect-src": [_SELF],
        "object-src": [_NONE],
        "base-uri": [_NONE],
        "frame-ancestors": [_NONE],
        "form-action": [_SELF],
    }
}

# Pages whose responses never tell other sites where the visitor came from (the survey and
# unsubscribe links carry a personal token).
WINBACK_NO_REFERRER_PREFIXES = ["/s/", "/u/"]

# Sessions: signed out after 2 hours without a request and 12 hours after signing in, whatever
# happens in between (winback.security.SessionLifetimeMiddleware).
WINBACK_SESSION_IDLE_SECONDS = _env.int("WINBACK_SESSION_IDLE_SECONDS", default=2 * 3600)
WINBACK_SESSION_ABSOLUTE_SECONDS = _env.int("WINBACK_SESSION_ABSOLUTE_SECONDS", default=12 * 3600)

# Sign-in throttling (django-axes): 5 failures for one username from one address lock that pair
# out for 15 minutes, so an attacker elsewhere cannot lock a real user out; a further 20 failures
# an hour from one address lock the address (winback.security.LoginThrottleMiddleware).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = _dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # the per-address hourly count reads it
AXES_LOCKOUT_CALLABLE = "winback.security.locked_out"
AXES_CLIENT_IP_CALLABLE = "winback.security.client_ip"  # the survey rate limits' address too
AXES_VERBOSE = False
WINBACK_LOGIN_IP_FAILURES_PER_HOUR = _env.int("WINBACK_LOGIN_IP_FAILURES_PER_HOUR", default=20)

# Second factor (django-otp, TOTP). Administrators enrol at /staff/two-factor/; production
# requires a verified device for them on every staff page.
WINBACK_REQUIRE_ADMIN_2FA = _env.bool("WINBACK_REQUIRE_ADMIN_2FA", default=False)
OTP_TOTP_ISSUER = _env("WINBACK_OTP_ISSUER", default="Winback")
