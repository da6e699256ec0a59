"""The audit context: who acts (user id), in which request or Celery task. pghistory's runtime
puts it into two transaction-local settings before every write statement
(`pghistory.context_id`, `pghistory.context_metadata`), which the triggers read. PostgreSQL only:
elsewhere there are no triggers and nothing is set."""

import re
import uuid

import pghistory
from django.db import connection
from django.utils.functional import lazy

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def recording() -> bool:
    return connection.vendor == "postgresql"


def request_id_of(request) -> str:
    """A proxy's X-Request-ID when it is a plain token, else a new one; kept on the request."""
    existing = getattr(request, "request_id", "")
    if existing:
        return existing
    header = request.headers.get("X-Request-ID", "")
    request.request_id = header if _SAFE_ID.match(header) else uuid.uuid4().hex
    return request.request_id


def _user_id(request) -> str:
    user = getattr(request, "user", None)
    return str(user.pk) if user is not None and user.is_authenticated else ""


def request_context(request):
    """The context of one request. The user id is resolved lazily, when the first write is made
    (pghistory serialises the metadata with DjangoJSONEncoder, which turns a lazy string into
    its value), so a page that never looks at request.user costs no extra query."""
    return pghistory.context(
        user=lazy(_user_id, str)(request),
        request_id=request_id_of(request),
        url=request.path,
        method=request.method,
    )


def task_context(*, task_id: str, task_name: str):
    """Enters (and returns, to be exited) the context of a Celery task; None off PostgreSQL."""
    if not recording():
        return None
    entered = pghistory.context(task_id=task_id, task=task_name)
    entered.__enter__()  # inside a request (an eager task) this adds to the request's context
    return entered


def actor_context(*, actor, **extra):
    """For writes outside a request or a task (commands, the shell, tests): names the actor."""
    return pghistory.context(user=str(actor.pk) if actor is not None else "", **extra)
