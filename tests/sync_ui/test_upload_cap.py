"""An upload larger than UPLOAD_MAX_REQUEST_BYTES is refused before it reaches the disk
(issue 13, item 11)."""

from __future__ import annotations

import pytest
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.urls import reverse

from sync.models import ProductPhoto
from tests.sync_ui.conftest import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def written_to_disk(monkeypatch):
    """Every file Django's temporary-file handler started writing."""
    started = []
    real = TemporaryFileUploadHandler.new_file

    def spy(self, *args, **kwargs):
        started.append(args[1] if len(args) > 1 else kwargs.get("file_name"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(TemporaryFileUploadHandler, "new_file", spy)
    return started


def test_a_huge_photo_is_refused_before_it_is_written(owner_client, shop, written_to_disk):
    url = reverse("sync:photo_upload", args=[shop.store_id, "group", shop.groups["Выпечка"]])
    huge = upload("huge.png", content=b"\x89PNG" + b"\0" * (30 * 1024 * 1024))
    response = owner_client.post(url, {"image": huge})
    assert response.status_code == 400
    assert written_to_disk == []
    assert not ProductPhoto.objects.exists()


def test_a_photo_under_the_cap_is_still_taken(owner_client, shop):
    url = reverse("sync:photo_upload", args=[shop.store_id, "group", shop.groups["Выпечка"]])
    owner_client.post(url, {"image": upload("bakery.png")})
    assert ProductPhoto.objects.filter(entity_type="group").exists()
