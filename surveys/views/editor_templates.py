"""The administrators' survey settings page (sender, reviewer, signer, sending limits) and the email
template editor: the kind × language grid and one template with a live preview, rendered by the
same `build_message` the sending job uses, for a sample customer that is never saved."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.models import Customer
from surveys.forms.editor import EmailTemplateForm, SurveySettingsForm
from surveys.mail import build_message, new_message_id
from surveys.models import EmailTemplate, SurveySettings
from surveys.services import editor as services
from surveys.views.editor import require_editor


@login_required
def survey_settings(request):
    require_editor(request)
    current = SurveySettings.load()
    form = SurveySettingsForm(request.POST or None, request.FILES or None, instance=current)
    if request.method == "POST" and form.is_valid():
        services.survey_settings_update(
            values=form.setting_values(),
            logo=form.cleaned_data.get("logo"),
            clear_logo=form.cleaned_data.get("clear_logo", False),
        )
        messages.success(request, _("Survey settings saved."))
        return redirect("surveys:settings")
    return render(request, "surveys/editor/settings.html", {"form": form, "current": current})


@login_required
def email_template_list(request):
    require_editor(request)
    existing = {(t.kind, t.language): t for t in EmailTemplate.objects.only("kind", "language", "updated_at")}
    rows = [
        {
            "kind": kind,
            "label": label,
            "cells": [{"language": code, "template": existing.get((kind, code))} for code, _name in settings.LANGUAGES],
        }
        for kind, label in EmailTemplate.Kind.choices
    ]
    return render(
        request,
        "surveys/editor/email_template_list.html",
        {"rows": rows, "languages": settings.LANGUAGES, "default_language": SurveySettings.load().default_language},
    )


def _kind_and_language(kind: str, language: str) -> tuple[str, str]:
    if kind not in EmailTemplate.Kind.values or language not in dict(settings.LANGUAGES):
        raise Http404
    return kind, language


SAMPLE_CUSTOMER_NAME = "Maria Example"
SAMPLE_CUSTOMER_EMAIL = "maria.example@example.com"


def sample_context() -> dict[str, str]:
    """Values for every placeholder the emails use; the link is a made-up one that opens nothing."""
    base = settings.SITE_URL.rstrip("/")
    told = _("The second delivery came two weeks late.")
    changed = _("We have changed our delivery partner, and late deliveries are down by half.")
    return {
        "survey_url": f"{base}/s/sample-link-for-the-preview/",
        "reviewer_name": _("Rita Reviewer"),
        "link_valid_days": str(SurveySettings.load().link_valid_days),
        "what_you_told_us": told,
        "what_we_changed": changed,
        "told": told,
        "changed": changed,
        "offer": _("10% off your next order"),
        "reason": _("Delivery"),
    }


def email_preview(*, kind: str, language: str, subject: str, body: str) -> dict:
    """Subject, text part and HTML part of the email as a sample customer would receive it.
    The customer and the template are built in memory and never saved."""
    customer = Customer(name=SAMPLE_CUSTOMER_NAME, email=SAMPLE_CUSTOMER_EMAIL, language=language)
    template = EmailTemplate(kind=kind, language=language, subject=subject, body=body)
    message = build_message(
        customer=customer,
        kind=kind,
        language=language,
        context=sample_context(),
        message_id=new_message_id(),
        signer_name=_("Anna Manager"),
        signer_email="",
        template=template,
    )
    html = next((content for content, mimetype in message.alternatives if mimetype == "text/html"), "")
    return {"subject": message.subject, "text": message.body, "html": html, "to": message.to[0]}


def _preview_or_errors(form: EmailTemplateForm, kind: str, language: str) -> dict:
    if not form.is_valid():
        return {"errors": [message for messages in form.errors.values() for message in messages]}
    return email_preview(kind=kind, language=language, **form.cleaned_data)


@login_required
def email_template_edit(request, kind: str, language: str):
    require_editor(request)
    kind, language = _kind_and_language(kind, language)
    template = EmailTemplate.objects.filter(kind=kind, language=language).first()
    initial = {"subject": template.subject, "body": template.body} if template else _starting_text(kind, language)
    form = EmailTemplateForm(request.POST or None, kind=kind, initial=initial)
    preview = None
    if request.method == "POST":
        if form.is_valid() and request.POST.get("action") != "preview":
            services.email_template_save(kind=kind, language=language, **form.cleaned_data)
            messages.success(request, _("Email template saved."))
            return redirect("surveys:email_template_edit", kind=kind, language=language)
        preview = _preview_or_errors(form, kind, language)
    elif initial.get("body"):
        preview = _preview_or_errors(EmailTemplateForm(initial, kind=kind), kind, language)
    return render(
        request,
        "surveys/editor/email_template_form.html",
        {
            "form": form,
            "template": template,
            "kind": kind,
            "kind_label": EmailTemplate.Kind(kind).label,
            "language": language,
            "language_name": dict(settings.LANGUAGES)[language],
            "preview": preview,
        },
    )


def _starting_text(kind: str, language: str) -> dict[str, str]:
    """A new template starts from the same kind in the default language, or English, if there is one."""
    fallback = SurveySettings.load().default_language
    for code in (fallback, "en"):
        existing = EmailTemplate.objects.filter(kind=kind, language=code).first()
        if existing is not None and code != language:
            return {"subject": existing.subject, "body": existing.body}
    return {}


@login_required
@require_POST
def email_template_preview(request, kind: str, language: str):
    """The preview pane alone (htmx, while typing); nothing is saved."""
    require_editor(request)
    kind, language = _kind_and_language(kind, language)
    form = EmailTemplateForm(request.POST, kind=kind)
    return render(
        request,
        "surveys/editor/_email_preview.html",
        {"preview": _preview_or_errors(form, kind, language)},
    )
