"""The customer-facing survey pages (no login): the emailed link, the survey form, the expired and
thank-you pages, the one-click unsubscribe, and the staff preview of a survey.

The emailed link `/s/<token>/` only counts the open and binds the invitation to the session, then
redirects to `/s/answer/`, whose URL carries no token (SUR-08). Every unknown, malformed or revoked
token gets the site's ordinary 404 (SUR-03). Responses to these pages are never cached."""

import base64
import functools
import hashlib
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Prefetch
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from customers.models import Customer
from surveys.forms.public import SurveyResponseForm
from surveys.mail import UNSUBSCRIBE_SALT, first_name
from surveys.models import Invitation, InvitationStatus, Option, Question, Survey, SurveyLink, SurveySettings
from surveys.policy import can_edit_surveys
from surveys.public_cache import PLACEHOLDERS, fill, page_shell, sender_settings
from surveys.ratelimit import key_for_token, rate_limited
from surveys.services.responses import record_open, send_fresh_link, submit_response
from surveys.services.unsubscribe import unsubscribe_customer
from surveys.tokens import TOKEN_PATTERN, find_link, hash_token
from winback.logs import security_event
from winback.views import page_not_found

log = logging.getLogger(__name__)

SESSION_KEY = "surveys_public"  # {"link": SurveyLink pk, "invitation": Invitation pk}
SUPPORTED_LANGUAGES = {code for code, _name in settings.LANGUAGES}


def _unlogged(response):
    """Django's request log writes the path of every 4xx; these paths may hold a token (SUR-08)."""
    response._has_been_logged = True
    return response


def _not_found(request, token: str = ""):
    """The site's ordinary 404, identical for every kind of bad link (SUR-03)."""
    digest = hash_token(token)[:8] if token.isascii() else "-"
    security_event("survey_link_not_found", level=logging.INFO, token_hash=digest)
    return _unlogged(page_not_found(request))


def _lookup(token: str) -> SurveyLink | None:
    """find_link, with the same database lookup made for a malformed token (a decoy that is
    discarded), so a malformed link takes as long as an unknown one (SUR-03)."""
    if TOKEN_PATTERN.match(token):
        return find_link(token)
    decoy = base64.urlsafe_b64encode(hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest())
    find_link(decoy.decode("ascii").rstrip("="))
    return None


def _usable(link: SurveyLink | None) -> bool:
    return (
        link is not None
        and link.revoked_at is None
        and link.invitation.status != InvitationStatus.CANCELLED
        and link.invitation.survey_id is not None
    )


def _language(invitation, sender: SurveySettings | None = None) -> str:
    if invitation.language in SUPPORTED_LANGUAGES:
        return invitation.language
    return (sender or sender_settings()).default_language


def _render(request, template: str, context: dict, *, status: int = 200, language: str | None = None, sender=None):
    language = language or translation.get_language()
    with translation.override(language):
        context = {"sender": sender or sender_settings(), **context}
        response = render(request, template, context, status=status)
    response["Content-Language"] = language
    return response if status < 400 else _unlogged(response)


def _thanks(request, invitation, *, already: bool, sender=None):
    context = {
        "first_name": first_name(invitation.customer),
        "reviewer_name": invitation.reviewer_name,
        "already": already,
    }
    language = _language(invitation, sender)
    return _render(request, "surveys/public/thanks.html", context, language=language, sender=sender)


def _token_key(request, token, *args, **kwargs):
    return key_for_token(token)


def _posted_token_key(request, *args, **kwargs):
    return key_for_token(request.POST.get("token", ""))


def _session_key(request, *args, **kwargs):
    bound = request.session.get(SESSION_KEY)
    return f"i:{bound['invitation']}" if isinstance(bound, dict) and "invitation" in bound else None


@require_safe
@never_cache
@rate_limited(_token_key)
def open_link(request, token):
    """The emailed link. GET and HEAD only; the one write is the open counter (SUR-07)."""
    link = _lookup(token)
    if not _usable(link):
        return _not_found(request, token)
    invitation = link.invitation
    now = timezone.now()
    if link.expires_at <= now:
        if invitation.responded_at:
            return _thanks(request, invitation, already=True)
        context = {"token": token, "valid_days": SurveySettings.load().link_valid_days}
        return _render(request, "surveys/public/expired.html", context, status=410, language=_language(invitation))
    record_open(invitation=invitation, now=now)
    if request.session.session_key is not None:
        request.session.cycle_key()  # a session planted before the link was opened learns nothing
    request.session[SESSION_KEY] = {"link": link.pk, "invitation": invitation.pk}
    return redirect("surveys:answer")


