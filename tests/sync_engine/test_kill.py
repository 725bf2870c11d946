"""A worker killed in the middle of a publish, for real: `manage.py sync_to_vk` in a child
process against the sandboxes served by this test process and a SQLite file, SIGKILLed once VK
has made some items (while an answer is still on its way), then run again.

No duplicate VK item, no lost link."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVOTOR_TOKEN = "kill-test-evotor-token"
EVOTOR_USER = "01-000000000000888"
EMAIL = "killed@example.ru"
PRODUCTS = 60

SEED = """
from accounts.models import User
from catalog.services import catalog_refresh_for_user
from connections.models import EvotorConnection, VkConnection
from catalog.filters import sync_filter_set
from sync.plan.inputs import sync_settings_get
user = User.objects.create_user(email="{email}", password="Kill-Test-Password-1", status="active")
EvotorConnection.objects.create(user=user, cloud_token="{token}")
VkConnection.objects.create(user=user, access_token="vk-demo-token", group_id=200001)
s = sync_settings_get(user)
s.vk_category_id = 40099
s.save()
sync_filter_set(user=user, entity_type="store", entity_id="{store}", enabled=True)
assert catalog_refresh_for_user(user=user).ok
"""


def manage(env, *args, check=True, **kwargs):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=check,
        capture_output=True,
        text=True,
        timeout=180,
        **kwargs,
    )


@pytest.fixture
def child_env(tmp_path, sandbox_server, evotor_sandbox, vk_sandbox):
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
        # Longer than the held answer below is ever waited for: the child is killed while it
        # waits, never because its read timed out (no race with the clock).
        "HTTP_READ_TIMEOUT": "120",
    }
    env.pop("PYTEST_CURRENT_TEST", None)
    vk_sandbox.set_rate_limit(10)
    evotor_sandbox.add_token(EVOTOR_TOKEN, EVOTOR_USER)
    store_id = evotor_sandbox.add_store(name="Лавка", user_id=EVOTOR_USER)
    group = evotor_sandbox.add_group(store_id, name="Всё")["id"]
    for n in range(PRODUCTS):
        evotor_sandbox.add_product(
            store_id,
            name=f"Товар для проверки {n}",
            price=100 + n,
            article_number=f"KILL-{n:03d}",
            parent_id=group,
            quantity=5,
            image=n % 3 == 0,
        )
    manage(env, "migrate", "--noinput")
    manage(env, "createcachetable")
    manage(env, "shell", "-c", SEED.format(email=EMAIL, token=EVOTOR_TOKEN, store=store_id))
    env["_DB"] = str(db)
    return env


def add_calls(vk) -> int:
    return vk.stats()["calls_by_method"].get("market.add", 0)


def creating_links(path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT count(*) FROM sync_itemlink WHERE state = 'creating'").fetchone()[
            0
        ]


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_killed_worker_resumes_without_duplicates_or_lost_links(child_env, vk_sandbox):
    # The first request that makes items is answered; VK makes the items of the second but holds
    # its answer back for longer than the test waits, so the kill always lands while that answer
    # is on its way, whatever the machine's load (the rule is set before the child starts).
    vk_sandbox.slow(90.0, method="market.add", skip=1, count=1)
    child = subprocess.Popen(
        [sys.executable, "manage.py", "sync_to_vk", "--user", EMAIL],
        cwd=ROOT,
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def answer_pending():
            # VK made the items of the held request: their links say `creating`.
            return vk_sandbox.slows_pending() == 0 and creating_links(child_env["_DB"]) > 0

        wait_for(answer_pending, timeout=120.0)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    vk_sandbox.clear_failures()
    made_before_restart = len(vk_sandbox.items(200001))
    assert add_calls(vk_sandbox) == made_before_restart
    assert 0 < made_before_restart < PRODUCTS

    with sqlite3.connect(child_env["_DB"]) as db:
        states = dict(
            db.execute("SELECT state, count(*) FROM sync_itemlink GROUP BY state").fetchall()
        )
        run_status = db.execute("SELECT status FROM sync_syncrun ORDER BY id").fetchall()
    assert states.get("creating"), "the killed run left links waiting for VK's answer"
    assert run_status == [("running",)]

    result = manage(child_env, "sync_to_vk", "--user", EMAIL)
    assert "succeeded" in result.stdout, result.stdout + result.stderr

    items = vk_sandbox.items(200001)
    skus = [item["sku"] for item in items]
    assert len(items) == PRODUCTS and len(set(skus)) == PRODUCTS
    with sqlite3.connect(child_env["_DB"]) as db:
        links = db.execute("SELECT vk_item_id, state FROM sync_itemlink").fetchall()
        runs = db.execute("SELECT status, created FROM sync_syncrun ORDER BY id").fetchall()
    assert len(links) == PRODUCTS
    assert all(vk_id is not None and state == "published" for vk_id, state in links)
    assert {vk_id for vk_id, _ in links} == {item["id"] for item in items}
    assert runs[0][0] == "failed"  # the killed one, marked interrupted by the next
    assert runs[1][0] == "succeeded"
