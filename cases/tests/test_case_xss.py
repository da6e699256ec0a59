"""SUR-09 extended to the case page (issue 5): the same ≥150 hostile payloads as the reviewer
inbox's check, stored as a customer's open-text survey answer, as call notes and as history
entries, rendered on the case page in headless Chromium. Every payload must show literally as
text, nothing may run (no dialog), template syntax must not be evaluated."""

import pytest
from django.urls import reverse

from cases.models import Activity, CaseEvent
from cases.services import history
from cases.tests.factories import CaseFactory
from conftest import sign_in
from surveys.tests.test_inbox_support import make_response, new_survey
from surveys.tests.test_inbox_xss import PAYLOADS, RECORDER
from winback.tests.factories import DEMO_TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PER_CASE = 5  # the activities panel shows the last five calls


def _normal(text: str) -> str:
    return " ".join(text.split())


def test_sur09_hostile_text_on_the_case_page_is_shown_as_text_and_never_runs(page, live_server):
    survey = new_survey()
    cases = []
    for start in range(0, len(PAYLOADS), PER_CASE):
        chunk = PAYLOADS[start : start + PER_CASE]
        case = CaseFactory()
        make_response(customer=case.customer, survey=survey, text=chunk[0], event_status="closed")
        for payload in chunk:
            Activity.objects.create(case=case, kind=Activity.Kind.CALL, actor=case.owner, notes=payload)
            history.record(case, CaseEvent.Kind.NOTE, payload, actor=case.owner)
        cases.append((case, chunk))
    owner = cases[0][0].owner
    owner.username = "xss-owner"
    owner.save()
    for case, _chunk in cases[1:]:
        case.followers.add(owner)

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(RECORDER)
    csp_violations = 0
    sign_in(page, "xss-owner", DEMO_TEST_PASSWORD)
    for case, chunk in cases:
        page.goto(reverse("cases:detail", args=[case.pk]))
        page.wait_for_load_state("load")
        csp_violations += page.evaluate("window.__csp || 0")
        answers = {_normal(text) for text in page.locator(".answer-text").all_inner_texts()}
        notes = {_normal(text) for text in page.locator(".activity-notes").all_inner_texts()}
        timeline = {_normal(text) for text in page.locator(".timeline-summary").all_inner_texts()}
        assert _normal(chunk[0]) in answers, chunk[0]
        for payload in chunk:
            assert _normal(payload) in notes, payload
            assert _normal(payload) in timeline, payload
    executions = len(dialogs)
    print(f"SUR-09 (case page): payloads={len(PAYLOADS)} executions={executions} csp_violations={csp_violations}")
    assert executions == 0, dialogs
