"""Fixtures shared by every app's tests: one signed-in client per role."""

import re

import pytest

from winback.tests.factories import UserFactory


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", role="Account managers")


@pytest.fixture
def other_manager(db):
    return UserFactory(username="manager2", role="Account managers")


@pytest.fixture
def executive(db):
    return UserFactory(username="exec", role="Executives")


@pytest.fixture
def administrator(db):
    return UserFactory(username="admin", role="Administrators")


def _client_for(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def manager_client(client, manager):
    return _client_for(client, manager)


@pytest.fixture
def executive_client(client, executive):
    return _client_for(client, executive)


@pytest.fixture
def admin_client(client, administrator):
    return _client_for(client, administrator)


@pytest.fixture
def role_user(request, db):
    """Parametrize with indirect=True over "manager", "executive", "administrator"."""
    return request.getfixturevalue(request.param)


# Browser tests drive Debian's Chromium through Playwright (no browser download).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def short_lived_db_connections():
    """For tests where the live server's threads write to the database the test reads (or many
    threads at once): every request closes its connection, so none outlives the test and blocks
    dropping the test database."""
    from django.db import connection

    settings_dict = connection.settings_dict
    saved = settings_dict["CONN_MAX_AGE"]
    settings_dict["CONN_MAX_AGE"] = 0
    yield
    settings_dict["CONN_MAX_AGE"] = saved


@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in
    # a thread with a running loop unless told it is safe (it is: the loop is Playwright's own).
    import os

    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


# The figures of the RELIABILITY.md checks: every check's test prints a line starting with its ID
# ("JOB-01: delivered=…"); the end of the run lists them, and the IDs that printed none.
CHECK_LINE = re.compile(r"^((?:AUTHZ|CFG|IMP|JOB|PRIV|SUR)-\d\d)\b.*$", re.MULTILINE)
_check_figures: dict[str, list[str]] = {}


def pytest_runtest_logreport(report):
    if report.when != "call" or not report.passed:
        return
    for name, content in report.sections:
        if "stdout" in name:
            for match in CHECK_LINE.finditer(content):
                _check_figures.setdefault(match.group(1), []).append(match.group(0).strip())


def pytest_terminal_summary(terminalreporter):
    if not _check_figures:
        return
    terminalreporter.section("RELIABILITY.md checks: figures printed by passing tests")
    for check in sorted(_check_figures, key=lambda c: (c.split("-")[0], int(c.split("-")[1]))):
        for line in _check_figures[check]:
            terminalreporter.write_line(line[:300])
