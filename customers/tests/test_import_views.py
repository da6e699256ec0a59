"""The Imports pages: upload, check and preview, confirm or cancel, progress, rejects (administrators only)."""

import re
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from customers import services
from customers.models import Customer, ImportRun
from customers.tests.factories import ImportRunFactory

pytestmark = pytest.mark.django_db

HEADER = "customer_id,name,email\n"
GOOD = HEADER + "007,Anna Berg,anna@example.org\n008,Bob Dow,bob@example.org\n"
ONE_BAD = HEADER + "007,Anna Berg,anna@example.org\n008,Bob Dow,not-an-email\n009,Cleo Park,cleo@example.org\n"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media_root) -> list[str]:
    folder = Path(media_root) / "imports"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def upload(client, content: str, *, kind: str = "customers", skip_invalid: bool = False, name: str = "people.csv"):
    data = {"kind": kind, "file": SimpleUploadedFile(name, content.encode(), content_type="text/csv")}
    if skip_invalid:
        data["skip_invalid"] = "on"
    return client.post(reverse("customers:import_new"), data)


def confirm(client, run: ImportRun, **extra):
    return client.post(reverse("customers:import_detail", args=[run.pk]), {"action": "import", **extra})


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def checked_run(administrator, tmp_path):
    """A checked customers run with one bad row, so it has a rejects file."""
    path = tmp_path / "checked.csv"
    path.write_text(ONE_BAD)
    run = services.import_run_create(kind="customers", path=path, file_name="checked.csv", started_by=administrator)
    return services.import_run_check(run_id=run.pk)


PAGES = ["customers:import_list", "customers:import_new", "customers:import_detail", "customers:import_progress"]
PAGES += ["customers:import_rejects"]


def url_of(name: str, run: ImportRun) -> str:
    return reverse(name, args=[run.pk]) if name.endswith(("detail", "progress", "rejects")) else reverse(name)


@pytest.mark.parametrize("url_name", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in_from_every_import_page(client, checked_run, url_name):
    for method in (client.get, client.post):
        response = method(url_of(url_name, checked_run), {"action": "import", "skip_invalid": "on"})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert ImportRun.objects.get().status == ImportRun.Status.CHECKED


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
@pytest.mark.parametrize("url_name", PAGES)
def test_managers_and_executives_may_not_open_any_import_page(client, role_user, checked_run, url_name):
    client.force_login(role_user)
    response = client.get(url_of(url_name, checked_run))
    assert response.status_code == 403


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_managers_and_executives_can_neither_upload_nor_confirm_nor_cancel(client, role_user, checked_run, media_root):
    client.force_login(role_user)
    files_before = stored_files(media_root)

    assert upload(client, GOOD).status_code == 403
    assert confirm(client, checked_run, skip_invalid="on").status_code == 403
    cancel = client.post(reverse("customers:import_detail", args=[checked_run.pk]), {"action": "cancel"})

    assert cancel.status_code == 403
    assert ImportRun.objects.get().status == ImportRun.Status.CHECKED
    assert stored_files(media_root) == files_before
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("url_name", PAGES)
def test_administrators_open_every_import_page(admin_client, checked_run, url_name):
    response = admin_client.get(url_of(url_name, checked_run))
    assert response.status_code == 200


def test_the_list_of_imports_stays_within_its_query_budget(admin_client, administrator, django_assert_max_num_queries):
    ImportRunFactory.create_batch(20, started_by=administrator, status=ImportRun.Status.DONE, rows_new=3)
    ImportRunFactory.create_batch(10, kind=ImportRun.Kind.TRANSACTIONS, status=ImportRun.Status.REJECTED, error_count=2)

    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("customers:import_list"))

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 25
    html = response.content.decode()
    assert "3 new, 0 updated, 0 unchanged" in html
    assert "2 problems" in html
    assert "command line" in html
    filtered = admin_client.get(reverse("customers:import_list"), {"kind": "transactions"})
    assert len(filtered.context["page"].object_list) == 10


def test_the_detail_page_stays_within_its_query_budget(admin_client, checked_run, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):
        response = admin_client.get(reverse("customers:import_detail", args=[checked_run.pk]))
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_an_administrator_checks_a_file_imports_it_and_imports_it_again(admin_client):
    response = upload(admin_client, GOOD)

    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:import_detail", args=[run.pk])
    assert run.status == ImportRun.Status.CHECKED
    assert (run.file_name, run.source) == ("people.csv", "upload")
    assert Customer.objects.count() == 0
    page = admin_client.get(response["Location"]).content.decode()
    assert "Importing will give: 2 new, 0 updated, 0 unchanged." in page
    assert '<td class="text-break">Anna Berg</td>' in page  # the preview of the first rows
    assert 'value="import"' in page
    assert 'value="cancel"' in page

    done = confirm(admin_client, run)

    assert done.status_code == 302
    assert messages_of(done) == ["Imported: 2 new, 0 updated, 0 unchanged."]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["007", "008"]
    assert 'value="import"' not in admin_client.get(done["Location"]).content.decode()

    again = upload(admin_client, GOOD)
    second = ImportRun.objects.exclude(pk=run.pk).get()
    assert "Importing will give: 0 new, 0 updated, 2 unchanged." in admin_client.get(again["Location"]).content.decode()
    assert messages_of(confirm(admin_client, second)) == ["Imported: 0 new, 0 updated, 2 unchanged."]
    assert any("already imported" in warning for warning in ImportRun.objects.get(pk=second.pk).warnings)
    assert Customer.objects.count() == 2


