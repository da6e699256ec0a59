"""Settings for the test suite: PostgreSQL (as in production), in-memory email, eager Celery.

The job integration tests override the broker to a real Redis and run a real worker.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-insecure-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("DATABASE_URL", "postgres://winback:winback@127.0.0.1:5432/winback")

from .base import *  # noqa: E402,F403
from .base import env  # noqa: E402

DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The job integration tests start a real worker with WINBACK_CELERY_EAGER=false.
CELERY_TASK_ALWAYS_EAGER = env.bool("WINBACK_CELERY_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
