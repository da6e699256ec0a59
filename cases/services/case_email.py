"""Emails to a customer from the case page: a built-in template in the customer's language,
prefilled with their first name and the sender's signature, edited and sent by staff.

Refused for a customer who asked not to be contacted, without an address, or with an address that
cannot take mail (a hard bounce, a spam complaint, marked invalid — the surveys suppression list).
A survey opt-out or an unsubscribe from survey mail does not stop a personal case email. When the
customer prefers another channel the sender sees a warning and must confirm it.

The email is stored as an Activity (kind email, pending) with a Message-ID fixed by the form, so a
double submit finds the row already made and sends nothing twice; a Celery task sends it once the
transaction commits (cases.mail_tasks), claiming the pending row under a row lock.
"""

import re
import smtplib
from email.utils import formataddr

from anymail.exceptions import AnymailRecipientsRefused
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Activity, Case, CaseEvent
from cases.services import history
from customers.models import Customer
from surveys.models import Suppression
from surveys.suppression import email_hash, normalise_email, suppressed_hashes

UNDELIVERABLE = {Suppression.Reason.HARD_BOUNCE, Suppression.Reason.INVALID, Suppression.Reason.COMPLAINT}
ERROR_CHARS = 300

# Built-in templates: {key: {language: (subject, body)}}; placeholders {first_name}, {signature}.
TEMPLATE_NAMES = {
    "missed_you": gettext_lazy("Sorry we missed you"),
    "after_call": gettext_lazy("Follow-up after our call"),
}
TEMPLATES = {
    "missed_you": {
        "en": (
            "Sorry we missed you",
            "Dear {first_name},\n\nI tried to reach you today. We noticed you have not ordered from us for a "
            "while and I would like to hear how we can do better.\n\nWhen would be a good time to talk?\n\n"
            "Kind regards,\n{signature}",
        ),
        "ru": (
            "Не удалось с вами связаться",
            "Здравствуйте, {first_name}!\n\nСегодня я пытался(ась) до вас дозвониться. Мы заметили, что вы давно "
            "у нас не заказывали, и хотим понять, что можем сделать лучше.\n\nКогда вам удобно поговорить?\n\n"
            "С уважением,\n{signature}",
        ),
        "bg": (
            "Не успяхме да се свържем с вас",
            "Здравейте, {first_name},\n\nДнес опитах да се свържа с вас. Забелязахме, че отдавна не сте поръчвали "
            "от нас, и искаме да разберем какво можем да подобрим.\n\nКога е удобно да поговорим?\n\n"
            "Поздрави,\n{signature}",
        ),
        "pl": (
            "Nie udało się nam połączyć",
            "Dzień dobry {first_name},\n\npróbowałem(-am) się dziś z Panem/Panią skontaktować. Zauważyliśmy, że od "
            "dawna nie zamawiał(a) Pan/Pani u nas i chcielibyśmy wiedzieć, co możemy poprawić.\n\nKiedy "
            "moglibyśmy porozmawiać?\n\nZ poważaniem,\n{signature}",
        ),
    },
    "after_call": {
        "en": (
            "Following up on our call",
            "Dear {first_name},\n\nthank you for taking the time to talk to me. As promised, here is what we "
            "agreed:\n\n- \n\nIf anything else comes up, just reply to this email.\n\nKind regards,\n{signature}",
        ),
        "ru": (
            "По итогам нашего разговора",
            "Здравствуйте, {first_name}!\n\nСпасибо, что нашли время поговорить. Как и обещал(а), вот о чём мы "
            "договорились:\n\n- \n\nЕсли появятся вопросы, просто ответьте на это письмо.\n\nС уважением,\n"
            "{signature}",
        ),
        "bg": (
            "След нашия разговор",
            "Здравейте, {first_name},\n\nблагодаря, че отделихте време за разговор. Както обещах, ето за какво се "
            "разбрахме:\n\n- \n\nАко имате въпроси, просто отговорете на този имейл.\n\nПоздрави,\n{signature}",
        ),
        "pl": (
            "Po naszej rozmowie",
            "Dzień dobry {first_name},\n\ndziękuję za rozmowę. Zgodnie z obietnicą, oto co ustaliliśmy:\n\n- \n\n"
            "W razie pytań proszę po prostu odpowiedzieć na tę wiadomość.\n\nZ poważaniem,\n{signature}",
        ),
    },
}
DEFAULT_TEMPLATE = "missed_you"


