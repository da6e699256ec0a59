"""Cross-customer tampering (SUR-02): with customer A's session, nothing reaches or reveals
customer B's invitation, and A's own page shows only what the allowlist permits."""

import json
import re

import pytest
from django.test import Client

from customers.tests.factories import CustomerFactory
from surveys.models import Response, Suppression
from surveys.tests.test_public_support import (  # noqa: F401
    VALID_ANSWERS,
    _fresh_rate_limits,
    make_invitation,
    open_survey,
    rows_for,
)
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _csrf(client) -> str:
    html = client.get("/s/answer/").content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_sur_02_tampering_with_another_customers_invitation_writes_and_reveals_nothing():
    invitation_a, token_a = make_invitation(name="Alma Aalto")
    invitation_b, token_b = make_invitation(name="Bruno Brecht", phone="+49 30 5550199")
    b = invitation_b
    link_b = b.links.get()
    client_a = Client(enforce_csrf_checks=True)
    open_survey(client_a, token_a)
    csrf_a = _csrf(client_a)
    client_b = Client(enforce_csrf_checks=True)
    open_survey(client_b, token_b)
    _csrf(client_b)  # B's browser holds its own CSRF cookie

    def post_a(data):
        return client_a.post("/s/answer/", {"csrfmiddlewaretoken": csrf_a, **data})

    variants = {
        "invitation id in the path": lambda: client_a.get(f"/s/answer/{b.pk}/"),
        "invitation id as the token": lambda: client_a.get(f"/s/{b.pk}/"),
        "link id as the token": lambda: client_a.get(f"/s/{link_b.pk}/"),
        "customer id as the token": lambda: client_a.get(f"/s/{b.customer_id}/"),
        "B's token hash as the token": lambda: client_a.get(f"/s/{link_b.token_hash}/"),
        "POST to an answer path with B's id": lambda: client_a.post(
            f"/s/answer/{b.pk}/", {"csrfmiddlewaretoken": csrf_a, **VALID_ANSWERS}
        ),
        "fresh link for B's id": lambda: client_a.post("/s/new-link/", {"csrfmiddlewaretoken": csrf_a, "token": b.pk}),
        "unsigned unsubscribe of B": lambda: client_a.post(f"/u/{b.customer_id}/"),
        "B's invitation id in a query string": lambda: client_a.get(f"/s/answer/?invitation={b.pk}"),
        "JSON body naming B": lambda: client_a.post(
            "/s/answer/",
            json.dumps({"invitation": b.pk, "customer_id": b.customer_id, **VALID_ANSWERS}),
            content_type="application/json",
            headers={"X-CSRFToken": csrf_a},
        ),
        "A's CSRF token replayed on B's form": lambda: client_b.post(
            "/s/answer/", {"csrfmiddlewaretoken": csrf_a, **VALID_ANSWERS}
        ),
        "POST without a CSRF token from another origin": lambda: Client(enforce_csrf_checks=True).post(
            "/s/answer/", VALID_ANSWERS, headers={"Origin": "https://evil.example"}
        ),
        "session cookie set to B's invitation id": lambda: _with_cookie(str(b.pk)).get("/s/answer/"),
        "mass assignment (customer_id, status, campaign, invitation)": lambda: post_a(
            {**VALID_ANSWERS, "customer_id": b.customer_id, "invitation": b.pk, "status": "cancelled", "campaign": "x"}
        ),
    }
    outcomes = {}
    leaks = 0
    for name, attempt in variants.items():
        response = attempt()
        html = response.content.decode(errors="replace")
        leaks += sum(secret in html for secret in ("Bruno", "Brecht", b.customer.email, "5550199"))
        outcomes[name] = response.status_code
        if name.startswith(("A's CSRF", "POST without")):
            assert response.status_code == 403, name
        elif name.startswith(("JSON", "mass assignment", "B's invitation id in a query", "session cookie")):
            assert response.status_code in (200, 302, 400, 404), name
        else:
            assert response.status_code in (404, 400, 405), name
    assert rows_for(b) == (0, 0)
    b.refresh_from_db()
    b.customer.refresh_from_db()
    assert b.status == "sent"
    assert b.open_count == 1
    assert b.customer.survey_opt_out_at is None
    assert not Suppression.objects.filter(customer=b.customer).exists()
    assert leaks == 0
    # The one write: A answered A's own survey, attributed to A whatever the extra fields said.
    assert list(Response.objects.values_list("customer_id", "invitation_id")) == [
        (invitation_a.customer_id, invitation_a.pk)
    ]
    print(f"SUR-02: variants tried {len(variants)}, writes for B 0, leaks 0")
    for name, status in outcomes.items():
        print(f"SUR-02:   {name:<62} {status}")


def _with_cookie(value: str) -> Client:
    client = Client()
    client.cookies["sessionid"] = value
    return client


def test_sur_02_a_customers_page_shows_only_allowlisted_personal_data():
    manager = UserFactory(first_name="Anna", last_name="Manager", email="anna.manager@example.com")
    customer = CustomerFactory(
        name="Alma Aalto",
        phone="+49 30 5550123",
        company="Aalto Holzbau GmbH",
        account_manager=manager,
        lifetime_revenue="98765.43",
        external_id="CUST-77-0042",
    )
    invitation, token = make_invitation(customer=customer)
    client = Client()
    open_survey(client, token)
    pages = {"survey": client.get("/s/answer/").content.decode()}
    client.post("/s/answer/", VALID_ANSWERS)
    pages["thanks"] = client.get("/s/answer/").content.decode()

    personal = {
        "full name": customer.name,
        "last name": "Aalto",
        "email": customer.email,
        "phone": customer.phone,
        "company": customer.company,
        "external id": customer.external_id,
        "revenue": "98765",
        "AM email": manager.email,
        "signer email": invitation.signer_email or "anna.manager@",
        "reviewer email": "@example.com",
    }
    allowed = {"first name": "Alma", "signer": invitation.signer_name, "reviewer": invitation.reviewer_name}
    not_allowlisted = {}
    for page_name, html in pages.items():
        text = re.sub(r"\s+", " ", html)
        for label, value in personal.items():
            if value and value in text:
                not_allowlisted[f"{page_name}: {label}"] = value
        ids = {
            invitation.pk,
            invitation.customer_id,
            invitation.event_id,
            invitation.survey_id,
            invitation.links.get().pk,
        }
        without_csrf = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
        numbers_in_attributes = {
            int(n) for n in re.findall(r'(?:id|name|value|for|href|action)="[^"]*?(\d+)[^"]*"', without_csrf)
        }
        # Question positions (q1..q5), option positions and ratings are 1-5; the text limit is 5000.
        unexpected_numbers = numbers_in_attributes - set(range(0, 6)) - {5000}
        assert not unexpected_numbers, (page_name, unexpected_numbers, ids)
    assert not_allowlisted == {}
    for value in allowed.values():
        assert value in pages["survey"]
    print(f"SUR-02: allowlist {sorted(allowed)}; non-allowlisted fields on A's pages: {len(not_allowlisted)}")
