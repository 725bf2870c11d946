"""bench/freshness_setup.py: the copies written by INSERT … SELECT are what the template has,
with their own ids, and a new sandbox gets the same communities back (bench/freshness.py
--workdir reuses a set-up database)."""

from __future__ import annotations

import json

import pytest
import requests
from django.apps import apps

from bench import freshness_setup as fs
from sync.lifecycle import sync_run_create
from sync.models import ItemLink
from sync.plan.rules import short_hash
from sync.publish.run import sync_run_execute


class HttpSandbox:
    """The benchmark's `Sandbox.control`, against the test session's sandbox server."""

    def __init__(self, server):
        self.base = server.base_url

    def control(self, app: str, action: str, **body):
        response = requests.post(f"{self.base}/{app}/_control/{action}", json=body, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["result"]


def _reference_swap(k: int, value):
    """What the copy's value must be: the template's ids replaced by merchant k's, also
    inside JSON values (the former Python copy did this row by row)."""
    if isinstance(value, str):
        for old, new in fs._swap_pairs(k):
            value = value.replace(old, new)
        return value
    if isinstance(value, dict | list):
        return json.loads(_reference_swap(k, json.dumps(value, ensure_ascii=False)))
    return value


def _rows(model, user) -> list[tuple]:
    skip = {"id", "user", "user_id", "store", "store_id"}
    fields = [f.attname for f in model._meta.concrete_fields if f.name not in skip]
    return sorted(
        (json.dumps([row[f] for f in fields], sort_keys=True, default=str))
        for row in model.objects.filter(user=user).values(*fields)
    )


@pytest.fixture
def sandbox(sandbox_server, evotor_sandbox, vk_sandbox, settings):
    settings.VK_REQUESTS_PER_SECOND = 1000
    control = HttpSandbox(sandbox_server)
    control.control("vk", "set_rate_limit", n=1000)
    return control


@pytest.mark.django_db(transaction=True)
def test_copies_have_the_templates_rows_with_their_own_ids_and_nothing_to_publish(
    sandbox, vk_sandbox
):
    template = fs.template_publish(sandbox, products=12)
    group = sandbox.control("vk", "export_group", group_id=fs.group_id(0))
    fs.sandbox_copies(sandbox, range(1, 4), products=12, template_group=group)

    figures = fs.clone_merchants(template, merchants=4, batch=2)

    assert figures["rows_per_merchant"]["catalog.CachedProduct"] == 12
    from accounts.models import User

    photo_links = set(fs._photo_hash_links(template))
    assert photo_links, "the template's links carry the hash of their picture"
    for k in (1, 2, 3):
        copy = User.objects.get(email=f"m{k}@fresh.bench")
        assert copy.cached_stores.get().evotor_id == fs.store_id(k)
        for label in fs.CLONED:
            model = apps.get_model(label)
            expected = [
                json.dumps(_reference_swap(k, json.loads(row)), sort_keys=True)
                for row in _rows(model, template)
            ]
            got = _rows(model, copy)
            if model is ItemLink:
                # The photo hash is made of the copy's own picture id.
                expected_hashes = sorted(
                    short_hash(f"evotor:{_reference_swap(k, image).split(' ')[0]}")
                    if pk in photo_links
                    else photo_hash
                    for pk, image, photo_hash in ItemLink.objects.filter(user=template).values_list(
                        "pk", "evotor_image", "photo_hash"
                    )
                )
                got_hashes = sorted(
                    ItemLink.objects.filter(user=copy).values_list("photo_hash", flat=True)
                )
                assert got_hashes == expected_hashes
                continue
            assert sorted(got) == sorted(expected), label

    # A copy is as published as the template: a whole publish of it finds nothing to write.
    copy = User.objects.get(email="m2@fresh.bench")
    before = dict(vk_sandbox.calls_by_method)
    run = sync_run_execute(run=sync_run_create(user=copy, trigger="manual"))
    assert run.status == "succeeded", run.error
    writes = {
        method: count - before.get(method, 0)
        for method, count in vk_sandbox.calls_by_method.items()
        if method in ("market.add", "market.edit", "market.delete", "market.addToAlbum")
        and count != before.get(method, 0)
    }
    assert writes == {}


@pytest.mark.django_db(transaction=True)
def test_an_exported_community_comes_back_with_the_same_ids(sandbox):
    sandbox.control("vk", "add_token", token="exporter", user_id=7, scopes=["market"])
    sandbox.control("vk", "add_group", group_id=401, name="Образец", admins=[7])
    sandbox.control("vk", "generate_items", group_id=401, count=3, albums=1)
    exported = sandbox.control("vk", "export_group", group_id=401)
    items = sandbox.control("vk", "items", group_id=401)
    albums = sandbox.control("vk", "albums", group_id=401)

    sandbox.control("vk", "reset")
    assert sandbox.control("vk", "import_group", data=json.loads(json.dumps(exported))) == 3

    assert sandbox.control("vk", "items", group_id=401) == items
    assert sandbox.control("vk", "albums", group_id=401) == albums


def test_lane_figures_count_the_time_in_the_window_and_the_cpu_per_task(tmp_path, settings):
    from bench.freshness import _lane_figures

    log = tmp_path / "tasks.jsonl"
    fast, slow = settings.Q_FAST_CLUSTER, settings.Q_SLOW_CLUSTER
    rows = [
        ["a", "sync.tasks.publish_changes", fast, 100.0, None, None],
        ["a", "sync.tasks.publish_changes", fast, 100.0, 101.0, 0.25],
        ["b", "sync.tasks.publish_changes", fast, 102.0, 104.0, 0.75],
        # Older records without the CPU figure still count.
        ["c", "webhooks.tasks.process_evotor_change", fast, 104.0, 105.0],
        # Half of it inside the window.
        ["d", "sync.tasks.sync_user", slow, 105.0, 115.0, 4.0],
    ]
    log.write_text("".join(json.dumps(row) + "\n" for row in rows))

    figures = _lane_figures(log, {}, start=100.0, end=110.0, workers={"fast": 2, "slow": 1})

    publishes = figures["fast"]["tasks"]["publish_changes"]
    assert (publishes["tasks"], publishes["run_seconds"], publishes["cpu_seconds"]) == (2, 3.0, 1.0)
    assert publishes["mean_cpu_seconds"] == 0.5
    assert figures["fast"]["tasks"]["process_evotor_change"]["cpu_seconds"] == 0.0
    assert figures["fast"]["busy_worker_seconds"] == 4.0 and figures["fast"]["load"] == 0.2
    assert figures["slow"]["busy_worker_seconds"] == 5.0 and figures["slow"]["load"] == 0.5
