"""Production: HTTPS only. Every secret comes from the environment; nothing has a default."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CACHES = {"default": env.cache("CACHE_URL")}  # shared (Redis), for rate limits across workers
WINBACK_EMAIL_HASH_KEY = env("WINBACK_EMAIL_HASH_KEY")

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=str(STATIC_ROOT))  # noqa: F405

# Administrators verify a TOTP code after signing in (winback.otp_views); see docs/security-settings.md.
WINBACK_REQUIRE_ADMIN_2FA = env.bool("WINBACK_REQUIRE_ADMIN_2FA", default=True)
# Behind the TLS proxy, set RATELIMIT_IP_META_KEY to a header the proxy sets (e.g. HTTP_X_REAL_IP):
# otherwise every client shares the proxy's address for the sign-in and survey limits.
# Load balancers may probe the health endpoints over plain http on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz"]