class TransientSendError(Exception):
    """The mail server could not take the message now; the task retries later."""


def new_message_id() -> str:
    return make_msgid(domain=settings.WINBACK_MESSAGE_ID_DOMAIN)


def is_valid_message_id(value: str) -> bool:
    domain = re.escape(settings.WINBACK_MESSAGE_ID_DOMAIN)
    return bool(re.fullmatch(rf"<[\w.+=-]{{1,200}}@{domain}>", value or ""))


def first_name(customer: Customer) -> str:
    name = (customer.name or "").strip()
    return name.split()[0] if name else ""


def signature_of(user) -> str:
    name = user.get_full_name() or user.get_username()
    lines = [name, settings.WINBACK_COMPANY_NAME]
    if user.email:
        lines.append(user.email)
    return "\n".join(lines)


def prefill(customer: Customer, template: str, sender) -> tuple[str, str]:
    """(subject, body) of a built-in template in the customer's language (English otherwise). The
    customer's name is inserted as plain text, never rendered as a template."""
    texts = TEMPLATES.get(template, TEMPLATES[DEFAULT_TEMPLATE])
    subject, body = texts.get((customer.language or "en")[:2], texts["en"])
    values = {"first_name": first_name(customer), "signature": signature_of(sender)}
    return subject, re.sub(r"\{(first_name|signature)\}", lambda match: values[match.group(1)], body)


def refusal(customer: Customer, suppressions: dict[str, str] | None = None) -> str:
    """Why no case email may go to this customer, or "" when it may. `suppressions` is the result
    of surveys.suppression.suppressed_hashes for the customer's address (one query otherwise)."""
    if customer.do_not_contact:
        return _("The customer asked not to be contacted.")
    address = normalise_email(customer.email)
    if not address:
        return _("There is no email address on file.")
    try:
        validate_email(address)
    except ValidationError:
        return _("The email address on file is not valid.")
    if suppressions is None:
        suppressions = suppressed_hashes([customer.email])
    reason = suppressions.get(email_hash(customer.email))
    if reason in UNDELIVERABLE:
        return _("The address cannot receive email: %(reason)s.") % {"reason": Suppression.Reason(reason).label}
    return ""


def channel_warning(customer: Customer) -> str:
    """A warning to confirm when the customer prefers to be reached another way, else ""."""
    if customer.preferred_channel and customer.preferred_channel != Customer.Channel.EMAIL:
        return _("The customer prefers to be contacted by %(channel)s.") % {
            "channel": customer.get_preferred_channel_display().lower()
        }
    return ""


