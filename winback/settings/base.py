"""Settings shared by every environment. Values come from the environment (django-environ)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Absolute links in emails are built from this, never from the request's Host header.
SITE_URL = env("DJANGO_SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "anymail",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "winback",
    "customers",
    "surveys",
    "cases",
    "winback.audit",
]

MIDDLEWARE = [
    "winback.logs.RequestLogMiddleware",  # request id + user of every log record (docs/operations.md "Logs")
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "winback.security.SecurityHeadersMiddleware",  # no-store, survey referrer policy, CSP nonce
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "winback.audit.middleware.AuditContextMiddleware",  # actor + request id for the audit triggers
    "django_otp.middleware.OTPMiddleware",
    "winback.security.SessionLifetimeMiddleware",
    "winback.security.AdminTwoFactorMiddleware",
    "winback.security.LoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last (django-axes)
]

ROOT_URLCONF = "winback.urls"
WSGI_APPLICATION = "winback.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "winback.context_processors.winback",
                "csp.context_processors.nonce",
            ],
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file in the embedded default: wait for locks
    # instead of failing, and let readers run while one process writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ATOMIC_REQUESTS = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 3600
# Argon2id for new and changed passwords; PBKDF2 hashes still verify and are upgraded on sign-in.
PASSWORD_HASHERS = [
    "winback.security.Argon2PasswordHasher",  # argon2id, OWASP parameters
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
# django-axes first: it refuses locked-out sign-ins before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "winback.security.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Business settings: every date and amount on screen uses these.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский"), ("bg", "Български"), ("pl", "Polski")]
TIME_ZONE = env("WINBACK_TIME_ZONE", default="Europe/Berlin")
USE_I18N = True
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True
WINBACK_CURRENCY = env("WINBACK_CURRENCY", default="EUR")
WINBACK_COMPANY_NAME = env("WINBACK_COMPANY_NAME", default="Winback demo company")

# Imports
WINBACK_IMPORT_MAX_BYTES = env.int("WINBACK_IMPORT_MAX_BYTES", default=100 * 1024 * 1024)
WINBACK_IMPORT_CHUNK_ROWS = env.int("WINBACK_IMPORT_CHUNK_ROWS", default=100_000)
# Uploads above this size are imported by a Celery task; smaller ones in the request.
WINBACK_IMPORT_BACKGROUND_BYTES = env.int("WINBACK_IMPORT_BACKGROUND_BYTES", default=2 * 1024 * 1024)
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
FILE_UPLOAD_PERMISSIONS = 0o640

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="Winback <winback@example.com>")

# Detection computes everyone's figures on two connections when the purchases table has at least
# this many rows (estimated); the second connection sees committed data only.
WINBACK_DETECTION_PARALLEL_MIN_TRANSACTIONS = env.int("WINBACK_DETECTION_PARALLEL_MIN_TRANSACTIONS", default=2_000_000)

# Surveys. The suppression list is keyed on an HMAC of each normalised address with this key; keep
# it stable (changing it forgets every unsubscribe) and separate from DJANGO_SECRET_KEY in production.
WINBACK_EMAIL_HASH_KEY = env("WINBACK_EMAIL_HASH_KEY", default=SECRET_KEY)
# Domain of the Message-IDs of survey mail.
WINBACK_MESSAGE_ID_DOMAIN = env("WINBACK_MESSAGE_ID_DOMAIN", default="winback.example.com")

# Deliverability: the mail provider (ESP) reports bounces and complaints to Anymail's tracking
# webhook for WINBACK_ESP (an Anymail ESP name: postmark, mailgun, sendgrid, amazon_ses, ...),
# mounted at /anymail/<esp>/tracking/. The webhook checks HTTP basic auth "user:password" from
# ANYMAIL_WEBHOOK_SECRET; without a secret the webhook is switched off (404), never left open.
WINBACK_ESP = env("WINBACK_ESP", default="postmark")
ANYMAIL = {"WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET", default="")}

# Rate limits of the public survey pages (RELIABILITY.md SUR-12), django-ratelimit syntax.
WINBACK_SURVEY_TOKEN_RATE = env("WINBACK_SURVEY_TOKEN_RATE", default="30/m")
WINBACK_SURVEY_IP_RATES = env.list("WINBACK_SURVEY_IP_RATES", default=["60/m", "600/h"])
# Behind a proxy, the META key of the client's address (surveys.ratelimit); None: REMOTE_ADDR.
RATELIMIT_IP_META_KEY = env("RATELIMIT_IP_META_KEY", default=None)

# The cache holds rate-limit counters (survey pages); production needs one shared by all processes.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Security settings of every environment (docs/security-settings.md): the enforced CSP, session
# limits, sign-in throttling, the second factor. Production adds HTTPS-only cookies and HSTS.
from .security import *  # noqa: E402,F403

# Celery: JSON only, results ignored unless a caller asks, time limits on every task.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 3600
CELERY_TASK_SOFT_TIME_LIMIT = 3540
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# On SIGTERM (a deploy) a worker lets running tasks finish for this long before it stops them;
# late acknowledgement puts any unfinished one back on the queue (docs/deploy.md).
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 25
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 7200}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": 7200}
CELERY_VISIBILITY_TIMEOUT = 7200
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"


# The scheduled jobs, in the business time zone (CELERY_TIMEZONE): crontab strings ("minute hour
# day-of-month month day-of-week"). A data migration (customers 0008) creates the DatabaseScheduler's
# entries from these when it first runs; from then on administrators change the times in the admin
# (Periodic tasks), and a restart of beat keeps their changes. Each task claims its slot
# (winback.jobs), so a second beat process never runs a job twice.
WINBACK_BEAT_JOBS = {
    "detect-defections-nightly": {
        "task": "customers.tasks.detect_defections_task",
        "crontab": env("WINBACK_DETECTION_CRON", default="30 2 * * *"),
        "kwargs": {"trigger": "beat"},
        "description": "Detection: figures of changed customers, every customer's rules, defection events.",
    },
    "detect-defections-full-weekly": {
        "task": "customers.tasks.detect_defections_task",
        "crontab": env("WINBACK_DETECTION_FULL_CRON", default="30 3 * * 0"),
        "kwargs": {"trigger": "beat", "full": True},
        "description": "Detection with every customer's figures recomputed from the purchases (a repair).",
    },
    "send-at-risk-digests": {
        "task": "customers.tasks.send_at_risk_digests_task",
        "crontab": env("WINBACK_DIGEST_CRON", default="0 7 * * 1-5"),
        "kwargs": {},
        "description": "Each account manager's daily email of newly at-risk customers (none when nothing is new).",
    },
    # Surveys (surveys 0004 adds these two to databases migrated before them).
    "send-survey-invitations": {
        "task": "surveys.tasks.send_survey_invitations",
        "crontab": env("WINBACK_SURVEY_SEND_CRON", default="*/2 * * * *"),
        "kwargs": {},
        "description": "Exit surveys: invitations for new defection events, then the due invitations and reminders "
        "in rate-limited batches.",
    },
    "reviewer-digest": {
        "task": "surveys.send_reviewer_digest",
        "crontab": env("WINBACK_REVIEWER_DIGEST_CRON", default="0 * * * *"),
        "kwargs": {},
        "description": "The impartial reviewer's email of new survey responses (none when nothing is new).",
    },
    # Cases (cases 0002 adds these two to databases migrated before them).
    "cases-housekeeping": {
        "task": "cases.tasks.case_housekeeping_task",
        "crontab": env("WINBACK_CASES_HOUSEKEEPING_CRON", default="15 * * * *"),
        "kwargs": {},
        "description": "Cases: open cases for new defections, win back cases whose customer bought, close expired "
        "offers (also started after each detection run).",
    },
    "cases-overdue-digest": {
        "task": "cases.tasks.send_overdue_digests_task",
        "crontab": env("WINBACK_CASES_DIGEST_CRON", default="5 * * * *"),
        "kwargs": {},
        "description": "Each owner's email of overdue first contacts, cases and tasks (each item at most once a day; "
        "none when nothing is new).",
    },
    # The dashboard (winback 0004 adds it to databases migrated before it).
    "refresh-dashboard-facts": {
        "task": "winback.dashboard.tasks.refresh_dashboard_task",
        "crontab": env("WINBACK_DASHBOARD_CRON", default="0 4 * * *"),
        "kwargs": {},
        "description": "The dashboard's monthly fact tables, rebuilt (also after each detection run and on demand).",
    },
    # Operations (winback 0005 adds it to databases migrated before it).
    "check-jobs": {
        "task": "winback.ops.check_jobs_task",
        "crontab": env("WINBACK_CHECK_JOBS_CRON", default="*/15 * * * *"),
        "kwargs": {},
        "description": "Emails the administrators once when a job has not succeeded in twice its interval.",
    },
    # Retention (winback 0007 adds it to databases migrated before it; docs/privacy.md).
    "purge-expired-answers": {
        "task": "winback.privacy.tasks.purge_expired_answers_task",
        "crontab": env("WINBACK_ANSWER_RETENTION_CRON", default="45 4 * * *"),
        "kwargs": {},
        "description": "Blanks free-text survey answers (and their quotations) past retention.",
    },
}
# Free-text survey answers are kept this long after their case closes (or after they were given).
WINBACK_ANSWER_RETENTION_MONTHS = env.int("WINBACK_ANSWER_RETENTION_MONTHS", default=24)
# The check-jobs and retention tasks live outside the apps' tasks modules.
CELERY_IMPORTS = ["winback.ops", "winback.privacy.tasks"]
# /healthz/ready fails when the last successful detection / sending run is older than this.
WINBACK_HEALTH_DETECTION_MAX_AGE_MINUTES = env.int("WINBACK_HEALTH_DETECTION_MAX_AGE_MINUTES", default=36 * 60)
WINBACK_HEALTH_SENDING_MAX_AGE_MINUTES = env.int("WINBACK_HEALTH_SENDING_MAX_AGE_MINUTES", default=30)
CELERY_TASK_ALWAYS_EAGER = False
# Started by customers.tasks.detect_defections_task after each detection run (the explicit hook by
# which the apps downstream of detection react at once; their own schedules catch up otherwise).
WINBACK_AFTER_DETECTION_TASKS = ["cases.tasks.case_housekeeping_task", "winback.dashboard.tasks.refresh_dashboard_task"]

# Logs (docs/operations.md "Logs"): one JSON object a line on stderr (WINBACK_LOG_FORMAT=json, the
# default unless DEBUG), or a human format (plain); both through the redaction filter (winback.logs:
# tokens as hash prefixes, emails masked, CR/LF/ANSI escaped). Django's own request, server and
# error records go through the same handler (no unfiltered handler, no error emails).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "winback.logs.RedactFilter"}},
    "formatters": {"json": {"()": "winback.logs.JsonFormatter"}, "plain": {"()": "winback.logs.PlainFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": env("WINBACK_LOG_FORMAT", default="plain" if DEBUG else "json"),
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "winback.security": {"level": env("WINBACK_SECURITY_LOG_LEVEL", default="INFO")},
    },
}
