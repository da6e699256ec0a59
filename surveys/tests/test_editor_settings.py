"""The survey settings page (logo checks included) and the email template editor with its preview."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer
from surveys.models import EmailTemplate, SurveySettings
from surveys.tests.factories import EmailTemplateFactory
from winback.tests.factories import UserFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def settings_data(**changes) -> dict:
    data = {
        "company_name": "Acme Ltd",
        "from_email": "surveys@acme.example",
        "reply_to": "care@acme.example",
        "default_language": "en",
        "reviewer": "",
        "executive_signer": "",
        "executive_min_annual_value": "50000",
        "quiet_period_days": "180",
        "link_valid_days": "30",
        "reminder_after_days": "7",
        "invite_events_within_days": "14",
        "send_per_minute": "600",
    }
    data.update(changes)
    return data


def test_an_administrator_saves_the_sender_and_sending_settings(admin_client, executive):
    data = settings_data(reviewer=str(executive.pk), executive_signer=str(executive.pk), quiet_period_days="90")
    response = admin_client.post(reverse("surveys:settings"), data)
    assert response.status_code == 302
    saved = SurveySettings.load()
    assert (saved.company_name, saved.from_email, saved.reviewer, saved.quiet_period_days) == (
        "Acme Ltd",
        "surveys@acme.example",
        executive,
        90,
    )
    assert saved.executive_signer == executive


def test_the_reviewer_is_chosen_among_active_staff_and_defaults_to_the_first_executive(admin_client, executive):
    gone = UserFactory(username="gone", role="Executives", is_active=False)
    content = admin_client.get(reverse("surveys:settings")).content.decode()
    assert "The first active executive" in content
    assert f'value="{executive.pk}"' in content
    assert f'value="{gone.pk}"' not in content
    response = admin_client.post(reverse("surveys:settings"), settings_data(reviewer=str(gone.pk)))
    assert response.status_code == 200
    assert SurveySettings.load().reviewer is None


@pytest.mark.parametrize(
    ("content", "name", "extension"),
    [(PNG, "logo.png", "png"), (JPEG, "photo.jpeg", "jpg"), (WEBP, "mark.webp", "webp"), (PNG, "evil.html", "png")],
)
def test_a_png_jpeg_or_webp_logo_is_stored_under_its_real_type(admin_client, content, name, extension):
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    response = admin_client.post(reverse("surveys:settings"), {**settings_data(), "logo": upload})
    assert response.status_code == 302
    logo = SurveySettings.load().logo
    assert logo.name.startswith("branding/logo")
    assert logo.name.endswith(f".{extension}")
    assert logo.read() == content


@pytest.mark.parametrize(
    ("content", "name"),
    [(SVG, "logo.svg"), (b"<html><script>alert(1)</script></html>", "logo.png"), (b"GIF89a" + b"\x00" * 20, "a.gif")],
)
def test_a_logo_that_is_not_png_jpeg_or_webp_is_refused(admin_client, content, name):
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    response = admin_client.post(reverse("surveys:settings"), {**settings_data(), "logo": upload})
    assert response.status_code == 200
    assert "The logo must be a PNG, JPEG or WebP image" in response.content.decode()
    assert not SurveySettings.load().logo


def test_a_logo_over_512_kb_is_refused(admin_client):
    upload = SimpleUploadedFile("big.png", PNG + b"\x00" * 512 * 1024, content_type="image/png")
    response = admin_client.post(reverse("surveys:settings"), {**settings_data(), "logo": upload})
    assert "larger than 512 KB" in response.content.decode()
    assert not SurveySettings.load().logo


def test_saving_without_a_new_upload_keeps_the_logo_and_remove_clears_it(admin_client):
    upload = SimpleUploadedFile("logo.png", PNG, content_type="image/png")
    admin_client.post(reverse("surveys:settings"), {**settings_data(), "logo": upload})
    admin_client.post(reverse("surveys:settings"), settings_data(company_name="Renamed"))
    saved = SurveySettings.load()
    assert saved.company_name == "Renamed"
    assert saved.logo
    admin_client.post(reverse("surveys:settings"), settings_data(clear_logo="on"))
    assert not SurveySettings.load().logo


def set_template(kind="invitation", language="en", **fields) -> EmailTemplate:
    """The template of the kind and language (the sending work's migration ships defaults) with these fields."""
    template = EmailTemplateFactory(kind=kind, language=language)
    for name, value in fields.items():
        setattr(template, name, value)
    template.save()
    return template


def _edit_url(kind="invitation", language="en"):
    return reverse("surveys:email_template_edit", args=[kind, language])


def test_an_administrator_creates_and_updates_an_email_template(admin_client):
    EmailTemplate.objects.filter(kind="reminder", language="pl").delete()
    data = {"subject": "Przypomnienie", "body": "Dzień dobry {{ first_name }}, {{ survey_url }}", "action": "save"}
    response = admin_client.post(_edit_url("reminder", "pl"), data)
    assert response.status_code == 302
    assert EmailTemplate.objects.get(kind="reminder", language="pl").subject == "Przypomnienie"
    admin_client.post(_edit_url("reminder", "pl"), {**data, "subject": "Nowe"})
    assert EmailTemplate.objects.get(kind="reminder", language="pl").subject == "Nowe"


def test_a_template_syntax_error_is_shown_with_its_message_and_nothing_is_saved(admin_client):
    template = set_template(subject="Before")
    data = {"subject": "Hello", "body": "{% if first_name %}Hi {{ survey_url }}", "action": "save"}
    response = admin_client.post(_edit_url(), data)
    content = response.content.decode()
    assert response.status_code == 200
    assert "Template error: Unclosed tag" in content
    assert "endif" in content
    template.refresh_from_db()
    assert template.subject == "Before"
    response = admin_client.post(_edit_url(), {**data, "body": "{{ survey_url }}", "subject": "{{ first_name|nope }}"})
    assert "Invalid filter: &#x27;nope&#x27;" in response.content.decode()


def test_invitations_reminders_and_new_links_must_contain_the_survey_link(admin_client):
    for kind in ("invitation", "invitation_cancelled", "reminder", "fresh_link"):
        response = admin_client.post(_edit_url(kind), {"subject": "Hi", "body": "No link here", "action": "save"})
        assert "put {{ survey_url }} in the text" in response.content.decode(), kind
    response = admin_client.post(_edit_url("close_loop"), {"subject": "Hi", "body": "Thanks", "action": "save"})
    assert response.status_code == 302


def test_tags_that_reach_outside_the_template_are_refused(admin_client):
    for tag in ("{% include 'base.html' %}", "{% load static %}", "{% debug %}"):
        body = f"{{{{ survey_url }}}} {tag}"
        response = admin_client.post(_edit_url(), {"subject": "Hi", "body": body, "action": "save"})
        assert "is not allowed in email templates" in response.content.decode(), tag


def test_the_preview_shows_subject_text_and_a_sandboxed_html_part_for_a_sample_customer(admin_client):
    customers = Customer.objects.count()
    set_template(
        subject="{{ first_name }}, what went wrong?",
        body="Dear {{ first_name }},\n\nPlease tell us: {{ survey_url }}\n\n{{ signer_name }}",
    )
    content = admin_client.get(_edit_url()).content.decode()
    assert "Maria, what went wrong?" in content
    assert "Dear Maria," in content
    assert "/s/sample-link-for-the-preview/" in content
    assert '<iframe sandbox="" srcdoc="' in content
    assert "Unsubscribe from survey emails" in content  # the layout's link, inside the srcdoc
    assert Customer.objects.count() == customers


def test_the_live_preview_renders_unsaved_text_and_saves_nothing(admin_client):
    templates = EmailTemplate.objects.count()
    data = {"subject": "Hi {{ first_name }}", "body": "Please answer: {{ survey_url }}"}
    response = admin_client.post(reverse("surveys:email_template_preview", args=["invitation", "bg"]), data)
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content[:200]  # the pane alone
    assert "Hi Maria" in content
    assert "Please answer: http" in content
    assert EmailTemplate.objects.count() == templates
    broken = admin_client.post(
        reverse("surveys:email_template_preview", args=["invitation", "bg"]), {**data, "body": "{% for %}"}
    )
    assert "The preview shows once these are fixed" in broken.content.decode()


def test_the_no_javascript_preview_button_renders_the_page_without_saving(admin_client):
    template = set_template(subject="Saved")
    data = {"subject": "Unsaved {{ first_name }}", "body": "{{ survey_url }}", "action": "preview"}
    content = admin_client.post(_edit_url(), data).content.decode()
    assert "Unsaved Maria" in content
    template.refresh_from_db()
    assert template.subject == "Saved"


def test_hostile_template_text_is_escaped_in_the_preview(admin_client):
    data = {"subject": "<script>alert('s')</script>", "body": "{{ survey_url }} <script>alert('b')</script>"}
    content = admin_client.post(reverse("surveys:email_template_preview", args=["invitation", "en"]), data)
    content = content.content.decode()
    assert "<script>alert(" not in content
    assert "&lt;script&gt;alert(" in content
    # The HTML part sits whole inside srcdoc="...": escaped once by the email layout, once as an attribute.
    assert "&amp;lt;script&amp;gt;alert(" in content
    srcdoc = content[content.index('srcdoc="') + len('srcdoc="') :]
    assert srcdoc.index('"') > srcdoc.index("&lt;/html&gt;")  # no quote ends the attribute early
    assert "<table" not in content
