"""Composing survey-app email: the administrator-edited template of a kind and language rendered
into a text part and an HTML part in the shared layout, with the personal headers every message
carries — From the company, Reply-To the signer, a fixed Message-ID, and RFC 8058 one-click
unsubscribe headers plus a visible unsubscribe link (PRIV-01)."""

import functools
from email.utils import formataddr

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.template import Context, Template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from customers.models import Customer
from surveys.models import EmailTemplate, SurveySettings

__all__ = ["UNSUBSCRIBE_SALT", "build_message", "new_message_id", "render_email_template", "unsubscribe_url"]

UNSUBSCRIBE_SALT = "winback.surveys.unsubscribe"


def new_message_id() -> str:
    return make_msgid(domain=settings.WINBACK_MESSAGE_ID_DOMAIN)


def header_safe(value: str) -> str:
    """A display name with no line breaks or control characters (no header injection)."""
    return "".join(ch for ch in (value or "") if ch >= " " and ch != "\x7f").strip()


def unsubscribe_token(customer: Customer) -> str:
    return signing.dumps(customer.pk, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(customer: Customer) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("surveys:unsubscribe", args=[unsubscribe_token(customer)])


def first_name(customer: Customer) -> str:
    name = (customer.name or "").strip()
    return name.split()[0] if name else ""


def pick_template(kind: str, language: str) -> EmailTemplate:
    """The template of the kind in the language, else in the default language, else English."""
    order = (language, SurveySettings.load().default_language, "en")
    found = {t.language: t for t in EmailTemplate.objects.filter(kind=kind, language__in=set(order))}
    for lang in order:
        if lang in found:
            return found[lang]
    raise EmailTemplate.DoesNotExist(f"no {kind} email template")


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """A template text compiled once per process (a batch renders the same one for every row)."""
    return Template("{% autoescape off %}" + source + "{% endautoescape %}")


def render_email_template(template: EmailTemplate, context: dict[str, str]) -> tuple[str, str]:
    """(subject, text) of the template with the context's plain-string placeholders filled in.
    Rendered without autoescaping: this is the text part; the HTML part escapes it again."""
    values = {key: str(value) for key, value in context.items()}
    subject = _compiled(template.subject).render(Context(values))
    body = _compiled(template.body).render(Context(values))
    return header_safe(subject), body.strip() + "\n"


def build_message(
    *,
    customer: Customer,
    kind: str,
    language: str,
    context: dict[str, str],
    message_id: str,
    signer_name: str = "",
    signer_email: str = "",
    template: EmailTemplate | None = None,
    sender: SurveySettings | None = None,
) -> EmailMultiAlternatives:
    """The message for one customer. `context` fills the template's placeholders; `first_name`,
    `company_name`, `signer_name` and `unsubscribe_url` are always available. A batch passes the
    template and the sender settings it loaded once."""
    sender = sender or SurveySettings.load()
    template = template or pick_template(kind, language)
    unsubscribe = unsubscribe_url(customer)
    values = {
        "first_name": first_name(customer),
        "name": customer.name,
        "company_name": sender.company_name,
        "signer_name": signer_name,
        "unsubscribe_url": unsubscribe,
        **context,
    }
    subject, text = render_email_template(template, values)
    with translation.override(template.language):
        footer_text = render_to_string("surveys/email/footer.txt", {"unsubscribe_url": unsubscribe, "sender": sender})
        html = render_to_string(
            "surveys/email/layout.html",
            {
                "subject": subject,
                "body": text,
                "sender": sender,
                "unsubscribe_url": unsubscribe,
                "language": template.language,
            },
        )
    reply_to = signer_email or sender.reply_to
    message = EmailMultiAlternatives(
        subject=subject,
        body=text + "\n" + footer_text,
        from_email=formataddr((header_safe(sender.company_name), sender.from_email)),
        to=[formataddr((header_safe(customer.name), customer.email.strip()))],
        reply_to=[formataddr((header_safe(signer_name), reply_to))] if reply_to else None,
        headers={
            "Message-ID": message_id,
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message
