"""`manage.py seed_demo`: the demo merchant, against the in-process sandboxes."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from PIL import Image

from accounts.models import Status, User
from catalog.filters import sync_filter_set
from catalog.models import CachedProduct, CachedStore
from connections.models import ConnectionState, EvotorConnection, VkConnection
from sync.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD, VK_DEMO_GROUP_ID
from sync.models import SyncSettings
from sync.plan.preview import sync_run_preview
from vk_catalog.models import VkCatalogRefresh

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_seed_demo_makes_a_merchant_ready_to_publish_and_prints_the_login(
    evotor_sandbox, vk_sandbox, settings, client, media
):
    vk_sandbox.set_rate_limit(100)
    settings.VK_REQUESTS_PER_SECOND = 50
    output = seed()
    assert DEMO_EMAIL in output and DEMO_PASSWORD in output
    user = User.objects.get(email=DEMO_EMAIL)
    assert user.status == Status.ACTIVE
    evotor = EvotorConnection.objects.get(user=user)
    vk = VkConnection.objects.get(user=user)
    assert evotor.is_usable
    assert vk.group_id == VK_DEMO_GROUP_ID and vk.state == ConnectionState.OK
    assert CachedStore.objects.filter(user=user).count() == 3
    assert CachedProduct.objects.filter(user=user).exists()
    assert VkCatalogRefresh.objects.filter(user=user, status="ok").exists()
    assert SyncSettings.objects.get(user=user).vk_category_id is not None
    login = client.post(
        reverse("accounts:login"), {"username": DEMO_EMAIL, "password": DEMO_PASSWORD}
    )
    assert login.status_code == 302

    # A default photo (800×800 JPEG): every product of the demo catalog can be published.
    photo = SyncSettings.objects.get(user=user).default_photo
    with Image.open(photo.path) as image:
        assert (image.format, image.size) == ("JPEG", (800, 800))
    for store in CachedStore.objects.filter(user=user):
        sync_filter_set(user=user, entity_type="store", entity_id=store.evotor_id, enabled=True)
    plan = sync_run_preview(user=user)
    assert plan.counts["create"] == CachedProduct.objects.filter(user=user).count()
    assert plan.counts["photo_unchecked"] == 0
    assert not [item for item in plan.flagged if "no_photo" in item.flags]

    # Idempotent: a second run changes nothing it should not, and the password still works.
    user.set_password("something-else")
    user.save()
    products = CachedProduct.objects.filter(user=user).count()
    seed("--no-refresh")
    assert User.objects.filter(email=DEMO_EMAIL).count() == 1
    assert EvotorConnection.objects.filter(user=user).count() == 1
    assert VkConnection.objects.filter(user=user).count() == 1
    assert SyncSettings.objects.filter(user=user).count() == 1
    assert CachedProduct.objects.filter(user=user).count() == products
    assert SyncSettings.objects.get(user=user).default_photo.name == photo.name  # not redone
    user.refresh_from_db()
    assert user.check_password(DEMO_PASSWORD)


def test_seed_demo_keeps_a_default_photo_the_merchant_chose(evotor_sandbox, vk_sandbox, media):
    from django.core.files.base import ContentFile

    from tests.sync_ui.conftest import image_bytes

    seed("--no-refresh")
    settings_obj = SyncSettings.objects.get(user__email=DEMO_EMAIL)
    settings_obj.default_photo.save("mine.png", ContentFile(image_bytes((600, 600))))
    mine = settings_obj.default_photo.name
    seed("--no-refresh")
    assert SyncSettings.objects.get(pk=settings_obj.pk).default_photo.name == mine
    # A photo whose file went missing is made again.
    settings_obj.default_photo.storage.delete(mine)
    seed("--no-refresh")
    renewed = SyncSettings.objects.get(pk=settings_obj.pk).default_photo
    assert renewed.name != mine and renewed.storage.exists(renewed.name)


def test_seed_demo_refuses_to_talk_to_the_real_apis(settings):
    settings.EVOTOR_API_URL = "https://api.evotor.ru"
    settings.VK_API_URL = "https://api.vk.com/method"
    with pytest.raises(CommandError, match="sandbox"):
        seed()
    assert not User.objects.filter(email=DEMO_EMAIL).exists()
