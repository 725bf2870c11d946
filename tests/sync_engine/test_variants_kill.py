"""A worker killed between making a property variant and the items that use it, for real:
`manage.py sync_to_vk` in a child process, SIGKILLed while VK's answer to the request that made
the property and its variants is on its way (VK made them; our rows have no VK id yet). The next
run makes no second property or variant, and the items end up grouped."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys

import pytest

from .test_kill import EMAIL, EVOTOR_TOKEN, EVOTOR_USER, ROOT, SEED, manage, wait_for

VK_GROUP = 200001


@pytest.fixture
def child_env(tmp_path, sandbox_server, evotor_sandbox, vk_sandbox):
    import os

    db = tmp_path / "killed.sqlite3"
    photo = tmp_path / "default.png"
    from .conftest import png_bytes

    photo.write_bytes(png_bytes())
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "evosync.settings",
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
        "DATABASE_URL": f"sqlite:///{db}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "EVOTOR_API_URL": sandbox_server.evotor_url,
        "VK_API_URL": sandbox_server.vk_url,
        "VK_DEFAULT_PHOTO_PATH": str(photo),
        "VK_REQUESTS_PER_SECOND": "8",
        # Longer than the held answer is ever waited for: the kill, never a timeout, ends it.
        "HTTP_READ_TIMEOUT": "120",
    }
    env.pop("PYTEST_CURRENT_TEST", None)
    vk_sandbox.set_rate_limit(10)
    evotor_sandbox.add_token(EVOTOR_TOKEN, EVOTOR_USER)
    store_id = evotor_sandbox.add_store(name="Лавка", user_id=EVOTOR_USER)
    attribute = {
        "id": "attr-size",
        "name": "Размер",
        "choices": [{"id": f"size-{s}", "name": s} for s in ("S", "M", "L")],
    }
    group = evotor_sandbox.add_group(store_id, name="Футболка", attributes=[attribute])["id"]
    for size in ("S", "M", "L"):
        evotor_sandbox.add_product(
            store_id,
            name=f"Футболка хлопковая {size}",
            price=990,
            article_number=f"TEE-{size}",
            parent_id=group,
            quantity=5,
            attributes_choices={"attr-size": f"size-{size}"},
        )
    manage(env, "migrate", "--noinput")
    manage(env, "createcachetable")
    manage(env, "shell", "-c", SEED.format(email=EMAIL, token=EVOTOR_TOKEN, store=store_id))
    env["_DB"] = str(db)
    return env


def properties_waiting(path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        return db.execute(
            "SELECT count(*) FROM sync_vkproperty WHERE vk_property_id IS NULL"
        ).fetchone()[0]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_killed_after_vk_made_the_variants_the_next_run_makes_none_twice(child_env, vk_sandbox):
    vk_sandbox.slow(90.0, method="market.addPropertyVariant", count=1)
    child = subprocess.Popen(
        [sys.executable, "manage.py", "sync_to_vk", "--user", EMAIL],
        cwd=ROOT,
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: vk_sandbox.slows_pending() == 0 and properties_waiting(child_env["_DB"]) > 0,
            timeout=120.0,
        )
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    vk_sandbox.clear_failures()
    assert vk_sandbox.properties(VK_GROUP) == {"Размер": ["L", "M", "S"]}
    assert vk_sandbox.items(VK_GROUP) == []

    result = manage(child_env, "sync_to_vk", "--user", EMAIL)
    assert "succeeded" in result.stdout, result.stdout + result.stderr

    assert vk_sandbox.properties(VK_GROUP) == {"Размер": ["L", "M", "S"]}
    calls = vk_sandbox.stats()["calls_by_method"]
    assert calls["market.addProperty"] == 1 and calls["market.addPropertyVariant"] == 3
    items = vk_sandbox.items(VK_GROUP)
    assert len(items) == 3, calls
    print(calls, result.stdout, result.stderr)
    assert len({item.get("variants_grouping_id") for item in items}) == 1
    assert None not in {item.get("variants_grouping_id") for item in items}
    assert sum(1 for item in items if item["is_main_variant"]) == 1