@transaction.atomic
def send_case_email(
    *, case: Case, actor, subject: str, body: str, message_id: str, confirm_channel: bool = False
) -> Activity:
    """Stores the email (pending) with its history entry and sends it after the commit. A repeated
    submit of the same form (same `message_id`) returns the email already stored."""
    if not is_valid_message_id(message_id):
        raise ValidationError(_("The form is out of date; please open it again."))
    existing = Activity.objects.filter(message_id=message_id).first()
    if existing is not None:
        if existing.case_id != case.pk:
            raise ValidationError(_("The form is out of date; please open it again."))
        return existing
    customer = case.customer
    why_not = refusal(customer)
    if why_not:
        raise ValidationError(why_not)
    warning = channel_warning(customer)
    if warning and not confirm_channel:
        raise ValidationError({"confirm_channel": _("%(warning)s Confirm to send anyway.") % {"warning": warning}})
    subject = " ".join((subject or "").split())  # no line breaks in a header
    errors = {}
    if not subject:
        errors["subject"] = _("Write a subject.")
    if not (body or "").strip():
        errors["body"] = _("Write a message.")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            activity = Activity.objects.create(
                case=case,
                kind=Activity.Kind.EMAIL,
                actor=actor,
                to_email=customer.email.strip(),
                subject=subject[:200],
                body=body.strip(),
                message_id=message_id,
                email_status=Activity.EmailStatus.PENDING,
                channel_warning=warning[:300],
            )
    except IntegrityError:  # the same form submitted twice at once
        return Activity.objects.get(message_id=message_id)
    history.record(
        case,
        CaseEvent.Kind.EMAIL,
        _("Email sent: %(subject)s") % {"subject": activity.subject},
        actor=actor,
        after={"activity": activity.pk, "subject": activity.subject, "channel_warning": warning},
    )
    transaction.on_commit(lambda: _enqueue(activity.pk))
    return activity


def _enqueue(activity_id: int) -> None:
    from cases.mail_tasks import send_case_email_task

    send_case_email_task.delay(activity_id)


def _header_safe(value: str) -> str:
    return "".join(ch for ch in (value or "") if ch >= " " and ch != "\x7f").strip()


def _message_for(activity: Activity) -> EmailMessage:
    sender = activity.actor
    name = _header_safe(sender.get_full_name() or sender.get_username())
    return EmailMessage(
        subject=_header_safe(activity.subject),
        body=activity.body + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((_header_safe(activity.case.customer.name), activity.to_email))],
        reply_to=[formataddr((name, sender.email))] if sender.email else None,
        headers={"Message-ID": activity.message_id},
    )


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, AnymailRecipientsRefused | smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def deliver(*, activity_id: int, final_attempt: bool = False) -> str:
    """Sends one pending case email; returns "sent", "refused", "failed" or "not pending". The
    contact preferences and suppressions are checked again at sending time. A transient failure
    keeps it pending and raises TransientSendError (unless `final_attempt`)."""
    try:
        with transaction.atomic():
            activity = (
                Activity.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("case__customer", "actor")
                .filter(pk=activity_id, kind=Activity.Kind.EMAIL, email_status=Activity.EmailStatus.PENDING)
                .first()
            )
            if activity is None:
                return "not pending"
            why_not = refusal(activity.case.customer)
            if why_not:
                activity.email_status = Activity.EmailStatus.FAILED
                activity.save(update_fields=["email_status"])
                history.record(
                    activity.case,
                    CaseEvent.Kind.EMAIL,
                    _("Email not sent: %(why)s") % {"why": why_not},
                    after={"activity": activity.pk, "status": "failed"},
                )
                return "refused"
            _message_for(activity).send()
            activity.email_status = Activity.EmailStatus.SENT
            activity.happened_at = timezone.now()
            activity.save(update_fields=["email_status", "happened_at"])
            return "sent"
    except (smtplib.SMTPException, OSError, AnymailRecipientsRefused) as error:
        if final_attempt or _is_permanent(error):
            with transaction.atomic():
                updated = Activity.objects.filter(pk=activity_id, email_status=Activity.EmailStatus.PENDING).update(
                    email_status=Activity.EmailStatus.FAILED
                )
                if updated:
                    activity = Activity.objects.select_related("case").get(pk=activity_id)
                    history.record(
                        activity.case,
                        CaseEvent.Kind.EMAIL,
                        _("Email could not be delivered: %(error)s") % {"error": type(error).__name__},
                        after={"activity": activity_id, "status": "failed"},
                    )
            return "failed"
        raise TransientSendError(f"{type(error).__name__}: {error}"[:ERROR_CHARS]) from error
