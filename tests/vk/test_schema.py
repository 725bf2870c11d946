"""The sandbox's answers and the client's requests, checked against VK's own JSON schema
(vendored in tests/vk/vk_api_schema/, see tests/vk/vk_schema.py)."""

import json
from decimal import Decimal

import pytest
import requests
from django.conf import settings
from jsonschema import ValidationError

from connections.vk_client import VkCall, VkRef
from connections.vk_photos import normalize_product_image
from tests.vk import vk_schema

OWNER = -200001


def api(method, **params):
    data = {"v": "5.199", "access_token": "vk-demo-token", **params}
    return requests.post(f"{settings.VK_API_URL}/{method}", data=data, timeout=5).json()


def checked(method, **params):
    body = api(method, **params)
    assert "response" in body, body
    vk_schema.validate_response(method, body, extended=params.get("extended") == 1)
    return body["response"]


def test_sandbox_answers_match_the_schema(vk, vk_client, evotor_png):
    upload_url = checked("market.getProductPhotoUploadServer", group_id=200001)["upload_url"]
    answer = vk_client.upload_photo(upload_url, normalize_product_image(evotor_png))
    photo_id = checked("market.saveProductPhoto", upload_response=answer)["photo_id"]
    item_id = checked(
        "market.add",
        owner_id=OWNER,
        name="Пирожок с капустой",
        description="Свежий пирожок с капустой",
        category_id=40001,
        price="45.50",
        old_price="60",
        main_photo_id=photo_id,
        sku="PIR-1",
        dimension_width=10,
        dimension_height=5,
        dimension_length=12,
        weight=120,
    )["market_item_id"]
    album = checked("market.addAlbum", owner_id=OWNER, title="Выпечка", photo_id=photo_id)
    album_id = album["market_album_id"]
    checked("market.addToAlbum", owner_id=OWNER, item_ids=item_id, album_ids=album_id)
    checked("market.edit", owner_id=OWNER, item_id=item_id, price="50", deleted=1)
    for extended in (0, 1):
        page = checked("market.get", owner_id=OWNER, extended=extended, with_disabled=1)
        assert page["count"] == 1
        checked("market.getById", item_ids=f"{OWNER}_{item_id}", extended=extended)
    checked("market.getAlbums", owner_id=OWNER)
    checked("market.getAlbumById", owner_id=OWNER, album_ids=album_id)
    checked("market.editAlbum", owner_id=OWNER, album_id=album_id, title="Свежая выпечка")
    checked("market.getCategories")
    checked("market.removeFromAlbum", owner_id=OWNER, item_id=item_id, album_ids=album_id)
    checked("market.delete", owner_id=OWNER, item_id=item_id)
    checked("market.restore", owner_id=OWNER, item_id=item_id)
    checked("market.deleteAlbum", owner_id=OWNER, album_id=album_id)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("market.get", {"owner_id": 5}),
        ("market.add", {"owner_id": OWNER, "name": "abc"}),
        ("market.edit", {"owner_id": OWNER, "item_id": 404}),
        ("market.get", {"owner_id": -200002}),
    ],
)
def test_sandbox_errors_match_the_schema(vk, method, params):
    body = api(method, **params)
    vk_schema.validate_error(body["error"])


def test_captcha_error_matches_the_schema_with_its_extra_fields(vk):
    vk.fail(14)
    vk_schema.validate_error(api("market.getCategories")["error"])


def test_the_tolerated_gaps_are_exactly_the_documented_ones(vk):
    production_item = api("market.getById", item_ids=f"{OWNER}_1")  # nothing there yet
    assert production_item["response"]["count"] == 0
    bad = {"response": {"count": 1, "items": [{"id": 1, "owner_id": OWNER, "title": "x"}]}}
    with pytest.raises(ValidationError):  # still strict about what VK requires
        vk_schema.validate_response("market.getById", bad)
    with pytest.raises(ValidationError):
        vk_schema.validate_error({"error_msg": "no code"})


