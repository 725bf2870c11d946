"""Admin titles and counts that read right in Russian.

Django's admin puts a model's `verbose_name` into fixed sentences: «Выберите %s для
изменения», «Добавить %s», and «2 <verbose_name_plural>» under a changelist. Russian needs the
accusative there («Выберите пользователя», not «пользователь») and three plural forms for a
count («2 запуска», «5 запусков»), which one `verbose_name_plural` cannot give (issue 12:
«Выберите пользователь для изменения», «2 запуски публикации», «Выберите Задача в очереди»).

So each model shown in the admin names its accusative (`pgettext` context "accusative") and
its counted forms (`ngettext`) here; `decline_admin_names(site)` (EvosyncConfig.ready) makes
every registered ModelAdmin, ours and third-party, use them for the changelist and form
titles, the "Add …" button (templates/admin/change_list_object_tools.html) and the result
count (templates/admin/pagination.html). It also names the `user` column of models whose
field has Django's automatic verbose name, which the admin showed as a raw "USER".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class AdminNames:
    accusative: object  # a lazy string
    count: Callable[[int], str]


def _names(accusative, count) -> AdminNames:
    return AdminNames(accusative, count)


NAMES: dict[str, AdminNames] = {
    "accounts.user": _names(
        pgettext_lazy("accusative", "user"),
        lambda n: ngettext("%(count)d user", "%(count)d users", n),
    ),
    "auth.group": _names(
        pgettext_lazy("accusative", "group"),
        lambda n: ngettext("%(count)d group", "%(count)d groups", n),
    ),
    "connections.evotorconnection": _names(
        pgettext_lazy("accusative", "Evotor connection"),
        lambda n: ngettext("%(count)d Evotor connection", "%(count)d Evotor connections", n),
    ),
    "connections.vkconnection": _names(
        pgettext_lazy("accusative", "VK connection"),
        lambda n: ngettext("%(count)d VK connection", "%(count)d VK connections", n),
    ),
    "catalog.cachedstore": _names(
        pgettext_lazy("accusative", "Evotor store"),
        lambda n: ngettext("%(count)d Evotor store", "%(count)d Evotor stores", n),
    ),
    "catalog.cachedgroup": _names(
        pgettext_lazy("accusative", "Evotor product group"),
        lambda n: ngettext("%(count)d Evotor product group", "%(count)d Evotor product groups", n),
    ),
    "catalog.cachedproduct": _names(
        pgettext_lazy("accusative", "Evotor product"),
        lambda n: ngettext("%(count)d Evotor product", "%(count)d Evotor products", n),
    ),
    "catalog.catalogrefresh": _names(
        pgettext_lazy("accusative", "catalog refresh"),
        lambda n: ngettext("%(count)d catalog refresh", "%(count)d catalog refreshes", n),
    ),
    "catalog.syncfilter": _names(
        pgettext_lazy("accusative", "publishing filter"),
        lambda n: ngettext("%(count)d publishing filter", "%(count)d publishing filters", n),
    ),
    "vk_catalog.vkcachedalbum": _names(
        pgettext_lazy("accusative", "VK album (copy)"),
        lambda n: ngettext("%(count)d VK album (copy)", "%(count)d VK albums (copies)", n),
    ),
    "vk_catalog.vkcachedproduct": _names(
        pgettext_lazy("accusative", "VK item (copy)"),
        lambda n: ngettext("%(count)d VK item (copy)", "%(count)d VK items (copies)", n),
    ),
    "vk_catalog.vkcatalogrefresh": _names(
        pgettext_lazy("accusative", "VK catalog refresh"),
        lambda n: ngettext("%(count)d VK catalog refresh", "%(count)d VK catalog refreshes", n),
    ),
    "sync.syncrun": _names(
        pgettext_lazy("accusative", "sync run"),
        lambda n: ngettext("%(count)d sync run", "%(count)d sync runs", n),
    ),
    "sync.syncrunitem": _names(
        pgettext_lazy("accusative", "sync run item"),
        lambda n: ngettext("%(count)d sync run item", "%(count)d sync run items", n),
    ),
    "sync.itemlink": _names(
        pgettext_lazy("accusative", "published product"),
        lambda n: ngettext("%(count)d published product", "%(count)d published products", n),
    ),
    "sync.albumlink": _names(
        pgettext_lazy("accusative", "published album"),
        lambda n: ngettext("%(count)d published album", "%(count)d published albums", n),
    ),
    "sync.syncsettings": _names(
        pgettext_lazy("accusative", "sync settings"),
        lambda n: ngettext("%(count)d sync settings", "%(count)d sync settings", n),
    ),
    "sync.alert": _names(
        pgettext_lazy("accusative", "alert"),
        lambda n: ngettext("%(count)d alert", "%(count)d alerts", n),
    ),
    "sync.productphoto": _names(
        pgettext_lazy("accusative", "uploaded photo"),
        lambda n: ngettext("%(count)d uploaded photo", "%(count)d uploaded photos", n),
    ),
    "sync.synclock": _names(
        pgettext_lazy("accusative", "sync lock"),
        lambda n: ngettext("%(count)d sync lock", "%(count)d sync locks", n),
    ),
    "sync.adoptiondecision": _names(
        pgettext_lazy("accusative", "adoption answer"),
        lambda n: ngettext("%(count)d adoption answer", "%(count)d adoption answers", n),
    ),
    "webhooks.evotorevent": _names(
        pgettext_lazy("accusative", "Evotor event"),
        lambda n: ngettext("%(count)d Evotor event", "%(count)d Evotor events", n),
    ),
    "django_q.schedule": _names(
        pgettext_lazy("accusative", "scheduled task"),
        lambda n: ngettext("%(count)d scheduled task", "%(count)d scheduled tasks", n),
    ),
    "django_q.failure": _names(
        pgettext_lazy("accusative", "failed task"),
        lambda n: ngettext("%(count)d failed task", "%(count)d failed tasks", n),
    ),
    "django_q.success": _names(
        pgettext_lazy("accusative", "successful task"),
        lambda n: ngettext("%(count)d successful task", "%(count)d successful tasks", n),
    ),
    "django_q.ormq": _names(
        pgettext_lazy("accusative", "queued task"),
        lambda n: ngettext("%(count)d queued task", "%(count)d queued tasks", n),
    ),
    "axes.accessattempt": _names(
        pgettext_lazy("accusative", "access attempt"),
        lambda n: ngettext("%(count)d access attempt", "%(count)d access attempts", n),
    ),
    "axes.accesslog": _names(
        pgettext_lazy("accusative", "access log entry"),
        lambda n: ngettext("%(count)d access log entry", "%(count)d access log entries", n),
    ),
    "axes.accessfailurelog": _names(
        pgettext_lazy("accusative", "access failure"),
        lambda n: ngettext("%(count)d access failure", "%(count)d access failures", n),
    ),
}

USER_COLUMN = _("user")


def names_for(model) -> AdminNames | None:
    return NAMES.get(model._meta.label_lower)


def _changelist_title(cl, request, accusative) -> str:
    """ChangeList.title with the accusative (the same three cases as Django's)."""
    if cl.is_popup:
        return gettext("Select %s") % accusative
    if cl.model_admin.has_change_permission(request):
        return gettext("Select %s to change") % accusative
    return gettext("Select %s to view") % accusative


def _decline(model_admin, names: AdminNames) -> None:
    original_changelist = model_admin.get_changelist_instance
    original_changeform = model_admin.changeform_view

    def get_changelist_instance(request):
        cl = original_changelist(request)
        cl.title = _changelist_title(cl, request, names.accusative)
        cl.evosync_count = names.count(cl.result_count) % {"count": cl.result_count}
        cl.evosync_add = gettext("Add %s") % names.accusative
        return cl

    def changeform_view(request, object_id=None, form_url="", extra_context=None):
        if object_id is None:
            title = gettext("Add %s")
        elif model_admin.has_change_permission(request):
            title = gettext("Change %s")
        else:
            title = gettext("View %s")
        extra = {"title": title % names.accusative, **(extra_context or {})}
        return original_changeform(request, object_id, form_url, extra)

    model_admin.get_changelist_instance = get_changelist_instance
    model_admin.changeform_view = changeform_view
    model_admin._evosync_declined = True


def decline_admin_names(site) -> None:
    """Apply NAMES to every ModelAdmin registered on `site` (once)."""
    for model, model_admin in site._registry.items():
        user = next((f for f in model._meta.fields if f.name == "user"), None)
        if user is not None and str(user.verbose_name) == "user":
            # Django's automatic name is a plain English string, never translated.
            user.verbose_name = USER_COLUMN
        names = names_for(model)
        if names is None or getattr(model_admin, "_evosync_declined", False):
            continue
        _decline(model_admin, names)
