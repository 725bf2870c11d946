"""Photos that would exhaust the worker's memory (issue 13 item 3): an unusable Evotor image
skips its item with a reason the merchant reads, running out of memory does the same, and the
photo threads never hold more decoded image memory at once than SYNC_PHOTO_MEMORY_MB allows."""

from __future__ import annotations

import io
import threading
import time

import pytest
from django.urls import reverse
from PIL import Image

from connections.vk_photos import working_memory
from sync import reasons
from sync.models import ItemLink, RunItemStatus, RunStatus
from sync.publish import photo_prep

from .conftest import png_bytes


def strip_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def give_image(shop, key: str, data: bytes, size: tuple[int, int]) -> None:
    shop.evotor.set_image_file(
        shop.store_id, shop.products[key], data, width=size[0], height=size[1]
    )


def run_item(run, shop, key):
    return run.items.get(product_id=shop.products[key])


def test_an_evotor_image_of_40000_by_40_skips_its_item_with_the_reason(shop, owner_client):
    give_image(shop, "tea", strip_png(40000, 40), (40000, 40))

    run = shop.sync()

    assert run.status == RunStatus.PARTIAL, run.error  # done with problems: an item was skipped
    item = run_item(run, shop, "tea")
    assert item.status == RunItemStatus.SKIPPED
    assert item.error == reasons.PHOTO_BAD_SHAPE
    # The rest of the run published.
    assert len(shop.vk_items()) == len(shop.products) - 1
    assert shop.vk_item("tea") is None
    assert run.skipped == 1
    # The product remembers why, and the merchant reads it in Russian on the run's page.
    link = ItemLink.objects.get(user=shop.user, product_id=shop.products["tea"])
    assert link.last_error == reasons.PHOTO_BAD_SHAPE
    page = owner_client.get(reverse("sync:run_detail", args=[run.pk]))
    assert page.status_code == 200
    assert "слишком" in page.content.decode()  # «…слишком длинное и узкое…»
    assert reasons.is_photo_problem(item.error)  # the page offers to upload another photo


def test_the_next_run_publishes_the_item_once_its_photo_is_fixed(shop):
    give_image(shop, "tea", strip_png(40000, 40), (40000, 40))
    shop.sync()
    give_image(shop, "tea", png_bytes((600, 600)), (600, 600))

    run = shop.sync()

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert shop.vk_item("tea") is not None
    assert len(shop.vk_items()) == len(shop.products)


def test_running_out_of_memory_skips_the_item_and_the_run_goes_on(shop, monkeypatch):
    tea_png = strip_png(700, 300)
    give_image(shop, "tea", tea_png, (700, 300))
    normalize = photo_prep.normalize_product_image

    def short_of_memory(data):
        if data == tea_png:
            raise MemoryError
        return normalize(data)

    monkeypatch.setattr(photo_prep, "normalize_product_image", short_of_memory)

    run = shop.sync()

    assert run.status == RunStatus.PARTIAL, run.error  # done with problems: an item was skipped
    item = run_item(run, shop, "tea")
    assert (item.status, item.error) == (RunItemStatus.SKIPPED, reasons.PHOTO_OUT_OF_MEMORY)
    assert "памяти" in reasons.reason_text(item.error)
    assert len(shop.vk_items()) == len(shop.products) - 1


class CountingBudget(photo_prep.MemoryBudget):
    """The run's budget, kept where the test can see it."""

    made: list[CountingBudget] = []

    def __init__(self, limit):
        super().__init__(limit)
        CountingBudget.made.append(self)


def test_concurrent_decodes_stay_within_the_memory_budget(shop, settings, monkeypatch):
    """Eleven photos, eight threads, a budget for two: never more than two decode at once.

    Each decode holds on until another thread is queued for the budget (or every photo has
    started), so the pool is pushed against the bound on every run: no timing involved.
    """
    for n in range(6):
        shop.add(f"p{n}", f"Товар с фото {n}", price=10 + n)
    shop.refresh()
    keys = [key for key in shop.products]
    for n, key in enumerate(keys):
        data = png_bytes((500, 500), color=(n * 20, 100, 50))
        give_image(shop, key, data, (500, 500))
    per_photo = working_memory(png_bytes((500, 500)))
    settings.SYNC_PHOTO_MEMORY_MB = 5
    assert (5 * 1024 * 1024) // per_photo == 2  # room for two photos, not three
    CountingBudget.made = []
    monkeypatch.setattr(photo_prep, "MemoryBudget", CountingBudget)
    normalize = photo_prep.normalize_product_image
    state = {"active": 0, "peak": 0, "started": 0, "in_use_peak": 0}
    changed = threading.Condition()

    def instrumented(data):
        budget = CountingBudget.made[-1]
        with changed:
            state["active"] += 1
            state["started"] += 1
            state["peak"] = max(state["peak"], state["active"])
            state["in_use_peak"] = max(state["in_use_peak"], budget.in_use)
            changed.notify_all()
            # The budget's waiters are counted under its own lock, so look again every few ms;
            # the deadline is a safety bound only, the outcome never depends on the clock.
            deadline = time.monotonic() + 60
            while not (budget.waiting > 0 or state["started"] == len(keys)):
                assert time.monotonic() < deadline, "the pool never pressed against the budget"
                changed.wait(0.005)
        try:
            return normalize(data)
        finally:
            with changed:
                state["active"] -= 1
                changed.notify_all()

    monkeypatch.setattr(photo_prep, "normalize_product_image", instrumented)

    run = shop.sync()

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert len(shop.vk_items()) == len(keys)
    assert state["started"] == len(keys)
    assert state["peak"] == 2
    assert state["in_use_peak"] <= CountingBudget.made[-1].limit


@pytest.mark.parametrize(
    ("size", "code"),
    [((40000, 40), reasons.PHOTO_BAD_SHAPE), ((5100, 5000), reasons.PHOTO_TOO_LARGE)],
)
def test_unusable_images_are_refused_before_any_memory_is_reserved(size, code):
    from connections.vk_photos import UnusableImage

    with pytest.raises(UnusableImage) as caught:
        working_memory(strip_png(*size))
    assert reasons.UNUSABLE_IMAGE[caught.value.reason] == code


def test_a_photo_larger_than_the_whole_budget_runs_alone_instead_of_never():
    budget = photo_prep.MemoryBudget(100)
    with budget.hold(10):
        assert budget.in_use == 10
    with budget.hold(10_000):
        assert budget.in_use == 100
    assert budget.in_use == 0
