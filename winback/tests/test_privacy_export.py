"""PRIV-04: an administrator downloads everything held about customer X (one ZIP: customer.json
and a CSV per category of the inventory); nothing of the look-alike Y; the export is audited."""

import datetime as dt
import io
import json
import time
import zipfile
from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from cases.models import CaseEvent
from cases.services import history
from cases.tests.factories import ActivityFactory, CaseFactory, CorrectiveActionFactory, OfferFactory, TaskFactory
from customers.models import Customer, DefectionEvent, Dismissal, ReasonChange, StatusChange, Transaction
from customers.tests.factories import CustomerFactory, InteractionFactory, TransactionFactory
from surveys.mail import new_message_id
from surveys.models import EmailEvent, ResponseReply, Suppression
from surveys.suppression import suppress
from surveys.tests.factories import AnswerFactory, DefectionEventFactory, InvitationFactory, ResponseFactory
from surveys.tests.test_invitations_create import active_survey
from surveys.tokens import mint_link
from winback.audit.models import Entry
from winback.privacy.inventory import CATEGORIES

pytestmark = pytest.mark.django_db

X = {"name": "Sam Jones", "email": "sam.jones@example.org", "phone": "+49 30 5550101", "external_id": "CUST-1001"}
Y = {"name": "Sam Jonas", "email": "sam.jonas@example.org", "phone": "+49 30 5550202", "external_id": "CUST-2002"}


def seed_customer(who: dict, *, owner=None, suppressed: bool = True) -> tuple[Customer, dict]:
    """A customer with a row in every category of the inventory, their own identifiers quoted in
    the free text staff write. Returns the customer and {"token": a live survey link, ...}."""
    name, email, phone = who["name"], who["email"], who["phone"]
    customer = CustomerFactory(**who, status="defected", contact_notes=f"{name} prefers email, not {phone}")
    Customer.objects.filter(pk=customer.pk).update(preferred_channel="email")  # an audited preference change
    TransactionFactory.create_batch(3, customer=customer)
    InteractionFactory(customer=customer, summary=f"=HYPERLINK(evil) {name} ({email}) complained; call {phone}")
    StatusChange.objects.create(
        customer=customer,
        from_status="active",
        to_status="defected",
        rule="manual",
        as_of=timezone.localdate(),
        changed_at=timezone.now(),
        facts={"days": 120},
    )
    Dismissal.objects.create(customer=customer, kind="other", note=f"{name} is away", until=timezone.localdate())
    old = DefectionEventFactory(customer=customer, status=DefectionEvent.Status.CLOSED, closed_reason="bought")
    survey = active_survey()
    sent = InvitationFactory(
        event=old, customer=customer, survey=survey, status="sent", sent_at=timezone.now(), last_error=f"452 {email}"
    )
    token = mint_link(sent)
    EmailEvent.objects.create(kind="deferred", customer=customer, invitation=sent, description=f"deferred for {email}")
    response = ResponseFactory(invitation=sent, customer=customer, survey=survey)
    AnswerFactory(response=response, text=f"I am {name}, call me on {phone}")
    ResponseReply.objects.create(
        response=response,
        kind="close_loop",
        subject=f"Dear {name}",
        body=f"Dear {name}, thank you",
        message_id=new_message_id(),
    )
    ReasonChange.objects.create(event=old, source="survey_review", note=f"{name} named the price")
    case = (
        CaseFactory(customer=customer, event=old, owner=owner) if owner else CaseFactory(customer=customer, event=old)
    )
    history.record(case, CaseEvent.Kind.NOTE, f"Spoke to {name} on {phone}", after={"note": f"{name} said no"})
    history.record(case, CaseEvent.Kind.TASK, f"Task: call {name} back")
    ActivityFactory(case=case, kind="email", to_email=email, subject=f"Hello {name}", body=f"Dear {name}", notes=name)
    OfferFactory(case=case, description=f"15% for {name}")
    TaskFactory(case=case, title=f"Call {name} back", notes=f"on {phone}")
    CorrectiveActionFactory(source_case=case, description=f"Faster delivery to the north, as {name} asked")
    if suppressed:
        suppress(email, Suppression.Reason.HARD_BOUNCE, customer=customer, note=f"bounce of {email}")
    pending_event = DefectionEventFactory(customer=customer)
    pending = InvitationFactory(event=pending_event, customer=customer, survey=survey, status="pending")
    if owner is not None:
        LogEntry.objects.create(
            content_type=ContentType.objects.get_for_model(Customer),
            object_id=str(customer.pk),
            object_repr=str(customer),
            action_flag=CHANGE,
            user=owner,
        )
    return customer, {"token": token, "pending": pending, "case": case}


