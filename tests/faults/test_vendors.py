"""Vendor faults the other suites did not cover (the README of this folder lists those that
they do): a VK connection dropped after an `execute` was sent, and Evotor failing while a run
reads product photos. Each: nothing lost, nothing published twice, a reason the merchant reads,
and the next run finishes the job by itself."""

from __future__ import annotations

import pytest
from django.utils import translation

from connections.vk_errors import NO_ANSWER, VkUnavailableError
from sync import reasons
from sync.models import RunItemStatus, RunStatus
from tests.sync_engine.test_failures import (
    assert_no_duplicates_and_links_intact,
    sync_failing_after_first_batch,
)


def in_russian(make_text) -> str:
    with translation.override("ru"):
        return str(make_text())


@pytest.fixture
def bigger_shop(shop, default_photo_path):
    """25 products: three `execute` requests, so a fault can hit one in the middle."""
    for n in range(20):
        shop.add(f"x{n}", f"Товар для проверки {n}", image=False, price=10 + n)
    shop.refresh()
    return shop


# --- VK: the connection drops once the request is on its way -----------------------------------
def test_an_execute_whose_connection_drops_after_sending_creates_no_duplicate(
    bigger_shop, lost_answers
):
    """VK carried the request out, then the connection closed ("Connection aborted."): the
    writes may have happened, so the engine does not send them again but finds the items by
    sku, in the same run."""
    shop = bigger_shop
    run = sync_failing_after_first_batch(
        shop, lambda vk: lost_answers.drop("/method/execute", count=1, how="disconnect")
    )

    assert lost_answers.dropped == ["/vk/method/execute"]
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert len(shop.vk_items()) == len(shop.products)
    assert_no_duplicates_and_links_intact(shop)


def test_connections_dropping_until_the_run_gives_up_are_resolved_next_run(
    bigger_shop, lost_answers
):
    shop = bigger_shop
    run = sync_failing_after_first_batch(
        shop, lambda vk: lost_answers.drop("/method/execute", how="disconnect")
    )

    assert run.status == RunStatus.FAILED
    assert run.error == in_russian(lambda: VkUnavailableError(NO_ANSWER).user_message)
    # Mid-recovery: items may wait `creating` (their answer lost), none is on VK twice.
    skus = [item.get("sku") for item in shop.vk_items()]
    assert len(skus) == len(set(skus))
    lost_answers.clear()
    again = shop.sync()
    assert again.status == RunStatus.SUCCEEDED, again.error
    assert len(shop.vk_items()) == len(shop.products)
    assert_no_duplicates_and_links_intact(shop)


# --- Evotor: photos cannot be read during a run -------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "where"),
    [
        ("500", "images"),  # the product's image list
        ("503", "images"),
        ("malformed", "images"),  # a 200 with broken JSON
        ("500", "image_file"),  # the picture itself
    ],
)
def test_evotor_failing_on_photos_fails_only_those_items_and_the_next_run_sends_them(
    shop, mode, where
):
    path = "/images/" if where == "image_file" else f"/stores/{shop.store_id}/products/"
    shop.evotor.fail(mode, path=path)

    run = shop.sync()

    # The items whose photo Evotor did not give failed with the reason; nothing else did.
    failed = list(run.items.filter(status=RunItemStatus.FAILED))
    assert failed, "the fault reached the run"
    assert {item.error for item in failed} == {reasons.EVOTOR_PHOTO_UNAVAILABLE}
    assert "Эвотор в этот раз не отдал фото" in in_russian(
        lambda: reasons.reason_text(reasons.EVOTOR_PHOTO_UNAVAILABLE)
    )
    assert len(shop.vk_items()) == len(shop.products) - len(failed)

    shop.evotor.clear_failures()
    again = shop.sync()

    assert again.status == RunStatus.SUCCEEDED, again.error
    assert len(shop.vk_items()) == len(shop.products)
    assert_no_duplicates_and_links_intact(shop)