# The bound link's query, run on every request of the form: written out once per process rather
# than built by the ORM each time (building and compiling it cost more than running it). Only the
# columns a page or a submission reads; the models come back as `.only()` would return them.
LINK_COLUMNS = (
    (SurveyLink, ("id", "invitation_id", "expires_at", "revoked_at")),
    (
        Invitation,
        ("id", "customer_id", "survey_id", "status", "language", "responded_at", "signer_name", "reviewer_name"),
    ),
    (Customer, ("id", "name")),
    (Survey, ("id", "title", "introduction", "language", "updated_at")),
)


@functools.cache
def _link_query() -> tuple[str, tuple[tuple, ...]]:
    """The SQL, and per model its column attnames in the model's field order (as from_db wants)."""
    ordered = tuple(
        (model, tuple(f.attname for f in model._meta.concrete_fields if f.attname in names))
        for model, names in LINK_COLUMNS
    )
    columns = ", ".join(
        f'"{model._meta.db_table}"."{model._meta.get_field(name).column}"' for model, names in ordered for name in names
    )
    link, invitation, customer, survey = (model._meta.db_table for model, _ in ordered)
    sender = SurveySettings._meta.db_table
    sql = (
        f'SELECT {columns}, (SELECT "updated_at" FROM "{sender}" WHERE "id" = 1) FROM "{link}" '
        f'INNER JOIN "{invitation}" ON "{invitation}"."id" = "{link}"."invitation_id" '
        f'INNER JOIN "{customer}" ON "{customer}"."id" = "{invitation}"."customer_id" '
        f'LEFT JOIN "{survey}" ON "{survey}"."id" = "{invitation}"."survey_id" '
        f'WHERE "{link}"."id" = %s AND "{link}"."invitation_id" = %s'
    )
    return sql, ordered


def _bound_link(request) -> SurveyLink | None:
    """The link bound to this session, with its invitation, customer and survey, and the version
    (updated_at) of the sender settings as `sender_version` (one query)."""
    bound = request.session.get(SESSION_KEY)
    if not isinstance(bound, dict):
        return None
    try:
        ids = [int(bound["link"]), int(bound["invitation"])]
    except (KeyError, TypeError, ValueError):
        return None
    sql, columns = _link_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        row = cursor.fetchone()
    if row is None:
        return None
    objects, start = [], 0
    for model, names in columns:
        values = row[start : start + len(names)]
        objects.append(model.from_db(connection.alias, names, values) if values[0] is not None else None)
        start += len(names)
    link, invitation, customer, survey = objects
    invitation.customer, invitation.survey = customer, survey
    link.invitation, link.sender_version = invitation, row[start]
    return link if _usable(link) else None


def _questions(survey: Survey) -> list[Question]:
    options = Prefetch("options", queryset=Option.objects.order_by("position"))
    return list(survey.questions.order_by("position").prefetch_related(options))


def _survey_context(*, survey, form, first, signer_name, reviewer_name, preview=False) -> dict:
    return {
        "survey": survey,
        "form": form,
        "rows": form.bound_rows(),
        "question_count": len(form.rows),
        "first_name": first,
        "signer_name": signer_name,
        "reviewer_name": reviewer_name,
        "preview": preview,
    }


def _survey_page(request, *, status=200, sender=None, **page):
    context = _survey_context(**page)
    return _render(request, "surveys/public/survey.html", context, status=status, sender=sender)


def _empty_form_page(request, *, survey, language, sender, first, signer_name, reviewer_name):
    """The empty form, from the page rendered once per survey version, language and sender
    version with placeholders, filled with this respondent's values (see surveys.public_cache)."""
    key = (survey.pk, survey.updated_at, language, sender.pk, sender.updated_at, bool(first), bool(signer_name))
    shell = page_shell(key, lambda: _render_shell(survey, sender, first=bool(first), signer=bool(signer_name)))
    values = {"first_name": first, "signer_name": signer_name, "reviewer_name": reviewer_name}
    response = HttpResponse(fill(shell, csrf_token=get_token(request), **values))
    response["Content-Language"] = language
    return response


