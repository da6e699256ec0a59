"""Every staff page requires sign-in: enumerate the URLconf so a new page cannot forget it."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {
    "healthz",
    "healthz_ready",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    # The exit survey and unsubscribe pages (a personal token, no sign-in) and the mail provider's
    # webhook (HTTP basic auth).
    "surveys:open",
    "surveys:answer",
    "surveys:new_link",
    "surveys:unsubscribe",
    "surveys:anymail_tracking",
}


def _patterns(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # the Django admin has its own sign-in; checked below
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern)


def _concrete(route: str) -> str:
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<(?:str|slug):\w+>", "x", route)
    route = re.sub(r"<uidb64>|<token>", "x", route)
    return "/" + route.lstrip("^").rstrip("$")


STAFF_PAGES = sorted((name, _concrete(route)) for name, route in _patterns(get_resolver()) if name not in PUBLIC)


def test_the_staff_page_list_is_not_empty():
    assert len(STAFF_PAGES) >= 15


@pytest.mark.parametrize(("name", "url"), STAFF_PAGES)
def test_every_staff_page_sends_anonymous_visitors_to_sign_in(client, db, name, url):
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code in (302, 405), (name, url, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/"), (name, url)


def test_the_django_admin_needs_a_staff_sign_in(client, db):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
