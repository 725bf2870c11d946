"""The frame every page shares (templates/base.html): tab titles, the grouped navigation with
its menu button, the vendored icons and htmx (no CDN), each with its licence."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.urls import reverse

from tests.foundation.helpers import BASE_DIR

pytestmark = pytest.mark.django_db


def _title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1)


def test_a_tab_reads_page_dash_evosync(client):
    html = client.get(reverse("accounts:login")).content.decode()
    assert _title(html) == "Войти — EvoSync"


def test_a_logged_in_page_has_its_own_title(owner_client):
    html = owner_client.get(reverse("accounts:profile")).content.decode()
    assert _title(html) == "Профиль — EvoSync"


def test_a_page_without_a_title_block_reads_evosync_alone():
    template = Template(
        "{% load site_tags %}{% page_title %}{% block title %}{% endblock %}{% endpage_title %}"
    )
    assert template.render(Context()) == "EvoSync"


def test_the_title_keeps_the_escaping_of_the_page():
    template = Template("{% load site_tags %}{% page_title %} {{ name }}\n{% endpage_title %}")
    assert template.render(Context({"name": "<b>"})) == "&lt;b&gt; — EvoSync"


def test_connections_and_settings_are_grouped_under_one_menu(owner_client):
    html = owner_client.get(reverse("accounts:profile")).content.decode()
    top, _, submenu = html.partition('class="submenu-list"')
    for url in ("sync:dashboard", "catalog:stores", "vk_catalog:albums", "sync:runs"):
        assert f'href="{reverse(url)}"' in top
    for url in ("connections:evotor", "connections:vk", "sync:settings", "accounts:profile"):
        assert f'href="{reverse(url)}"' in submenu
        assert f'href="{reverse(url)}"' not in top.split('class="main-nav"')[1]
    assert 'href="/admin/' not in html, "the admin link is for staff only"
    assert reverse("accounts:logout") in submenu


def test_the_menu_is_a_disclosure_that_works_without_javascript(owner_client):
    html = owner_client.get(reverse("accounts:profile")).content.decode()
    menu = re.search(
        r'<details class="site-menu"[^>]*>\s*<summary class="menu-button">(.*?)</summary>',
        html,
        re.S,
    )
    assert menu and "Меню" in menu.group(1)
    # The navigation sits inside the disclosure: the button opens it, without a script.
    assert (
        html.index('class="site-menu"') < html.index('class="main-nav"') < html.index("</details>")
    )


def test_the_current_page_is_marked_in_the_navigation(owner_client):
    html = owner_client.get(reverse("sync:runs")).content.decode()
    assert f'href="{reverse("sync:runs")}" aria-current="page"' in html
    assert f'href="{reverse("sync:dashboard")}" aria-current' not in html


def test_staff_see_the_administration_in_the_menu(staff_client):
    html = staff_client.get(reverse("accounts:profile")).content.decode()
    submenu = html.partition('class="submenu-list"')[2]
    assert 'href="/admin/"' in submenu


def test_icons_come_from_the_vendored_sprite_and_are_hidden_from_screen_readers(owner_client):
    html = owner_client.get(reverse("accounts:profile")).content.decode()
    icons = re.findall(r'<svg class="icon"([^>]*)><use href="([^"]+)"></use></svg>', html)
    assert icons
    sprite = (BASE_DIR / "static/vendor/lucide/sprite.svg").read_text()
    for attributes, href in icons:
        assert 'aria-hidden="true"' in attributes
        path, _, name = href.partition("#")
        assert path == "/static/vendor/lucide/sprite.svg"
        assert f'<symbol id="{name}" ' in sprite


@pytest.mark.parametrize("package", ["htmx", "lucide"])
def test_vendored_front_end_packages_carry_their_licence(package):
    assert (BASE_DIR / "static/vendor" / package / "LICENSE").is_file()


def test_htmx_is_served_by_evosync_with_its_indicator_styles_off(client):
    html = client.get(reverse("accounts:login")).content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts[0] == "/static/vendor/htmx/htmx.min.js"
    assert all(src.startswith("/static/") for src in scripts)
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', html).group(1)
    assert '"includeIndicatorStyles": false' in config
