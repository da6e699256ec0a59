"""SUR-05: twenty simultaneous submissions of one survey against the live server on PostgreSQL
store exactly one response; the others see the "already answered" page, with no error."""

import logging
import re
import threading

import pytest
import requests

from surveys.models import Answer, Response
from surveys.tests.test_public_support import VALID_ANSWERS, _fresh_rate_limits, make_invitation  # noqa: F401

pytestmark = [
    pytest.mark.usefixtures("short_lived_db_connections"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

THREADS = 20


def test_sur_05_twenty_simultaneous_submissions_store_one_response(live_server, caplog):
    caplog.set_level(logging.INFO)
    invitation, token = make_invitation()
    browser = requests.Session()
    form = browser.get(f"{live_server.url}/s/{token}/", timeout=10)
    assert form.status_code == 200
    assert form.url.endswith("/s/answer/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    cookies = browser.cookies.get_dict()

    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def submit():
        session = requests.Session()
        session.cookies.update(cookies)
        barrier.wait()
        response = session.post(
            f"{live_server.url}/s/answer/",
            data={**VALID_ANSWERS, "csrfmiddlewaretoken": csrf},
            headers={"Referer": f"{live_server.url}/s/answer/"},
            allow_redirects=False,
            timeout=30,
        )
        with lock:
            results.append((response.status_code, response.text))

    threads = [threading.Thread(target=submit) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _text in results)
    rows = Response.objects.filter(invitation=invitation).count()
    # The losers see the thank-you page ("already answered", or the plain thanks once the winner's
    # request has marked this shared session as just answered) — never the form, never an error.
    already = sum(1 for status, text in results if status == 200 and "Thank you" in text)
    server_errors = sum(1 for status in statuses if status >= 500)
    integrity_errors = caplog.text.count("IntegrityError")
    assert rows == 1
    assert Answer.objects.filter(response__invitation=invitation).count() == 6
    assert statuses.count(302) == 1
    assert already == THREADS - 1
    assert server_errors == 0
    assert integrity_errors == 0
    print(
        f"SUR-05: {THREADS} simultaneous POSTs: rows {rows}, stored 1 (302), already answered {already}, "
        f"5xx {server_errors}, IntegrityError in logs {integrity_errors}"
    )
