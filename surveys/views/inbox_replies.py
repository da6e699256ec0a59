"""Closing the loop from the inbox: compose a reply (or an invitation to return) to one respondent,
preview it exactly as it will be sent, then send it; and invitations to return in bulk to the
respondents who named one reason (count, confirm, send)."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from customers.models import Reason
from surveys import policy
from surveys.forms.inbox import BulkReturnForm, ReplyForm, ReturnForm, short_quote
from surveys.mail import new_message_id
from surveys.models import Answer, Question, Response, ResponseReply
from surveys.services import replies
from surveys.suppression import survey_mail_refusal
from surveys.views.inbox import get_response_for_user

Kind = ResponseReply.Kind


def _first_open_text(response: Response) -> str:
    texts = (
        Answer.objects.filter(response=response, question__kind=Question.Kind.OPEN_TEXT)
        .exclude(text="")
        .order_by("question__position", "id")
        .values_list("text", flat=True)[:1]
    )
    return texts[0] if texts else ""


def _preview_context(message) -> dict:
    html = next((content for content, mimetype in message.alternatives if mimetype == "text/html"), "")
    return {
        "subject": message.subject,
        "text": message.body,
        "html": html,
        "to": ", ".join(message.to),
        "reply_to": ", ".join(message.reply_to),
        "message_id": message.extra_headers.get("Message-ID", ""),
    }


def _compose(request, pk: int, kind: str):
    response = get_response_for_user(request, pk)
    if not policy.can_reply_to_response(request.user, response):
        raise PermissionDenied
    form_class = ReplyForm if kind == Kind.CLOSE_LOOP else ReturnForm
    refusal = survey_mail_refusal(response.customer)
    preview = None
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            data = {key: value for key, value in form.cleaned_data.items() if key != "message_id"}
            message_id = form.cleaned_data["message_id"]
            if "send" in request.POST and message_id:
                try:
                    replies.reply_create(
                        response=response, kind=kind, actor=request.user, message_id=message_id, **data
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    messages.success(request, _("The email is on its way; its state shows under “Replies”."))
                    return redirect("surveys:response_detail", pk=response.pk)
            else:
                message_id = message_id if replies.is_valid_message_id(message_id) else new_message_id()
                form = form_class({**data, "message_id": message_id})
                form.is_valid()
                try:
                    preview = _preview_context(
                        replies.reply_preview(
                            response=response, kind=kind, actor=request.user, message_id=message_id, **data
                        )
                    )
                except ValidationError as error:
                    form.add_error(None, error)
    else:
        initial = {"told": short_quote(_first_open_text(response))} if kind == Kind.CLOSE_LOOP else {}
        form = form_class(initial=initial)
    context = {
        "response": response,
        "customer": response.customer,
        "form": form,
        "kind": kind,
        "kind_label": Kind(kind).label,
        "refusal": refusal,
        "preview": preview,
    }
    return render(request, "surveys/inbox/reply_form.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def response_reply(request, pk: int):
    return _compose(request, pk, Kind.CLOSE_LOOP)


@require_http_methods(["GET", "POST"])
@login_required
def response_return(request, pk: int):
    return _compose(request, pk, Kind.RETURN)


@require_http_methods(["GET", "POST"])
@login_required
def return_invitations(request):
    """Step 1 (GET): choose the reason, the period and the offer. Step 2 (POST "count"): see how
    many will be invited and who is skipped, and confirm. Step 3 (POST "send"): send, once."""
    if not policy.can_send_bulk_return_invitations(request.user):
        raise PermissionDenied
    context = {"plan": None, "result": None}
    if request.method != "POST":
        form = BulkReturnForm()
        return render(request, "surveys/inbox/return_bulk.html", {**context, "form": form})
    form = BulkReturnForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        period = {"reason": data["reason"], "since": data["since"], "until": data["until"]}
        if "send" in request.POST and data["run"]:
            try:
                result = replies.return_invitations_send(
                    offer=data["offer"], actor=request.user, run_key=data["run"], **period
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if result.repeated:
                    messages.info(request, _("These invitations were already sent; nothing was sent again."))
                else:
                    messages.success(
                        request,
                        ngettext(
                            "%(count)s invitation to return is on its way.",
                            "%(count)s invitations to return are on their way.",
                            result.queued,
                        )
                        % {"count": result.queued},
                    )
                context["result"] = result
        else:
            context["plan"] = replies.return_invitation_plan(**period)
            form = BulkReturnForm({**request.POST.dict(), "run": uuid.uuid4().hex})
            form.is_valid()
        context["reason_label"] = Reason(data["reason"]).label
    return render(request, "surveys/inbox/return_bulk.html", {**context, "form": form})
