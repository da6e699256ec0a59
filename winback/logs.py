"""Structured logs and security events (RELIABILITY.md PRIV-08, SUR-08; docs/operations.md "Logs").

- `JsonFormatter`: one JSON object a line — UTC timestamp, level, logger, message, the request id,
  Celery task id and user id of the context, the event name and its fields, the traceback.
- `RedactFilter`, on every handler: masks email addresses (`j***@example.com`), replaces survey and
  unsubscribe tokens by a short hash prefix (`[token:1a2b3c4d]`, the first 8 hex digits of the
  token's SHA-256, as the survey link's stored hash starts), masks password-like values, and
  escapes CR, LF, ANSI escapes and every other control character in every string it logs.
- `RequestLogMiddleware` and the Celery task_prerun/task_postrun receivers: the request id (the one
  the audit trail records, `winback.audit.context.request_id_of`) and the task id of each record.
- `security_event(name, **fields)`: a structured event on the `winback.security` logger; the
  receivers below log failed sign-ins and lock-outs from the sign-in signals.
"""

import contextvars
import datetime as dt
import hashlib
import json
import logging
import re

from celery.signals import after_setup_logger, after_setup_task_logger, task_postrun, task_prerun
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

__all__ = [
    "JsonFormatter",
    "PlainFormatter",
    "RedactFilter",
    "RequestLogMiddleware",
    "clean",
    "mask_email",
    "redact",
    "security_event",
]

SECURITY_LOGGER = "winback.security"
security_log = logging.getLogger(SECURITY_LOGGER)

_request = contextvars.ContextVar("winback_log_request", default=None)
_task_id = contextvars.ContextVar("winback_log_task_id", default="")

# A survey token: secrets.token_urlsafe(32), 43 characters of the URL-safe base64 alphabet
# (surveys.tokens.TOKEN_PATTERN), standing alone. An unsubscribe token: django.core.signing.dumps
# ("payload:timestamp:signature", the signature also 43 such characters, a "." before a compressed
# payload) — replaced as a whole, so the customer id in its payload goes too.
_B64 = r"A-Za-z0-9_\-"
SIGNED_TOKEN = re.compile(rf"(?<![{_B64}.:])\.?[{_B64}]+(?::[{_B64}]+)?:[{_B64}]{{43}}(?![{_B64}])")
SURVEY_TOKEN = re.compile(rf"(?<![{_B64}])[{_B64}]{{43}}(?![{_B64}])")
EMAIL = re.compile(r"(?<![\w.%+-])([\w.%+-])[\w.%+-]*@((?:[\w-]+\.)+\w{2,})")
# `password=...`, `"secret": "..."`, `Authorization: ...` in free text.
SECRET_KEYS = r"password|passwd|pwd|secret|api[_-]?key|authorization|cookie|sessionid|csrftoken|csrfmiddlewaretoken"
SECRET_VALUE = re.compile(rf"""(?i)\b((?:\w*?)(?:{SECRET_KEYS})\w*["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&}}]+)""")
SECRET_FIELD = re.compile(rf"(?i){SECRET_KEYS}")
TOKEN_FIELD = re.compile(r"(?i)(^|_)token$")
# C0 and C1 control characters (ESC starts ANSI sequences, CSI is \x9b), DEL, Unicode line breaks.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}
MASK = "***"

# LogRecord's own attributes: everything else on a record came in `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_SKIPPED_EXTRA = {"request", "event", "event_fields", "_winback_clean"}


def token_hash(token: str) -> str:
    return "[token:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:8] + "]"


def mask_email(match: re.Match) -> str:
    return f"{match.group(1)}{MASK}@{match.group(2)}"


def redact(text: str) -> str:
    """Tokens to hash prefixes, email addresses masked, password-like values masked."""
    text = SIGNED_TOKEN.sub(lambda m: token_hash(m.group(0)), text)
    text = SURVEY_TOKEN.sub(lambda m: token_hash(m.group(0)), text)
    text = EMAIL.sub(mask_email, text)
    return SECRET_VALUE.sub(lambda m: m.group(1) + MASK, text)


def escape(text: str) -> str:
    """CR, LF, ESC and the other control characters as visible escapes: one record, one line, no
    terminal control sequences."""
    return CONTROL.sub(_escaped, text)