def _render_shell(survey: Survey, sender: SurveySettings, *, first: bool, signer: bool) -> str:
    context = _survey_context(
        survey=survey,
        form=SurveyResponseForm(_questions(survey)),
        first=PLACEHOLDERS["first_name"] if first else "",
        signer_name=PLACEHOLDERS["signer_name"] if signer else "",
        reviewer_name=PLACEHOLDERS["reviewer_name"],
    )
    context.update(
        sender=sender, csrf_token=PLACEHOLDERS["csrf_token"], WINBACK_COMPANY_NAME=settings.WINBACK_COMPANY_NAME
    )
    return render_to_string("surveys/public/survey.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
@rate_limited(_session_key)
def answer(request):
    """The survey form of the invitation bound to this session. A link opened before it expired
    may be answered as long as the session lives (SUR-04); an answered one shows the thanks."""
    link = _bound_link(request)
    if link is None:
        return _render(request, "surveys/public/no_session.html", {}, status=404)
    sender = sender_settings(link.sender_version)
    invitation = link.invitation
    if invitation.responded_at:
        just_answered = request.session[SESSION_KEY].pop("just_answered", False)
        if just_answered:
            request.session.modified = True
        return _thanks(request, invitation, already=not just_answered, sender=sender)
    survey, language = invitation.survey, _language(invitation, sender)
    page = {
        "survey": survey,
        "first": first_name(invitation.customer),
        "signer_name": invitation.signer_name,
        "reviewer_name": invitation.reviewer_name,
    }
    with translation.override(language):
        if request.method != "POST":
            return _empty_form_page(request, language=language, sender=sender, **page)
        questions = _questions(survey)  # a submission is checked against the questions as they are now
        form = SurveyResponseForm(questions, request.POST)
        if form.is_valid():
            if submit_response(invitation, form.cleaned_data, questions=questions) is None:
                return _thanks(request, invitation, already=True, sender=sender)
            request.session[SESSION_KEY] = {**request.session[SESSION_KEY], "just_answered": True}
            return redirect("surveys:answer")
        return _survey_page(request, form=form, status=400, sender=sender, **page)


@require_POST
@never_cache
@rate_limited(_posted_token_key)
def new_link(request):
    """The button on the expired page: emails a fresh link to the address on file (never shown).
    The page says the same whatever happened, so it tells nobody whether an email went out."""
    token = request.POST.get("token", "")
    link = _lookup(token)
    if not _usable(link):
        return _not_found(request, token)
    invitation = link.invitation
    if link.expires_at <= timezone.now():
        try:
            send_fresh_link(invitation_id=invitation.pk)
        except Exception:
            # The page still says a link is on its way "if we can"; the error goes to the log.
            log.exception("fresh_link_failed invitation=%s", invitation.pk)
    return _render(request, "surveys/public/link_sent.html", {}, language=_language(invitation))


def _unsubscribe_language(customer_id) -> str | None:
    language = Customer.objects.filter(pk=customer_id).values_list("language", flat=True).first()
    return language if language in SUPPORTED_LANGUAGES else None


@csrf_exempt  # RFC 8058: mail providers POST without cookies; the signed token is the credential
@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
@rate_limited(_token_key)
def unsubscribe(request, token):
    """GET shows a confirmation button and changes nothing; POST (the one-click request or the
    button) records the opt-out at once and answers 200 without a redirect (PRIV-02)."""
    try:
        customer_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        security_event("unsubscribe_token_invalid", level=logging.INFO)
        return _render(request, "surveys/public/unsubscribe_invalid.html", {}, status=400)
    language = _unsubscribe_language(customer_id)
    if request.method == "POST":
        # A customer deleted since the email was sent gets the same page (no oracle).
        unsubscribe_customer(customer_id=customer_id)
        return _render(request, "surveys/public/unsubscribe_done.html", {}, language=language)
    return _render(request, "surveys/public/unsubscribe_confirm.html", {"token": token}, language=language)


@login_required
@never_cache
def preview(request, pk):
    """A staff preview of the survey exactly as a customer sees it, with a banner; it cannot submit."""
    if not can_edit_surveys(request.user):
        raise PermissionDenied
    survey = get_object_or_404(Survey, pk=pk)
    sender = SurveySettings.load()
    reviewer = sender.reviewer.get_full_name() if sender.reviewer else ""
    with translation.override(survey.language):
        form = SurveyResponseForm(_questions(survey))
        return _survey_page(
            request,
            survey=survey,
            form=form,
            first=_("Alex"),
            signer_name=request.user.get_full_name() or request.user.get_username(),
            reviewer_name=reviewer or _("our impartial reviewer"),
            preview=True,
        )