def test_confirming_twice_imports_once(admin_client):
    upload(admin_client, GOOD)
    run = ImportRun.objects.get()
    first = confirm(admin_client, run)
    admin_client.get(first["Location"])  # shows, and so uses up, the first success message

    second = confirm(admin_client, run)

    assert second.status_code == 302
    assert messages_of(second) == []
    assert Customer.objects.count() == 2


def test_a_bad_row_is_shown_with_its_line_and_column_and_blocks_the_import_until_skipped(admin_client):
    upload(admin_client, ONE_BAD)
    run = ImportRun.objects.get()

    page = admin_client.get(reverse("customers:import_detail", args=[run.pk])).content.decode()

    assert run.status == ImportRun.Status.CHECKED
    assert "<td>3</td><td>email</td><td>&quot;not-an-email&quot; is not an email address.</td>" in page
    assert "If you import the good rows only: 2 new, 0 updated, 0 unchanged, 1 rejected." in page
    assert "Skip the 1 bad row and import the rest" in page

    refused = confirm(admin_client, run)

    assert messages_of(refused) == ["The file has problems: fix it, or choose to import the good rows only."]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.CHECKED
    assert Customer.objects.count() == 0
    admin_client.get(refused["Location"])  # shows, and so uses up, the message

    skipped = confirm(admin_client, run, skip_invalid="on")

    assert messages_of(skipped) == ["Imported: 2 new, 0 updated, 0 unchanged, 1 rejected."]
    run.refresh_from_db()
    assert (run.status, run.skip_invalid) == (ImportRun.Status.DONE, True)
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["007", "009"]

    rejects = admin_client.get(reverse("customers:import_rejects", args=[run.pk]))
    body = b"".join(rejects.streaming_content).decode()
    rejects.close()
    assert rejects["Cache-Control"] == "no-store"
    assert rejects["Content-Disposition"] == f'attachment; filename="import-{run.pk}-problems.csv"'
    assert rejects["Content-Type"].startswith("text/csv")
    assert body.splitlines() == [
        "line,column,code,message,value",
        '3,email,bad_email,"""not-an-email"" is not an email address.",not-an-email',
    ]


def test_unticking_skip_on_the_confirm_page_overrides_the_choice_made_at_upload(admin_client):
    upload(admin_client, ONE_BAD, skip_invalid=True)
    run = ImportRun.objects.get()
    page = admin_client.get(reverse("customers:import_detail", args=[run.pk])).content.decode()
    assert re.search(r'name="skip_invalid"[^>]* checked', page)  # the upload's choice is offered again

    refused = confirm(admin_client, run)  # the box was unticked: a browser sends no skip_invalid

    assert messages_of(refused) == ["The file has problems: fix it, or choose to import the good rows only."]
    assert Customer.objects.count() == 0
    assert confirm(admin_client, run, skip_invalid="on").status_code == 302
    assert Customer.objects.count() == 2


def test_a_run_without_a_rejects_file_has_no_download(admin_client):
    upload(admin_client, GOOD)
    run = ImportRun.objects.get()
    assert admin_client.get(reverse("customers:import_rejects", args=[run.pk])).status_code == 404
    assert admin_client.get(reverse("customers:import_rejects", args=[run.pk + 1])).status_code == 404


def test_cancelling_a_checked_run_deletes_the_stored_file_and_writes_nothing(admin_client, media_root):
    upload(admin_client, GOOD)
    run = ImportRun.objects.get()
    assert Path(run.stored_path).is_file()

    response = admin_client.post(reverse("customers:import_detail", args=[run.pk]), {"action": "cancel"})

    assert response.status_code == 302
    assert response["Location"] == reverse("customers:import_list")
    assert messages_of(response) == ["Import cancelled; nothing was written."]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.CANCELLED
    assert run.finished_at is not None
    assert not Path(run.stored_path).exists()
    assert Customer.objects.count() == 0
    # A cancelled run cannot be imported afterwards.
    confirm(admin_client, run)
    assert ImportRun.objects.get().status == ImportRun.Status.CANCELLED
    assert Customer.objects.count() == 0


def test_an_unknown_action_is_not_found_and_changes_nothing(admin_client, checked_run):
    response = admin_client.post(reverse("customers:import_detail", args=[checked_run.pk]), {"action": "drop"})
    assert response.status_code == 404
    assert ImportRun.objects.get().status == ImportRun.Status.CHECKED


