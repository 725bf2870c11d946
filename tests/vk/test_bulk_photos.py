"""Bulk photo uploads in the sandbox and the client (docs/contracts/vk-market-api.md §13): one POST to a
`bulk=1` upload URL carries several files, one market.saveProductPhotoBulk saves them; what VK
leaves undocumented (how often a URL may be used, how many files one POST may carry, a VK
without bulk) is switched in the sandbox, and the client's answer to each is checked."""

import hashlib
import json

import pytest
import requests
from django.conf import settings

from connections import vk_errors
from connections.vk_client import VkCall, VkRef
from connections.vk_photos import normalize_product_image
from sandbox.vk.upload import parse_multipart
from tests.vk import vk_schema
from tests.vk.conftest import make_image

OWNER = -200001


@pytest.fixture
def jpegs():
    colors = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    return [normalize_product_image(make_image((500, 500), color=color)) for color in colors]


def api(method, **params):
    data = {"v": "5.199", "access_token": "vk-demo-token", **params}
    return requests.post(f"{settings.VK_API_URL}/{method}", data=data, timeout=5).json()


def test_a_bulk_upload_is_saved_as_one_photo_per_file_in_order(vk, vk_client, group_id, jpegs):
    (url,) = vk_client.get_upload_urls(group_id, 1, bulk=True)
    answer = vk_client.upload_photos(url, jpegs, bulk=True)
    assert {"album_id", "meta"} <= set(json.loads(answer))
    body = api("market.saveProductPhotoBulk", upload_response=answer)
    vk_schema.validate_response("market.saveProductPhotoBulk", body)
    photo_ids = [entry["photo_id"] for entry in body["response"]]
    assert len(set(photo_ids)) == 3
    # Each photo is the file in its place: sizes come from the upload, all 500×500 here,
    # so tell them apart by their order of creation.
    assert photo_ids == sorted(photo_ids)
    assert all(vk.photo(photo_id)["owner_id"] == OWNER for photo_id in photo_ids)
    assert vk.uploads_by_url == {url.rsplit("/", 1)[1]: 1}


def test_the_bulk_upload_server_answer_matches_the_schema(vk, group_id):
    body = api("market.getProductPhotoUploadServer", group_id=group_id, bulk=1)
    vk_schema.validate_response("market.getProductPhotoUploadServer", body)
    assert (
        vk_schema.parameter_problems(
            "market.getProductPhotoUploadServer", {"group_id": str(group_id), "bulk": "1"}
        )
        == []
    )
    assert (
        vk_schema.parameter_problems("market.saveProductPhotoBulk", {"upload_response": "{}"}) == []
    )


def test_a_bulk_save_chains_to_the_adds_in_one_execute(vk, vk_client, group_id, jpegs):
    (url,) = vk_client.get_upload_urls(group_id, 1, bulk=True)
    answer = vk_client.upload_photos(url, jpegs[:2], bulk=True)
    adds = [
        VkCall(
            "market.add",
            {
                "owner_id": OWNER,
                "name": f"Товар номер {n}",
                "description": "Описание товара для проверки",
                "category_id": 40001,
                "price": 100,
                "main_photo_id": VkRef(0, f"{n}.photo_id"),
            },
        )
        for n in range(2)
    ]
    save, *added = vk_client.execute([vk_client.save_product_photo_call(answer, bulk=True), *adds])
    assert vk_client.requests_made == 2  # the URL, then one execute
    items = {item["id"]: item for item in vk.items(-OWNER)}
    for n, result in enumerate(added):
        item = items[result.value["market_item_id"]]
        assert item["photos"][0]["id"] == save.value[n]["photo_id"]


def test_an_upload_url_takes_several_posts_by_default(vk, vk_client, group_id, jpegs):
    (url,) = vk_client.get_upload_urls(group_id, 1, bulk=True)
    first = vk_client.upload_photos(url, jpegs[:2], bulk=True)
    second = vk_client.upload_photos(url, jpegs[2:], bulk=True)
    assert len(vk_client.save_product_photos(first)) == 2
    assert len(vk_client.save_product_photos(second)) == 1
    with pytest.raises(vk_errors.VkItemError):  # one upload makes its photos once
        vk_client.save_product_photos(first)


def test_a_refused_upload_url_raises_so_the_caller_takes_a_fresh_one(
    vk, vk_client, group_id, jpegs
):
    vk.set_photo_upload(url_posts=1)
    (url,) = vk_client.get_upload_urls(group_id, 1, bulk=True)
    vk_client.upload_photos(url, jpegs[:1], bulk=True)
    with pytest.raises(vk_errors.VkUploadUrlRefused):
        vk_client.upload_photos(url, jpegs[1:2], bulk=True)


