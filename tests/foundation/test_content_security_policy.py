"""A strict Content-Security-Policy, and templates that need nothing more (issue 13, item 11)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.foundation.helpers import BASE_DIR, clean_env, settings_values

pytestmark = pytest.mark.django_db

TEMPLATE_DIRS = [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]
# E-mails are not pages: mail clients need inline styles, and no CSP applies to them.
PAGES = sorted(
    path
    for folder in TEMPLATE_DIRS
    for path in folder.rglob("*.html")
    if "/email/" not in str(path)
)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.mark.parametrize("persona", [None, "owner"])
def test_pages_carry_a_self_only_policy(client, request, persona):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    response = client.get(
        reverse("accounts:login") if persona is None else reverse("sync:dashboard")
    )
    rules = policy(response)
    assert rules["default-src"] == ["'self'"]
    assert rules["script-src"] == ["'self'"]
    assert rules["style-src"] == ["'self'"]
    assert rules["frame-ancestors"] == ["'none'"]
    assert rules["object-src"] == ["'none'"]
    # VK's thumbnails on the VK catalog pages, and nothing inline.
    assert {"'self'", "https://*.userapi.com"} <= set(rules["img-src"])


def test_the_sandboxs_pictures_are_allowed_when_vk_api_url_points_at_it(client, owner, settings):
    settings.VK_API_URL = "http://127.0.0.1:8001/vk/method"
    client.force_login(owner)
    assert "http://127.0.0.1:8001" in policy(client.get(reverse("sync:dashboard")))["img-src"]


def test_forms_may_post_only_to_us_and_to_vk_id_for_the_one_click_connect(client, owner, settings):
    # "Connect VK" answers with a redirect to VK ID's authorization page, and browsers hold
    # that redirect to form-action too.
    settings.VK_ID_URL = "https://id.vk.com"
    client.force_login(owner)
    rules = policy(client.get(reverse("sync:dashboard")))
    assert rules["form-action"] == ["'self'", "https://id.vk.com"]


@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(BASE_DIR)) for p in PAGES])
def test_no_page_template_has_inline_script_style_or_handlers(path):
    text = path.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"<style\b", text), "<style> element"
    assert not re.search(r"\sstyle=\"", text), "style attribute"
    assert not re.search(r"\son[a-z]+=\"", text), "event handler attribute"


def test_the_jivosite_widget_is_allowed_only_when_configured(tmp_path):
    off = settings_values(clean_env(tmp_path, DEBUG="true"), "CONTENT_SECURITY_POLICY")
    on = settings_values(
        clean_env(tmp_path, DEBUG="true", JIVOSITE_WIDGET_ID="abc123"), "CONTENT_SECURITY_POLICY"
    )
    assert "jivosite" not in str(off)
    directives = on["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert "https://*.jivosite.com" in directives["script-src"]
    assert "wss://*.jivosite.com" in directives["connect-src"]
