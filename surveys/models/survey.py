"""Survey definitions (a survey per language, its questions and options), the editable email
templates, and the one-row settings of the sender, the reviewer and the sending job."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Reason


def language_choices():
    return settings.LANGUAGES


class Survey(models.Model):
    """An exit survey in one language. The invitation uses the active survey in the customer's
    language, else the one in the default language (SurveySettings.default_language)."""

    title = models.CharField(_("title"), max_length=200)
    language = models.CharField(_("language"), max_length=10, choices=language_choices)
    introduction = models.TextField(_("introduction"), blank=True)
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["language", "title"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        constraints = [
            models.UniqueConstraint(
                fields=["language"], condition=Q(is_active=True), name="survey_one_active_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"


class Question(models.Model):
    class Kind(models.TextChoices):
        SINGLE_CHOICE = "single_choice", _("Single choice (options map to a reason)")
        MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
        RATING = "rating", _("Rating 1–5")
        OPEN_TEXT = "open_text", _("Open text")
        CONTACT_CONSENT = "contact_consent", _("May we contact you? (with a preferred channel)")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    text = models.CharField(_("question"), max_length=500)
    help_text = models.CharField(_("hint"), max_length=300, blank=True)
    required = models.BooleanField(_("required"), default=False)
    low_label = models.CharField(_("label for 1"), max_length=60, blank=True)  # ratings only
    high_label = models.CharField(_("label for 5"), max_length=60, blank=True)

    class Meta:
        ordering = ["survey", "position"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [models.UniqueConstraint(fields=["survey", "position"], name="question_position_unique")]

    def __str__(self) -> str:
        return self.text


class Option(models.Model):
    """A choice of a single- or multiple-choice question; single-choice options name a Reason."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField(_("position"))
    label = models.CharField(_("label"), max_length=200)
    reason = models.CharField(_("reason"), max_length=32, choices=Reason.choices, blank=True)

    class Meta:
        ordering = ["question", "position"]
        verbose_name = _("option")
        verbose_name_plural = _("options")
        constraints = [models.UniqueConstraint(fields=["question", "position"], name="option_position_unique")]

    def __str__(self) -> str:
        return self.label


class EmailTemplate(models.Model):
    """The subject and text of one kind of email in one language, edited by administrators.

    Placeholders are Django template variables ({{ first_name }}, {{ signer_name }}, ...), rendered
    with plain strings only; the HTML part is the same text, escaped, in the shared layout."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", _("Invitation (stopped buying)")
        INVITATION_CANCELLED = "invitation_cancelled", _("Invitation (cancelled)")
        REMINDER = "reminder", _("Reminder")
        FRESH_LINK = "fresh_link", _("New link after expiry")
        CLOSE_LOOP = "close_loop", _("Reply: what we changed")
        RETURN = "return", _("Invitation to return")

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=10, choices=language_choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "language"]
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        constraints = [models.UniqueConstraint(fields=["kind", "language"], name="emailtemplate_kind_language")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.language})"


class SurveySettings(models.Model):
    """One row (pk 1): the sender shown in every survey page and email, the impartial reviewer,
    and the limits of the invitation job."""

    company_name = models.CharField(_("company name"), max_length=200, default="Winback Demo Ltd")
    logo = models.FileField(_("logo"), upload_to="branding/", blank=True)
    from_email = models.EmailField(_("From address"), default="surveys@example.com")
    reply_to = models.EmailField(_("default Reply-To"), blank=True)
    default_language = models.CharField(_("default language"), max_length=10, default="en", choices=language_choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("impartial reviewer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Reads every response. When empty, the first active executive."),
    )
    executive_signer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("executive who signs for top customers"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    executive_min_annual_value = models.DecimalField(
        _("annual value from which the executive signs"), max_digits=16, decimal_places=2, default=50000
    )
    quiet_period_days = models.PositiveIntegerField(_("quiet period (days)"), default=180)
    link_valid_days = models.PositiveIntegerField(_("link valid for (days)"), default=30)
    reminder_after_days = models.PositiveIntegerField(_("reminder after (days)"), default=7)
    invite_events_within_days = models.PositiveIntegerField(
        _("invite for defections detected within (days)"),
        default=14,
        help_text=_("Older events (for example from a replay of history) get no invitation."),
    )
    send_per_minute = models.PositiveIntegerField(_("emails per minute at most"), default=600)
    reviewer_digest_sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("survey settings")
        verbose_name_plural = _("survey settings")

    def __str__(self) -> str:
        return str(_("Survey settings"))

    @classmethod
    def load(cls) -> "SurveySettings":
        return cls.objects.get_or_create(pk=1)[0]
