"""The survey in real Chromium: a Russian customer opens the emailed link, answers in Russian, sees
the Russian thank-you page, and nothing overflows at phone width (390 px)."""

import re

import pytest
from playwright.sync_api import expect

from customers.models import Reason
from customers.tests.factories import CustomerFactory
from surveys.models import Option, Question, Response, Survey, SurveySettings
from surveys.tests.factories import DefectionEventFactory, InvitationFactory
from surveys.tests.test_public_support import _fresh_rate_limits  # noqa: F401
from surveys.tokens import mint_link

pytestmark = [
    pytest.mark.usefixtures("short_lived_db_connections"),
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _russian_survey() -> Survey:
    survey = Survey.objects.create(
        title="Помогите нам понять, что пошло не так",
        language="ru",
        is_active=False,
        introduction="Похоже, вы перестали у нас покупать. Нам искренне важно узнать почему.",
    )
    reason = Question.objects.create(
        survey=survey, position=1, kind="single_choice", text="Почему вы перестали у нас покупать?", required=True
    )
    for position, (label, value) in enumerate(
        [("Качество товаров", Reason.PRODUCT_QUALITY), ("Цена", Reason.PRICE), ("Доставка", Reason.DELIVERY)], 1
    ):
        Option.objects.create(question=reason, position=position, label=label, reason=value)
    also = Question.objects.create(survey=survey, position=2, kind="multiple_choice", text="Что ещё повлияло?")
    for position, label in enumerate(["Обслуживание", "Счета и оплата"], 1):
        Option.objects.create(question=also, position=position, label=label)
    Question.objects.create(
        survey=survey,
        position=3,
        kind="rating",
        text="Как вы оцениваете нас в целом?",
        low_label="Очень плохо",
        high_label="Отлично",
    )
    Question.objects.create(
        survey=survey,
        position=4,
        kind="open_text",
        text="Расскажите своими словами, что нам следовало сделать иначе?",
    )
    Question.objects.create(survey=survey, position=5, kind="contact_consent", text="Можно ли связаться с вами?")
    return survey


def test_a_russian_customer_answers_the_survey_on_a_phone(page):
    SurveySettings.load()
    customer = CustomerFactory(name="Светлана Иванова", language="ru")
    invitation = InvitationFactory(
        event=DefectionEventFactory(customer=customer),
        customer=customer,
        survey=_russian_survey(),
        language="ru",
        status="sent",
        signer_name="Анна Петрова",
        reviewer_name="Рита Соколова",
    )
    token = mint_link(invitation, valid_days=30)
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"/s/{token}/")
    expect(page).to_have_url(re.compile(r"/s/answer/$"))
    assert token not in page.url
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_text("Здравствуйте, Светлана!")).to_be_visible()
    expect(page.get_by_text("5 вопросов · около двух минут")).to_have_count(0)  # replaced by the live progress
    expect(page.locator("#survey-progress")).to_have_text("Отвечено: 0 из 5")
    form_overflow = page.evaluate(OVERFLOW_JS)
    assert form_overflow <= 0

    page.get_by_label("Цена", exact=True).check()
    page.get_by_label("Обслуживание").check()
    page.locator("label[for='id_q3_2']").click()
    page.get_by_label("Расскажите своими словами, что нам следовало сделать иначе?").fill(
        "Цены выросли дважды за год 📈, а предупредили нас только постфактум."
    )
    page.get_by_label("Да", exact=True).check()
    page.get_by_label("Телефон").check()
    expect(page.locator("#survey-progress")).to_have_text("Отвечено: 5 из 5")
    page.get_by_role("button", name="Отправить ответы").click()

    expect(page.get_by_role("heading", name="Спасибо, Светлана!")).to_be_visible()
    expect(page.get_by_text("Рита Соколова")).to_be_visible()
    expect(page.get_by_text("Мы расскажем вам, что сделали по вашим ответам.")).to_be_visible()
    thanks_overflow = page.evaluate(OVERFLOW_JS)
    assert thanks_overflow <= 0

    response = Response.objects.get(invitation=invitation)
    assert response.stated_reason == Reason.PRICE
    assert response.contact_consent is True
    assert response.contact_channel == "phone"
    assert response.answers.get(question__position=4).text.endswith("постфактум.")
    assert response.answers.get(question__position=3).rating == 3
    print(
        f"Browser: Russian survey answered at 390 px; horizontal overflow form {form_overflow} px, "
        f"thank-you {thanks_overflow} px; response stored with reason {response.stated_reason}"
    )


def test_the_survey_works_without_javascript(browser, live_server):
    SurveySettings.load()
    customer = CustomerFactory(name="Piotr Nowak", language="pl")
    survey = _russian_survey()
    invitation = InvitationFactory(
        event=DefectionEventFactory(customer=customer), customer=customer, survey=survey, language="pl", status="sent"
    )
    token = mint_link(invitation, valid_days=30)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"/s/{token}/")
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    expect(page.get_by_text("Pytanie 1 z 5")).to_be_visible()
    page.get_by_label("Доставка").check()
    page.get_by_role("button", name="Wyślij odpowiedzi").click()
    expect(page.get_by_role("heading", name="Dziękujemy, Piotr!")).to_be_visible()
    context.close()
    assert Response.objects.get(invitation=invitation).stated_reason == Reason.DELIVERY
