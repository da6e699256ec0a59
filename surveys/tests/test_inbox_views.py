"""The reviewer inbox list and the response page: who may see them, what they show, filters,
sorting, pagination and their query budgets."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Reason
from customers.tests.factories import CustomerFactory
from surveys.models import Answer, Option, Question, SurveySettings
from surveys.tests.test_inbox_support import designate_reviewer, make_response, new_survey
from surveys.views.inbox_queries import PAGE_SIZE

INBOX = reverse("surveys:inbox")


def _detail(response) -> str:
    return reverse("surveys:response_detail", args=[response.pk])


def test_anonymous_visitors_are_sent_to_sign_in_from_the_inbox_and_a_response(client, db):
    response = make_response()
    for url in (INBOX, _detail(response)):
        answer = client.get(url)
        assert answer.status_code == 302
        assert answer["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_every_staff_role_sees_the_inbox_and_a_response(client, role_user):
    response = make_response(text="Too expensive for us.")
    client.force_login(role_user)
    listing = client.get(INBOX)
    assert listing.status_code == 200
    assert "Too expensive for us." in listing.content.decode()
    page = client.get(_detail(response))
    assert page.status_code == 200
    assert "Too expensive for us." in page.content.decode()


def test_a_user_without_a_role_may_not_see_responses(client, db):
    from winback.tests.factories import UserFactory

    response = make_response()
    client.force_login(UserFactory())
    assert client.get(INBOX).status_code == 403
    assert client.get(_detail(response)).status_code == 403


def test_an_unknown_response_is_a_404(manager_client):
    assert manager_client.get(reverse("surveys:response_detail", args=[999999])).status_code == 404


def test_the_inbox_shows_new_responses_first_then_the_reviewed_ones(manager_client, administrator):
    now = timezone.now()
    old_new = make_response(customer=CustomerFactory(name="Old New"), submitted_at=now - dt.timedelta(days=9))
    reviewed = make_response(
        customer=CustomerFactory(name="Recent Reviewed"), reviewed_at=now, reviewed_by=administrator
    )
    fresh_new = make_response(customer=CustomerFactory(name="Fresh New"), submitted_at=now - dt.timedelta(hours=1))
    html = manager_client.get(INBOX).content.decode()
    positions = [html.index(name) for name in ("Fresh New", "Old New", "Recent Reviewed")]
    assert positions == sorted(positions)
    assert {old_new.pk, reviewed.pk, fresh_new.pk}


def test_the_inbox_filters_by_state_reason_language_survey_period_and_name(manager_client, administrator):
    now = timezone.now()
    survey_ru = new_survey("ru")
    make_response(customer=CustomerFactory(name="Anna Price"), reason=Reason.PRICE)
    make_response(
        customer=CustomerFactory(name="Boris Service"), reason=Reason.SERVICE, language="ru", survey=survey_ru
    )
    make_response(customer=CustomerFactory(name="Clara Done"), reviewed_at=now, reviewed_by=administrator)
    make_response(customer=CustomerFactory(name="Dora Old"), submitted_at=now - dt.timedelta(days=60))

    def names(**params) -> set[str]:
        html = manager_client.get(INBOX, params).content.decode()
        return {name for name in ("Anna Price", "Boris Service", "Clara Done", "Dora Old") if name in html}

    assert names() == {"Anna Price", "Boris Service", "Clara Done", "Dora Old"}
    assert names(state="reviewed") == {"Clara Done"}
    assert names(state="new") == {"Anna Price", "Boris Service", "Dora Old"}
    assert names(reason="service") == {"Boris Service"}
    assert names(language="ru") == {"Boris Service"}
    assert names(survey=survey_ru.pk) == {"Boris Service"}
    since = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
    assert "Dora Old" not in names(since=since)
    until = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
    assert names(until=until) == {"Dora Old"}
    assert names(q="bori") == {"Boris Service"}
    # Malformed filters are ignored, never an error.
    assert names(state="x", reason="nope", survey="abc", since="2024-99-99") == {
        "Anna Price",
        "Boris Service",
        "Clara Done",
        "Dora Old",
    }


def test_sorting_by_customer_name_within_the_new_responses(manager_client):
    for name in ("Zoe Last", "Adam First", "Mia Middle"):
        make_response(customer=CustomerFactory(name=name))
    html = manager_client.get(INBOX, {"sort": "customer"}).content.decode()
    assert html.index("Adam First") < html.index("Mia Middle") < html.index("Zoe Last")
    html = manager_client.get(INBOX, {"sort": "-customer"}).content.decode()
    assert html.index("Zoe Last") < html.index("Mia Middle") < html.index("Adam First")
    assert 'aria-sort="descending"' in html


def test_the_inbox_pages_and_keeps_its_filters_in_the_page_links(manager_client):
    survey = new_survey()
    for number in range(PAGE_SIZE + 2):
        make_response(customer=CustomerFactory(name=f"Paged {number:02d}"), survey=survey, text="")
    html = manager_client.get(INBOX, {"reason": "price"}).content.decode()
    assert f"1–{PAGE_SIZE} of {PAGE_SIZE + 2}" in html
    assert "page=2" in html
    assert "reason=price" in html
    second = manager_client.get(INBOX, {"reason": "price", "page": 2}).content.decode()
    assert second.count('href="/surveys/responses/') >= 2


def test_the_inbox_says_so_when_there_are_no_responses(manager_client):
    html = manager_client.get(INBOX).content.decode()
    assert "No survey responses yet." in html
    html = manager_client.get(INBOX, {"q": "nobody"}).content.decode()
    assert "No responses match these filters." in html


def test_the_inbox_runs_a_bounded_number_of_queries(manager_client, django_assert_max_num_queries):
    survey = new_survey()
    for _ in range(PAGE_SIZE + 5):
        make_response(survey=survey, text="Long answer " * 100)
    with django_assert_max_num_queries(8):
        answer = manager_client.get(INBOX)
    assert answer.status_code == 200
    assert answer.content.decode().count("Long answer") >= PAGE_SIZE


def test_the_response_page_shows_the_customer_the_event_and_every_answer_in_question_order(executive_client):
    customer = CustomerFactory(name="Greta Vollmer")
    response = make_response(
        customer=customer, text="First line\nSecond line", contact_consent=True, contact_channel="phone"
    )
    survey = response.survey
    single = survey.questions.get(kind=Question.Kind.SINGLE_CHOICE)
    multiple = survey.questions.get(kind=Question.Kind.MULTIPLE_CHOICE)
    Answer.objects.create(response=response, question=single, option=Option.objects.get(question=single, position=1))
    for option in Option.objects.filter(question=multiple):
        Answer.objects.create(response=response, question=multiple, option=option)
    Answer.objects.create(response=response, question=survey.questions.get(kind=Question.Kind.RATING), rating=2)
    event = response.invitation.event
    event.lost_revenue = 4321
    event.save()

    html = executive_client.get(_detail(response)).content.decode()
    assert f'href="{customer.get_absolute_url()}"' in html
    assert "Passive (stopped buying)" in html
    assert "4,321 EUR" in html
    assert "First line<br>Second line" in html
    assert "2 / 5" in html
    assert "Poor" in html
    assert "Delivery" in html
    assert "Billing" in html
    assert "Yes, we may contact them." in html
    assert "phone" in html
    order = [html.index(q.text) for q in survey.questions.order_by("position")]
    assert order == sorted(order)


def test_the_response_page_escapes_open_text(manager_client):
    response = make_response(text="<script>alert(1)</script>\n{{ 7|add:7 }}")
    html = manager_client.get(_detail(response)).content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>{{ 7|add:7 }}" in html


def test_the_response_page_runs_a_bounded_number_of_queries(admin_client, administrator, django_assert_max_num_queries):
    from surveys.services.review import response_set_reason

    SurveySettings.load()  # the settings row exists in any real database (created on first use)
    response = make_response()
    for reason in (Reason.PRICE, Reason.SERVICE, Reason.DELIVERY):
        response_set_reason(response=response, reason=reason, fault="ours", actor=administrator)
    with django_assert_max_num_queries(14):
        answer = admin_client.get(_detail(response))
    assert answer.status_code == 200
    assert answer.content.decode().count("Survey review") == 3


@pytest.mark.parametrize(
    ("role", "sees_review", "sees_reply"),
    [("manager", False, False), ("executive", True, True), ("administrator", True, True)],
)
def test_the_response_page_offers_the_actions_the_user_may_take(client, request, role, sees_review, sees_reply):
    user = request.getfixturevalue(role)
    response = make_response()
    client.force_login(user)
    html = client.get(_detail(response)).content.decode()
    assert (reverse("surveys:response_mark_reviewed", args=[response.pk]) in html) is sees_review
    assert (reverse("surveys:response_set_reason", args=[response.pk]) in html) is sees_review
    assert (reverse("surveys:response_reply", args=[response.pk]) in html) is sees_reply


def test_an_executive_who_is_not_the_designated_reviewer_gets_no_review_actions(executive_client):
    from winback.tests.factories import UserFactory

    designate_reviewer(UserFactory(role="Executives"))
    response = make_response()
    html = executive_client.get(_detail(response)).content.decode()
    assert reverse("surveys:response_mark_reviewed", args=[response.pk]) not in html


def test_the_nav_bar_links_to_the_responses_for_every_role(client, request):
    for role in ("manager", "executive", "administrator"):
        client.force_login(request.getfixturevalue(role))
        assert f'href="{INBOX}"' in client.get(INBOX).content.decode()
