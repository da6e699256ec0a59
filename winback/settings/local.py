"""The embedded default used by `manage.py` and `make run`: needs no environment variable.

SQLite file, a filesystem Celery broker that crosses processes, emails written to var/mail.
Set DATABASE_URL / CELERY_BROKER_URL / EMAIL_URL to use real services instead.
"""

import os
from pathlib import Path

os.environ.setdefault("DJANGO_SECRET_KEY", "local-only-insecure-key-do-not-use-in-production-0123456789")
os.environ.setdefault("DJANGO_DEBUG", "true")

from .base import *  # noqa: E402,F403
from .base import BASE_DIR, env  # noqa: E402

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

CELERY_DATA_DIR = Path(env("WINBACK_CELERY_DATA_DIR", default=str(BASE_DIR / "var" / "celery")))
for _sub in ("queue", "processed", "results", "control"):
    (CELERY_DATA_DIR / _sub).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DATA_DIR / "queue"),
        "data_folder_out": str(CELERY_DATA_DIR / "queue"),
        "processed_folder": str(CELERY_DATA_DIR / "processed"),
        "control_folder": str(CELERY_DATA_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=f"file://{CELERY_DATA_DIR / 'results'}")

if not os.environ.get("EMAIL_URL"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env("WINBACK_EMAIL_DIR", default=str(BASE_DIR / "var" / "mail"))
SILENCED_SYSTEM_CHECKS = ["models.W040"]  # SQLite ignores the covering columns of an index
