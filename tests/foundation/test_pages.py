"""The base layout, navigation, messages, error pages, language switch and chat widget."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from tests.foundation.helpers import BASE_DIR

pytestmark = pytest.mark.django_db


def test_home_sends_a_visitor_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")


def test_home_sends_a_logged_in_merchant_to_the_sync_dashboard(owner_client):
    """The dashboard is the merchant's home page."""
    response = owner_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("sync:dashboard")
    assert owner_client.get(response["Location"]).status_code == 200


def test_visitor_navigation_offers_login_and_sign_up(client):
    html = client.get(reverse("accounts:login")).content.decode()
    assert f'href="{reverse("accounts:login")}"' in html
    assert f'href="{reverse("accounts:register")}"' in html
    assert 'action="/i18n/setlang/"' in html


def test_merchant_navigation_offers_profile_and_logout_but_not_the_admin(owner_client):
    html = owner_client.get(reverse("accounts:profile")).content.decode()
    assert f'href="{reverse("accounts:profile")}"' in html
    assert f'action="{reverse("accounts:logout")}"' in html
    assert f'href="{reverse("admin:index")}"' not in html


def test_staff_navigation_links_the_admin(staff_client):
    html = staff_client.get(reverse("accounts:profile")).content.decode()
    assert f'href="{reverse("admin:index")}"' in html


def test_flash_messages_are_shown_once_after_the_redirect(client, foundation_urls):
    shown = client.get("/test-foundation/flash", follow=True).content.decode()
    assert 'class="message message-success"' in shown
    assert "Your settings were saved." in shown
    assert "Your settings were saved." not in client.get("/test-foundation/page").content.decode()


def test_unknown_address_shows_the_friendly_404(production_errors):
    response = production_errors.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Страница не найдена" in html
    assert 'href="/"' in html
    assert "Traceback" not in html


def test_forbidden_page_shows_the_friendly_403(production_errors):
    response = production_errors.get("/test-foundation/forbidden")
    assert response.status_code == 403
    assert "Доступ запрещён" in response.content.decode()


def test_a_crash_shows_the_friendly_500_without_details(production_errors):
    response = production_errors.get("/test-foundation/error")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Что-то пошло не так" in html
    assert "a bug in a view" not in html
    assert "RuntimeError" not in html


def test_language_switch_turns_the_site_english_and_back(client):
    login = reverse("accounts:login")
    assert '<html lang="ru">' in client.get(login).content.decode()

    response = client.post("/i18n/setlang/", {"language": "en", "next": login})
    assert response.status_code == 302
    assert response["Location"] == login
    english = client.get(login).content.decode()
    assert '<html lang="en">' in english
    assert "Sign up" in english

    client.post("/i18n/setlang/", {"language": "ru", "next": login})
    russian = client.get(login).content.decode()
    assert '<html lang="ru">' in russian
    assert "Зарегистрироваться" in russian


def test_language_switch_is_on_every_page_even_errors(production_errors):
    html = production_errors.get("/no-such-page/").content.decode()
    assert 'name="language"' in html
    assert '<option value="en"' in html


def _render_base(settings, widget_id):
    settings.JIVOSITE_WIDGET_ID = widget_id
    request = RequestFactory().get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    return render_to_string("base.html", request=request)


def test_chat_widget_appears_when_configured(settings):
    html = _render_base(settings, "AbC123xyz")
    assert '<script src="https://code.jivosite.com/widget/AbC123xyz" async></script>' in html


def test_no_chat_widget_and_no_external_script_without_it(settings):
    html = _render_base(settings, "")
    assert "jivosite" not in html
    assert _external_assets(html) == []


def _external_assets(html: str) -> list[str]:
    """src/href of scripts, stylesheets, images and fonts that are not served by us."""
    found = re.findall(
        r"<(?:script|link|img|iframe|source)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", html
    )
    return [url for url in found if re.match(r"^(?:[a-z]+:)?//", url, re.IGNORECASE)]


def test_no_template_loads_assets_from_a_cdn():
    """Every script, stylesheet, font and image is served by EvoSync (JivoSite aside)."""
    offenders = []
    for path in sorted(BASE_DIR.glob("**/templates/**/*.html")):
        if ".venv" in path.parts:
            continue
        for url in _external_assets(path.read_text(encoding="utf-8")):
            if "code.jivosite.com/widget/" not in url:
                offenders.append(f"{path.relative_to(BASE_DIR)}: {url}")
    for path in sorted((BASE_DIR / "static").glob("**/*.css")):
        for url in re.findall(r"url\(\s*['\"]?((?:[a-z]+:)?//[^'\")]+)", path.read_text()):
            offenders.append(f"{path.relative_to(BASE_DIR)}: {url}")
    assert offenders == []


def test_the_admin_is_branded_evosync_not_django(staff_client):
    from django.contrib import admin
    from django.utils import translation

    html = staff_client.get(reverse("admin:index")).content.decode()
    with translation.override("ru"):
        header, title = str(admin.site.site_header), str(admin.site.site_title)
    assert f">{header}</a>" in html
    assert f"| {title}</title>" in html
    assert "Django" not in html.split("<body", 1)[1].split("</header>", 1)[0]


CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


def _admin_index_labels(client, language: str) -> list[str]:
    """The app and model names on the admin index, as read in `language`."""
    from django.utils import translation

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    app_list = client.get(reverse("admin:index")).context["app_list"]
    with translation.override(language):  # the names are lazy: read them in that language
        return [str(app["name"]) for app in app_list] + [
            str(model["name"]) for app in app_list for model in app["models"]
        ]


def test_the_admin_index_names_every_app_and_model_in_russian(client):
    """The sidebar and index of the admin read in Russian, app names included (no "CATALOG")."""
    from accounts.models import Role
    from tests.conftest import make_user

    client.force_login(make_user("root@example.ru", role=Role.SYSTEM))
    russian = _admin_index_labels(client, "ru")
    english = _admin_index_labels(client, "en")

    assert {"Каталог Эвотора", "Подключения", "Вебхуки Эвотора", "Каталог ВКонтакте"} <= set(
        russian
    )
    assert [label for label in russian if not CYRILLIC.search(label)] == []
    assert set(russian).isdisjoint(english)


def test_every_project_app_has_a_translated_name():
    from django.apps import apps
    from django.utils import translation

    ours = [
        config
        for config in apps.get_app_configs()
        if Path(config.path).parent == BASE_DIR
        and config.name != "evosync"  # the project package: no models, not in the admin
    ]
    assert {config.label for config in ours} >= {"catalog", "connections", "sandbox", "webhooks"}
    with translation.override("ru"):
        names = {config.label: str(config.verbose_name) for config in ours}
    assert [label for label, name in names.items() if not CYRILLIC.search(name)] == []
