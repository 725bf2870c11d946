"""`execute`: up to 25 calls in one request, results mapped back, chained references (§5)."""

from decimal import Decimal

import pytest

from connections import vk_errors
from connections.vk_client import VkCall, VkRef
from connections.vk_script import build_execute_code


def add_call(owner_id, name="Тестовый товар", **extra):
    params = {
        "owner_id": owner_id,
        "name": name,
        "description": "Описание тестового товара",
        "category_id": 40001,
        "price": Decimal("99.90"),
        **extra,
    }
    return VkCall("market.add", params)


def test_results_and_errors_map_back_to_their_calls(vk, vk_client, owner_id):
    calls = [
        add_call(owner_id, name="Первый товар"),
        add_call(owner_id, name="abc"),  # too short: error 100
        VkCall("market.edit", {"owner_id": owner_id, "item_id": 999, "name": "Новое имя"}),
        add_call(owner_id, name="Третий товар"),
        VkCall("market.addToAlbum", {"owner_id": owner_id, "item_ids": [1], "album_ids": [77]}),
    ]
    results = vk_client.execute(calls)
    assert vk_client.requests_made == 1
    assert [r.ok for r in results] == [True, False, False, True, False]
    assert [r.call for r in results] == calls
    assert results[0].value == {"market_item_id": 1}
    assert results[3].value == {"market_item_id": 2}
    assert isinstance(results[1].error, vk_errors.VkItemError)
    assert "name should be at least 4 letters length" in results[1].error.message
    assert results[1].error.method == "market.add"
    assert results[2].error.code == 1403 and results[2].error.method == "market.edit"
    assert results[4].error.code == 1402
    with pytest.raises(vk_errors.VkItemError):
        results[1].unwrap()
    assert [i["title"] for i in vk.items(-owner_id)] == ["Первый товар", "Третий товар"]


def test_chained_calls_use_earlier_results(vk, vk_client, owner_id, group_id, evotor_png):
    from connections.vk_photos import normalize_product_image

    upload_url = vk_client.get_upload_urls(group_id, 1)[0]
    upload_response = vk_client.upload_photo(upload_url, normalize_product_image(evotor_png))
    results = vk_client.execute(
        [
            vk_client.save_product_photo_call(upload_response),
            add_call(owner_id, main_photo_id=VkRef(0, "photo_id")),
            VkCall("market.addAlbum", {"owner_id": owner_id, "title": "Выпечка"}),
            VkCall(
                "market.addToAlbum",
                {
                    "owner_id": owner_id,
                    "item_ids": [VkRef(1, "market_item_id")],
                    "album_ids": [VkRef(2, "market_album_id")],
                },
            ),
        ]
    )
    assert all(r.ok for r in results), [r.error for r in results]
    photo_id = results[0].value["photo_id"]
    item_id = results[1].value["market_item_id"]
    album_id = results[2].value["market_album_id"]
    (item,) = vk.items(-owner_id)
    assert item["id"] == item_id
    assert [p["id"] for p in item["photos"]] == [photo_id]
    assert item["albums_ids"] == [album_id]
    assert item["price"]["amount"] == "9990"
    assert vk.photo(photo_id)["item_id"] == item_id


def test_a_call_that_refers_to_a_failed_call_is_skipped_not_run(vk, vk_client, owner_id):
    results = vk_client.execute(
        [
            vk_client.save_product_photo_call('{"album_id": -53, "meta": "forged.meta"}'),
            add_call(owner_id, main_photo_id=VkRef(0, "photo_id")),
            add_call(owner_id, name="Независимый товар"),
        ]
    )
    assert results[0].error.code == 121  # the forged upload answer
    assert isinstance(results[1].error, vk_errors.VkDependencyError)
    assert results[1].error.index == 0
    assert results[2].ok
    # The item that needed the photo was never created without it.
    assert [i["title"] for i in vk.items(-owner_id)] == ["Независимый товар"]
    assert vk.calls_by_method["market.add"] == 1


