"""Every URL of the site, walked from the URLconf: merchant pages need a login, no session form
skips CSRF, and only Evotor's JSON webhooks are CSRF-exempt. A page added later is covered
without anyone remembering to add it here."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

# Open to visitors on purpose.
PUBLIC_PREFIXES = (
    "health",
    "i18n/",
    "accounts/register",
    "accounts/confirm/",
    "accounts/login/",
    "accounts/logout/",
    "accounts/password/forgot/",
    "accounts/password/reset/",
    "accounts/invite/",
    "openapi.json",
    "docs",
    "redoc",
)
# Evotor's server calls these with the app secret, not a session (docs/contracts/evotor-api.md §7).
WEBHOOKS = {
    "user/create",
    "user/verify",
    "user/token",
    "installation/event",
    "subscription/event",
    # Change events (§7.5): signed with X-Hub-Signature; legacy v1 with the merchant's token.
    "evotor/events",
    "inventories/stores/<str:store_id>/products",
}
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern).startswith("admin/"):
                continue  # Django's admin: staff only, covered by its own tests
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def _concrete(route: str) -> str:
    """The route with each converter filled in with a value nobody owns."""

    def fill(match):
        return "999999" if match.group(1) == "int" else "nobodys"

    return "/" + CONVERTER.sub(fill, route).lstrip("^").rstrip("$")


ROUTES = sorted(_walk(get_resolver().url_patterns), key=lambda pair: pair[0])
MERCHANT = [
    (route, view)
    for route, view in ROUTES
    if route and not route.startswith(PUBLIC_PREFIXES) and route not in WEBHOOKS
]


def test_the_walk_finds_the_merchant_areas():
    routes = {route for route, _view in MERCHANT}
    for expected in ("sync/", "connections/vk/", "connections/evotor/", "accounts/profile/"):
        assert expected in routes
    assert any(r.startswith("catalog/") for r in routes)
    assert any(r.startswith("vk-catalog/") for r in routes)


@pytest.mark.parametrize(("route", "view"), MERCHANT, ids=[r for r, _v in MERCHANT])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_visitor_is_sent_to_log_in(client, route, view, method):
    url = _concrete(route)
    response = getattr(client, method)(url)
    assert response.status_code == 302, url
    assert response["Location"].startswith(reverse("accounts:login")), url


@pytest.mark.parametrize(("route", "view"), MERCHANT, ids=[r for r, _v in MERCHANT])
def test_no_merchant_view_is_csrf_exempt(route, view):
    assert not getattr(view, "csrf_exempt", False), route


def test_only_the_webhooks_and_the_get_only_health_check_are_csrf_exempt():
    # /health takes GET only; exempt so another method gets 405, not a CSRF 403 (issue 13, 16).
    exempt = {route for route, view in ROUTES if getattr(view, "csrf_exempt", False)}
    assert exempt == {*WEBHOOKS, "health"}


@pytest.mark.parametrize(("route", "view"), MERCHANT, ids=[r for r, _v in MERCHANT])
def test_a_signed_in_post_without_the_csrf_token_is_refused(owner, route, view):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(_concrete(route), {"next": "/"})
    assert response.status_code == 403, route


WITH_ID = [(route, view) for route, view in MERCHANT if "<" in route]
WITHOUT_ID = [(route, view) for route, view in MERCHANT if "<" not in route]


@pytest.mark.parametrize(("route", "view"), WITH_ID, ids=[r for r, _v in WITH_ID])
def test_another_merchants_id_in_a_url_is_a_404_not_a_crash(owner_client, route, view):
    response = owner_client.get(_concrete(route))
    assert response.status_code in (404, 405), route


@pytest.mark.parametrize(("route", "view"), WITHOUT_ID, ids=[r for r, _v in WITHOUT_ID])
def test_junk_in_the_query_string_never_crashes_a_page(owner_client, route, view):
    junk = {"page": "-1x", "status": "\x00", "action": "../../etc", "next": "//evil.example/"}
    response = owner_client.get(_concrete(route), junk)
    assert response.status_code < 500, route
    if response.status_code in (301, 302):
        assert "evil.example" not in response["Location"], route


def test_uploads_are_not_served_from_media_even_with_debug(settings):
    """A product photo is the merchant's: only the owner-checked views hand it out."""
    import importlib

    from django.urls import clear_url_caches

    import evosync.urls

    settings.DEBUG = True
    try:
        routes = [str(p.pattern) for p in importlib.reload(evosync.urls).urlpatterns]
    finally:
        settings.DEBUG = False
        importlib.reload(evosync.urls)
        clear_url_caches()
    assert not [route for route in routes if route.startswith("media")]