def _escaped(match: re.Match) -> str:
    char = match.group(0)
    code = ord(char)
    return _ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def clean(value):
    """A value as it may be logged: strings redacted and escaped, containers cleaned throughout."""
    if isinstance(value, str):
        return escape(redact(value))
    if isinstance(value, dict):
        return {str(k): clean_field(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [clean(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return clean(str(value))


def clean_field(key: str, value):
    """A named value: a password-like one masked, a token replaced by its hash prefix."""
    if value in (None, ""):
        return value
    if SECRET_FIELD.search(key):
        return MASK
    if TOKEN_FIELD.search(key) and isinstance(value, str) and not value.startswith("[token:"):
        return token_hash(value)
    return clean(value)


class RedactFilter(logging.Filter):
    """Cleans a record in place (once, whichever handler sees it first): the message with its
    arguments merged, every `extra` value and the event fields. A traceback is redacted by the
    formatter (it keeps its line breaks there; the JSON encoding escapes them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_winback_clean", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a caller's bad format arguments: log what there is
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = clean(message), None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and key not in _SKIPPED_EXTRA and not key.startswith("_"):
                setattr(record, key, clean_field(key, value))
        if isinstance(getattr(record, "event_fields", None), dict):
            record.event_fields = clean(record.event_fields)
        record._winback_clean = True
        return True


def _context_of(record: logging.LogRecord) -> tuple[str, str, str]:
    """(request id, task id, user id) of a record: the current request's, or the request the record
    carries (Django's request log writes after the middleware has returned)."""
    request = _request.get() or getattr(record, "request", None)
    request_id = getattr(request, "request_id", "") if request is not None else ""
    user = getattr(request, "_cached_user", None)  # only once resolved: formatting never queries
    user_id = getattr(record, "user_id", None) or (user.pk if user is not None and user.is_authenticated else "")
    return str(request_id or ""), _task_id.get(), str(user_id or "")


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    text = record.exc_text or ""
    if record.stack_info:
        text = f"{text}\n{formatter.formatStack(record.stack_info)}".strip()
    return redact(text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        request_id, task_id, user_id = _context_of(record)
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id,
            "task_id": task_id,
            "user_id": user_id,
        }
        if getattr(record, "event", None):
            entry["event"] = record.event
            entry["fields"] = getattr(record, "event_fields", {})
        extra = {
            key: value
            for key, value in vars(record).items()
            if key not in _STANDARD
            and key not in _SKIPPED_EXTRA
            and key != "user_id"
            and not key.startswith("_")
            and (value is None or isinstance(value, str | int | float | bool))
        }
        if extra:
            entry["extra"] = extra
        exception = _exception_text(self, record)
        if exception:
            entry["exc"] = exception
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """The human format of the local run: the same redaction, with the request and task ids."""

    def __init__(self, fmt=None, datefmt=None, style="%", **kwargs):
        fmt = fmt or "%(asctime)s %(levelname)s %(name)s [%(request_id)s%(task_id)s] %(message)s"
        super().__init__(fmt, datefmt, style, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        request_id, task_id, _user = _context_of(record)
        record.request_id = f"req={request_id}" if request_id else "-"
        record.task_id = f" task={task_id}" if task_id else ""
        record.exc_text = _exception_text(self, record) or None
        saved = record.exc_info
        record.exc_info = None  # already in exc_text, redacted
        try:
            return super().format(record)
        finally:
            record.exc_info = saved


def security_event(name: str, *, level: int = logging.WARNING, user=None, **fields) -> None:
    """One security event on the `winback.security` logger: the message is the name followed by
    `key=value` pairs (grep-able), the JSON line carries `event` and `fields`. Callers pass no raw
    token, password, email address or answer text; the filter masks them if one slips through."""
    if not security_log.isEnabledFor(level):
        return
    fields = {key: clean_field(key, value) for key, value in fields.items()}
    pairs = " ".join(f"{key}={value}" for key, value in fields.items())
    extra = {"event": name, "event_fields": fields}
    if user is not None and getattr(user, "pk", None):
        extra["user_id"] = user.pk
    security_log.log(level, "%s %s" if pairs else "%s", *((name, pairs) if pairs else (name,)), extra=extra)


class RequestLogMiddleware:
    """Makes the request (its id and, once resolved, its user) the context of every record logged
    while it is handled. The id is the audit trail's (a proxy's X-Request-ID when it is a plain
    token, else a new one), kept on request.request_id and returned as X-Request-ID."""

    def __init__(self, get_response):
        from winback.audit.context import request_id_of

        self.get_response = get_response
        self.request_id_of = request_id_of
        connect_app_signals()

    def __call__(self, request):
        self.request_id_of(request)
        entered = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(entered)
        response.setdefault("X-Request-ID", request.request_id)
        return response


_task_tokens: dict[str, contextvars.Token] = {}


@task_prerun.connect(dispatch_uid="winback.logs.task_prerun")
def _enter_task(task_id=None, **kwargs) -> None:
    if task_id:
        _task_tokens[task_id] = _task_id.set(task_id)


@task_postrun.connect(dispatch_uid="winback.logs.task_postrun")
def _leave_task(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        try:
            _task_id.reset(token)
        except ValueError:  # set in another context (never with Celery's pools): just clear it
            _task_id.set("")


@after_setup_logger.connect(dispatch_uid="winback.logs.after_setup_logger")
@after_setup_task_logger.connect(dispatch_uid="winback.logs.after_setup_task_logger")
def _redact_celery_handlers(logger=None, **kwargs) -> None:
    """A worker or beat sets up its own handlers (honouring --loglevel and --logfile): they get the
    format of settings.LOGGING's console handler and the redaction filter."""
    from django.conf import settings

    name = settings.LOGGING.get("handlers", {}).get("console", {}).get("formatter", "json")
    formatter = PlainFormatter() if name == "plain" else JsonFormatter()
    for handler in getattr(logger, "handlers", []):
        handler.setFormatter(formatter)
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            handler.addFilter(RedactFilter())


def _client_ip(request) -> str:
    if request is None:
        return ""
    from winback.security import client_ip

    return client_ip(request) or ""


@receiver(user_login_failed, dispatch_uid="winback.logs.login_failed")
def _login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    username = (credentials or {}).get("username", "")
    security_event("login_failed", username=username, ip=_client_ip(request))


def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    security_event("login_locked_out", username=username or "", ip=ip_address or _client_ip(request))


def connect_app_signals() -> None:
    """django-axes' lock-out signal; its module imports models, so it is connected once the apps
    are loaded (by RequestLogMiddleware, which every web process loads; workers sign nobody in)."""
    from axes.signals import user_locked_out

    user_locked_out.connect(_locked_out, dispatch_uid="winback.logs.locked_out")