def test_several_references_in_one_list_are_joined(vk, vk_client, owner_id):
    results = vk_client.execute(
        [
            add_call(owner_id, name="Товар один"),
            add_call(owner_id, name="Товар два"),
            VkCall("market.addAlbum", {"owner_id": owner_id, "title": "Оба товара"}),
            VkCall(
                "market.addToAlbum",
                {
                    "owner_id": owner_id,
                    "item_ids": [VkRef(0, "market_item_id"), VkRef(1, "market_item_id")],
                    "album_ids": [VkRef(2, "market_album_id")],
                },
            ),
        ]
    )
    assert all(r.ok for r in results)
    assert vk.albums(-owner_id)[0]["count"] == 2


def test_more_than_25_calls_are_refused_before_sending(vk, vk_client, owner_id):
    calls = [VkCall("market.getAlbums", {"owner_id": owner_id})] * 26
    with pytest.raises(ValueError, match="at most 25"):
        vk_client.execute(calls)
    assert vk_client.requests_made == 0
    assert len(vk_client.execute(calls[:25])) == 25
    assert vk_client.requests_made == 1


def test_strings_cannot_escape_their_literal(vk, vk_client, owner_id):
    tricky = (
        'Тест"}); API.market.delete({"owner_id": -200001, "item_id": 1}); //\n\\ \u2028 «ёлка» 🎄'
    )
    results = vk_client.execute([add_call(owner_id, name="Первый товар", description=tricky)])
    assert results[0].ok
    (item,) = vk.items(-owner_id)
    assert item["description"] == tricky
    assert item["availability"] == 0
    assert "market.delete" not in vk.calls_by_method


@pytest.mark.parametrize(
    "bad",
    [
        VkCall("market.add); API.market.delete({", {}),
        VkCall("market.get", {'owner_id": 1, "x': 1}),
        VkCall("market.get", {"owner_id": VkRef(0)}),
        VkCall("market.get", {"owner_id": VkRef(-1, "a")}),
    ],
)
def test_generated_code_refuses_bad_names_and_forward_references(bad):
    with pytest.raises(ValueError):
        build_execute_code([bad])


def test_bad_ref_field_is_refused():
    calls = [VkCall("market.get", {}), VkCall("market.get", {"owner_id": VkRef(0, "a;b")})]
    with pytest.raises(ValueError):
        build_execute_code(calls)


def test_the_generated_program_reads_as_expected():
    code = build_execute_code(
        [
            VkCall("market.saveProductPhoto", {"upload_response": '{"a": 1}'}),
            VkCall(
                "market.add",
                {"owner_id": -1, "main_photo_id": VkRef(0, "photo_id"), "deleted": True},
            ),
        ]
    )
    assert code.splitlines() == [
        'var r0 = API.market.saveProductPhoto({"upload_response": "{\\"a\\": 1}"});',
        "var r1 = false;",
        'if (r0) { r1 = API.market.add({"owner_id": -1, "main_photo_id": r0.photo_id, "deleted": 1}); }',
        "return [r0, r1];",
    ]


def test_compile_errors_are_reported_as_a_script_error(vk, vk_client):
    with pytest.raises(vk_errors.VkScriptError) as caught:
        vk_client.call("execute", code="while (true) { API.market.get({}); } return 1;")
    assert caught.value.code == 12


def test_sandbox_refuses_a_script_with_more_than_25_api_calls(vk, vk_client, owner_id):
    calls = ", ".join(f"API.market.getAlbums({{owner_id: {owner_id}}})" for _ in range(26))
    with pytest.raises(vk_errors.VkScriptError) as caught:
        vk_client.call("execute", code=f"return [{calls}];")
    assert caught.value.code == 13


def test_hand_written_scripts_work(vk, vk_client, owner_id):
    code = f"""
        // the total of two pages, the hand-written way
        var a = API.market.getAlbums({{owner_id: {owner_id}, count: 1}});
        var b = API.market.get({{'owner_id': {owner_id}}});
        if (a) {{ var note = "albums: " + a.count; }} else {{ note = "none"; }}
        return {{note: note, items: b["count"], first: b.items[0], sum: 1 + 2}};
    """
    assert vk_client.call("execute", code=code) == {
        "note": "albums: 0",
        "items": 0,
        "first": None,
        "sum": 3,
    }


def test_an_error_of_a_call_inside_execute_can_be_injected(vk, vk_client, owner_id):
    vk.fail(14, method="market.add", count=1)
    results = vk_client.execute([add_call(owner_id), add_call(owner_id, name="Второй товар")])
    assert isinstance(results[0].error, vk_errors.VkCaptchaError)
    assert results[1].ok