@pytest.fixture
def x_and_y(administrator):
    x, x_extra = seed_customer(X, owner=administrator)
    y, y_extra = seed_customer(Y, owner=administrator)
    return x, y, x_extra, y_extra


def download(client, customer) -> zipfile.ZipFile:
    response = client.post(reverse("privacy:export", args=[customer.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "no-store"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_export_holds_every_category_of_the_inventory_and_nothing_of_the_look_alike(admin_client, x_and_y):
    x, y, _x_extra, _y_extra = x_and_y
    archive = download(admin_client, x)
    data = json.loads(archive.read("customer.json"))
    names = [category.name for category in CATEGORIES]
    present = [name for name in names if data["categories"].get(name) and f"{name}.csv" in archive.namelist()]
    everything = "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())
    foreign = sum(everything.count(value) for value in Y.values())
    foreign += sum(1 for row in data["categories"]["purchases"] if row["customer_id"] == y.pk)
    print(f"PRIV-04: categories exported {len(present)}/{len(names)}, foreign records {foreign}")
    assert present == names
    assert foreign == 0
    assert all(value in everything for value in X.values())
    assert len(data["categories"]["purchases"]) == 3
    assert data["categories"]["record"][0]["email"] == X["email"]
    exported = Entry.objects.filter(kind="privacy.customer", action="export", customer_id=x.pk).get()
    assert exported.actor_id is not None
    assert exported.after["action"] == "export"


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(admin_client, x_and_y):
    archive = download(admin_client, x_and_y[0])
    text = archive.read("interactions.csv").decode("utf-8-sig")
    assert ",'=HYPERLINK(evil) Sam Jones" in text
    assert ",=HYPERLINK" not in text


def test_a_customer_with_ten_thousand_purchases_is_exported_in_bounded_pieces(client, administrator):
    client.force_login(administrator)
    customer = CustomerFactory()
    start = timezone.now() - dt.timedelta(days=3000)
    Transaction.objects.bulk_create(
        Transaction(
            customer=customer, external_id=f"T{i}", occurred_at=start + dt.timedelta(hours=i), amount=Decimal("9.5")
        )
        for i in range(10_000)
    )
    started = time.monotonic()
    response = client.post(reverse("privacy:export", args=[customer.pk]))
    pieces = [len(piece) for piece in response.streaming_content]
    seconds = time.monotonic() - started
    body = b"".join(piece for piece in client.post(reverse("privacy:export", args=[customer.pk])).streaming_content)
    rows = zipfile.ZipFile(io.BytesIO(body)).read("purchases.csv").decode("utf-8-sig").count("\r\n")
    print(f"PRIV-04: 10,000 purchases exported in {seconds:.2f} s, {len(pieces)} pieces, largest {max(pieces):,} bytes")
    assert rows == 10_001  # the header and every purchase
    assert len(pieces) > 5
    assert max(pieces) < 512 * 1024


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_only_administrators_may_export(client, role_user, x_and_y):
    url = reverse("privacy:export", args=[x_and_y[0].pk])
    anonymous = client.post(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    client.force_login(role_user)
    expected = 200 if role_user.groups.filter(name="Administrators").exists() else 403
    assert client.post(url).status_code == expected
    assert client.get(url).status_code == 405


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_the_privacy_panel_is_on_the_card_of_administrators_only(client, role_user):
    customer = CustomerFactory()
    client.force_login(role_user)
    page = client.get(customer.get_absolute_url()).content.decode()
    shown = role_user.groups.filter(name="Administrators").exists()
    assert ("Download everything we hold" in page) is shown
    assert (reverse("privacy:erase", args=[customer.pk]) in page) is shown


def test_the_export_runs_a_bounded_number_of_queries(admin_client, x_and_y, django_assert_max_num_queries):
    with django_assert_max_num_queries(2 * len(CATEGORIES) + 12):
        response = admin_client.post(reverse("privacy:export", args=[x_and_y[0].pk]))
        assert len(b"".join(response.streaming_content)) > 1000