def test_a_file_over_the_limit_is_refused_with_a_clear_error(admin_client, settings, media_root):
    settings.WINBACK_IMPORT_MAX_BYTES = 50

    response = upload(admin_client, GOOD)

    # The upload handler stops the file at the cap, before the form or the importer reads it.
    assert response.status_code == 413
    assert "larger than 50\xa0bytes" in response.content.decode()
    assert not ImportRun.objects.exists()
    assert stored_files(media_root) == []


def test_a_request_far_over_the_limit_is_refused_before_the_form_reads_it(admin_client, settings, media_root):
    settings.WINBACK_IMPORT_MAX_BYTES = 1000
    huge = HEADER + "".join(f"C{i},Name {i},c{i}@example.org\n" for i in range(4000))

    response = upload(admin_client, huge)

    assert response.status_code == 413
    assert messages_of(response) == ["The file is larger than 1000\xa0bytes, the largest accepted."]
    assert not ImportRun.objects.exists()
    assert stored_files(media_root) == []


def test_an_oversized_request_is_refused_before_anything_reads_its_body(administrator, settings):
    """The CSRF check reads a POST body, so the size check must come first: a body that would fail
    if read (it is shorter than it claims) proves that nothing read it."""
    settings.WINBACK_IMPORT_MAX_BYTES = 1000
    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)
    token = client.get(reverse("customers:import_new")).context["csrf_token"]  # sets the CSRF cookie
    data = {"kind": "customers", "file": SimpleUploadedFile("big.csv", GOOD.encode()), "csrfmiddlewaretoken": token}

    response = client.post(reverse("customers:import_new"), data, CONTENT_LENGTH=str(10 * 1024**3))

    assert response.status_code == 413
    assert not ImportRun.objects.exists()


def test_uploads_still_need_a_csrf_token(administrator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)
    token = client.get(reverse("customers:import_new")).context["csrf_token"]

    refused = upload(client, GOOD)
    accepted = client.post(
        reverse("customers:import_new"),
        {"kind": "customers", "file": SimpleUploadedFile("p.csv", GOOD.encode()), "csrfmiddlewaretoken": token},
    )

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert ImportRun.objects.count() == 1


def test_an_empty_file_and_a_missing_kind_are_form_errors(admin_client):
    response = upload(admin_client, "", kind="gifts")
    form = response.context["form"]
    assert set(form.errors) == {"kind", "file"}
    assert not ImportRun.objects.exists()


def test_big_files_are_checked_and_imported_in_the_background(
    admin_client, settings, django_capture_on_commit_callbacks
):
    settings.WINBACK_IMPORT_BACKGROUND_BYTES = 1

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(admin_client, GOOD)
        run = ImportRun.objects.get()
        assert run.status == ImportRun.Status.PENDING  # enqueued, not checked inside the request

    assert len(callbacks) == 1
    run.refresh_from_db()
    assert run.status == ImportRun.Status.CHECKED
    assert (run.rows_new, Customer.objects.count()) == (2, 0)
    assert response["Location"] == reverse("customers:import_detail", args=[run.pk])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        confirm(admin_client, run)
        assert ImportRun.objects.get().status == ImportRun.Status.QUEUED

    assert len(callbacks) == 1
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE
    assert Customer.objects.count() == 2


def test_the_progress_box_polls_while_busy_and_reloads_the_page_when_finished(admin_client, checked_run):
    url = reverse("customers:import_progress", args=[checked_run.pk])
    ImportRun.objects.filter(pk=checked_run.pk).update(status=ImportRun.Status.RUNNING, rows_processed=1500)

    busy = admin_client.get(url, headers={"HX-Request": "true"})

    assert busy.status_code == 200
    assert f'hx-get="{url}"' in busy.content.decode()
    assert "1,500 rows read" in busy.content.decode()
    ImportRun.objects.filter(pk=checked_run.pk).update(status=ImportRun.Status.DONE)

    finished = admin_client.get(url, headers={"HX-Request": "true"})

    assert finished.status_code == 204
    assert finished["HX-Refresh"] == "true"
    plain = admin_client.get(url)  # without htmx the box itself comes back
    assert plain.status_code == 200
    assert "hx-get" not in plain.content.decode()


def test_the_progress_box_stays_within_its_query_budget(admin_client, checked_run, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):
        response = admin_client.get(reverse("customers:import_progress", args=[checked_run.pk]))
    assert response.status_code == 200


def test_values_from_the_file_are_shown_escaped(admin_client):
    script = "<script>alert(1)</script>"
    content = HEADER + f'C1,"{script}",<img src=x onerror=alert(2)>\n'
    upload(admin_client, content, name="<b>list</b>.csv")
    run = ImportRun.objects.get()

    html = admin_client.get(reverse("customers:import_detail", args=[run.pk])).content.decode()

    assert run.errors[0]["code"] == "bad_email"
    assert script not in html
    assert "<img src=x" not in html
    assert "<b>list</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # in the preview
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # in the problem's value and message
    list_html = admin_client.get(reverse("customers:import_list")).content.decode()
    assert "<b>list</b>" not in list_html