def test_client_requests_match_the_schema(vk, vk_client, group_id, evotor_png):
    """A publisher-like session through every client helper; then each call the sandbox saw,
    inside `execute` too, is checked against the method's parameters in the schema."""
    upload_url = vk_client.get_upload_urls(group_id, 2)[0]
    answer = vk_client.upload_photo(upload_url, normalize_product_image(evotor_png))
    extra_photo = vk_client.upload_product_photo(group_id, evotor_png)
    results = vk_client.execute(
        [
            vk_client.save_product_photo_call(answer),
            VkCall(
                "market.add",
                {
                    "owner_id": OWNER,
                    "name": "Кекс «Столичный» 🎂",
                    "description": 'Кекс с изюмом, 300 г. "Вкусно"\nсвежий',
                    "category_id": 40001,
                    "price": Decimal("199.90"),
                    "old_price": Decimal("250"),
                    "main_photo_id": VkRef(0, "photo_id"),
                    "photo_ids": [extra_photo],
                    "sku": "KEKS-300",
                    "deleted": False,
                    "url": None,
                },
            ),
            VkCall("market.addAlbum", {"owner_id": OWNER, "title": "Выпечка", "main_album": True}),
            VkCall(
                "market.addToAlbum",
                {
                    "owner_id": OWNER,
                    "item_ids": [VkRef(1, "market_item_id")],
                    "album_ids": [VkRef(2, "market_album_id")],
                },
            ),
        ]
    )
    assert all(r.ok for r in results), [r.error for r in results]
    item_id = results[1].value["market_item_id"]
    for result in results:
        vk_schema.validate_response(result.call.method, {"response": result.value})
    vk_client.call(
        "market.edit", owner_id=OWNER, item_id=item_id, price=Decimal("180"), deleted=True
    )
    vk_client.call("market.getById", item_ids=[f"{OWNER}_{item_id}"], extended=True)
    assert [i.id for i in vk_client.iter_items(OWNER)] == [item_id]
    assert len(list(vk_client.iter_albums(OWNER))) == 1
    vk_client.call("market.delete", owner_id=OWNER, item_id=item_id)
    vk_client.call("market.getCategories")

    seen = {method for method, _params in vk.call_log}
    assert {"market.add", "market.saveProductPhoto", "market.addToAlbum", "market.get"} <= seen
    problems = []
    for method, params in vk.call_log:
        if method == "execute":
            assert set(params) == {"code", "v"}
            continue
        problems += vk_schema.parameter_problems(method, params)
    assert problems == []


def test_parameter_checker_catches_what_vk_would_refuse():
    assert sorted(vk_schema.parameter_problems("market.add", {"owner_id": "-1", "name": "ab"})) == [
        "market.add.name: shorter than 4",
        "market.add: missing category_id",
        "market.add: missing description",
    ]
    legacy = vk_schema.parameter_problems("market.addToAlbum", {"owner_id": "x", "item_id": "1"})
    assert legacy[0] == "market.addToAlbum: unknown parameter item_id"
    edit = {"owner_id": "-1", "item_id": "1", "deleted": "true"}
    assert vk_schema.parameter_problems("market.edit", edit) == [
        "market.edit.deleted: 'true' is not 0/1"
    ]
    assert json.dumps(vk_schema.methods()["execute"]["responses"])


def test_the_vendored_schema_holds_every_file_the_checks_load_and_its_licence(monkeypatch):
    monkeypatch.delenv("VK_API_SCHEMA_DIR", raising=False)
    assert vk_schema.schema_dir() == vk_schema.DEFAULT_DIR
    assert "MIT License" in (vk_schema.DEFAULT_DIR / "LICENSE").read_text()
    vendored = {
        path.relative_to(vk_schema.DEFAULT_DIR).as_posix()
        for path in vk_schema.DEFAULT_DIR.rglob("*.json")
    }
    assert vendored == set(vk_schema.FILES)


def test_a_schema_folder_without_the_files_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("VK_API_SCHEMA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"VK_API_SCHEMA_DIR.*market/methods\.json"):
        vk_schema.schema_dir()