def test_uploads_from_an_expired_url_are_refused_when_saved(vk, vk_client, group_id, jpegs):
    (url,) = vk_client.get_upload_urls(group_id, 1, bulk=True)
    answer = vk_client.upload_photos(url, jpegs, bulk=True)
    assert vk.expire_upload_urls() == 1
    with pytest.raises(vk_errors.VkItemError) as caught:
        vk_client.save_product_photos(answer)
    assert caught.value.code == 100 and "expired" in caught.value.message
    with pytest.raises(vk_errors.VkUploadUrlRefused):
        vk_client.upload_photos(url, jpegs, bulk=True)


def test_a_vk_without_bulk_refuses_the_bulk_url_and_the_bulk_save(vk, vk_client, group_id, jpegs):
    vk.set_photo_upload(bulk=False)
    with pytest.raises(vk_errors.VkItemError) as caught:
        vk_client.get_upload_urls(group_id, 1, bulk=True)
    assert caught.value.code == 100
    body = api("market.saveProductPhotoBulk", upload_response="{}")
    assert body["error"]["error_code"] == 3
    vk_schema.validate_error(body["error"])
    (url,) = vk_client.get_upload_urls(group_id, 1)  # plain uploads still work
    assert vk_client.save_product_photo(vk_client.upload_photo(url, jpegs[0])) > 0


def test_one_bad_file_spoils_the_whole_bulk_upload(vk, vk_client, group_id, jpegs):
    (url,) = vk_client.get_upload_urls(group_id, 1, bulk=True)
    answer = vk_client.upload_photos(url, [jpegs[0], b"not an image"], bulk=True)
    assert json.loads(answer)["error_descr"].startswith("file2:")
    with pytest.raises(vk_errors.VkItemError) as caught:
        vk_client.save_product_photos(answer)
    assert caught.value.code == 100


def test_too_many_files_in_one_bulk_post_are_refused_when_capped(vk, vk_client, group_id, jpegs):
    vk.set_photo_upload(bulk_max_files=2)
    (url,) = vk_client.get_upload_urls(group_id, 1, bulk=True)
    answer = vk_client.upload_photos(url, jpegs, bulk=True)
    assert json.loads(answer)["error"] == "too_many_files"


def test_plain_and_bulk_saves_take_only_their_own_kind_of_upload(vk, vk_client, group_id, jpegs):
    (bulk_url,) = vk_client.get_upload_urls(group_id, 1, bulk=True)
    (plain_url,) = vk_client.get_upload_urls(group_id, 1)
    bulk_answer = vk_client.upload_photos(bulk_url, jpegs[:1], bulk=True)
    plain_answer = vk_client.upload_photo(plain_url, jpegs[1])
    with pytest.raises(vk_errors.VkItemError):
        vk_client.save_product_photo(bulk_answer)
    with pytest.raises(vk_errors.VkItemError):
        vk_client.save_product_photos(plain_answer)


def test_a_plain_upload_url_takes_one_file_only(vk_client, group_id, jpegs):
    (url,) = vk_client.get_upload_urls(group_id, 1)
    with pytest.raises(ValueError):
        vk_client.upload_photos(url, jpegs, bulk=False)


def test_a_truncated_jpeg_is_refused_by_the_upload_server(vk_client, group_id, jpegs):
    (url,) = vk_client.get_upload_urls(group_id, 1, bulk=True)
    answer = json.loads(vk_client.upload_photos(url, [jpegs[0], jpegs[1][:-400]], bulk=True))
    assert answer["error"] == "bad_image"
    assert answer["error_descr"].startswith("file2:")


def test_what_reaches_vk_is_the_file_uploaded_byte_for_byte(vk, vk_client, group_id, jpegs):
    (url,) = vk_client.get_upload_urls(group_id, 1, bulk=True)
    answer = vk_client.upload_photos(url, jpegs, bulk=True)
    photo_ids = vk_client.save_product_photos(answer)
    assert [vk.photo(photo_id)["sha256"] for photo_id in photo_ids] == [
        hashlib.sha256(data).hexdigest() for data in jpegs
    ]


def test_the_sandbox_reads_a_multipart_body_as_requests_writes_it():
    files = {
        "file1": ("photo1.jpg", b"\xff\xd8binary\r\n--not-a-boundary\r\n\xff\xd9", "image/jpeg"),
        "file2": ("фото 2.jpg", b"", "image/jpeg"),
    }
    prepared = requests.Request(
        "POST", "http://127.0.0.1/upload", files=files, data={"note": "фото"}
    ).prepare()
    fields = parse_multipart(prepared.headers["Content-Type"], prepared.body)
    assert fields == {
        "note": (None, "фото".encode()),
        "file1": ("photo1.jpg", files["file1"][1]),
        "file2": ("фото 2.jpg", b""),
    }


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_body_without_a_multipart_boundary_has_no_fields(content_type):
    assert parse_multipart(content_type, b"--x\r\n\r\nvalue\r\n--x--\r\n") == {}


def test_a_quoted_boundary_is_understood():
    body = (
        b'--a b\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\nDATA\r\n--a b--\r\n"
    )
    assert parse_multipart('multipart/form-data; boundary="a b"', body) == {
        "file": ("p.jpg", b"DATA")
    }
