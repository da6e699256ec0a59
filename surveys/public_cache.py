"""Per-process caches of the public survey form: what is the same for every respondent of a
survey, never anything of a respondent.

- The sender settings (SurveySettings, one row): the survey link query reads the row's
  `updated_at` along the way (no extra round trip), and the cached copy is used while it has that
  `updated_at`, so a change shows on the next request.
- The page of an empty form (a "shell"), per survey, its `updated_at`, the language and the sender
  settings' version. It is rendered with placeholders where the respondent's first name, the
  signer, the reviewer and the CSRF token go, and `fill` puts each request's values in, escaped as
  the template would. So it holds no respondent data; a form with errors is rendered in full.
  The survey editor saves the survey, so changing questions through it changes the key at once;
  as questions edited some other way (the Django admin's question page, a shell) do not touch the
  survey, a shell also expires after SHELL_SECONDS. A submission is always checked against the
  questions read from the database.
- Saving or deleting a survey, question, option or the settings in this process empties both at
  once (the other processes go by `updated_at` and SHELL_SECONDS).

Everything here lives in the memory of one web process: nothing is shared across processes and
nothing is written to the shared cache."""

import secrets
import threading
import time
from collections.abc import Callable, Hashable

from django.db.models.signals import post_delete, post_save
from django.utils.html import escape

from surveys.models import Option, Question, Survey, SurveySettings

__all__ = ["PLACEHOLDERS", "SHELL_SECONDS", "clear", "fill", "page_shell", "sender_settings"]

SHELL_SECONDS = 60.0
MAX_ENTRIES = 64  # surveys x languages in use; a full table is simply emptied

# Random per process, so no survey text can contain one by accident (or on purpose).
PLACEHOLDERS = {
    name: f"wb{secrets.token_hex(12)}{name.replace('_', '')}"
    for name in ("first_name", "signer_name", "reviewer_name", "csrf_token")
}

_lock = threading.Lock()
_shells: dict[Hashable, tuple[float, str]] = {}
_sender: list = [None]  # [SurveySettings] of the last version seen


def clear() -> None:
    """Forgets everything (on a change saved in this process, and between tests)."""
    with _lock:
        _shells.clear()
        _sender[0] = None


def sender_settings(version=None) -> SurveySettings:
    """The sender settings; the cached copy when `version` (the row's updated_at, read by the
    caller's query) is the one cached, else the row is read (and created if missing) again."""
    cached = _sender[0]
    if version is not None and cached is not None and cached.updated_at == version:
        return cached
    settings = SurveySettings.load()
    _sender[0] = settings
    return settings


def page_shell(key: Hashable, render: Callable[[], str]) -> str:
    """The page rendered with PLACEHOLDERS by `render()`, once per key (and again after
    SHELL_SECONDS), then from memory."""
    now = time.monotonic()
    entry = _shells.get(key)
    if entry is not None and entry[0] > now:
        return entry[1]
    html = render()
    with _lock:
        if len(_shells) >= MAX_ENTRIES:
            _shells.clear()
        _shells[key] = (now + SHELL_SECONDS, html)
    return html


def fill(shell: str, **values: str) -> str:
    """The shell with each placeholder replaced by its value, HTML-escaped."""
    for name, value in values.items():
        shell = shell.replace(PLACEHOLDERS[name], escape(value))
    return shell


def _changed(sender, **kwargs) -> None:
    clear()


for _model in (Survey, Question, Option, SurveySettings):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"public_cache_save_{_model.__name__}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"public_cache_delete_{_model.__name__}")
