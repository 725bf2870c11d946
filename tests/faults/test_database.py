"""The database unavailable, for real (issue 13 items 12 and 18): EvoSync served by a child
process with production settings (DEBUG off) on a SQLite file, whose file is then taken away
(a directory in its place: every new connection fails to open it, as it would on a lost volume),
and given back.

While it is gone, Evotor's webhooks answer Evotor's JSON error format with 503 (Evotor repeats
the call until it gets 200, docs/contracts/evotor-api.md §7.4), pages answer EvoSync's own error page, /health
says which part is down. Once it is back everything answers again with no restart, and
Evotor's repeated call is applied once. tests/webhooks/test_hardening.py covers the same answers
in-process with the driver refusing every query (either backend, MariaDB included).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from tests.faults.conftest import START_SECONDS, free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "5f0c2b1e-7a3d-4e6b-9c8a-1d2e3f4a5b6c"
EVOTOR_USER = "01-000000000000555"


class ChildSite:
    def __init__(self, directory: Path):
        self.directory = directory
        self.db = directory / "site.sqlite3"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "evosync.settings",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "SECURE_SSL_REDIRECT": "false",
            "EVOTOR_WEBHOOK_SECRET": SECRET,
            "DATABASE_URL": f"sqlite:///{self.db}",
            "REDIS_URL": "",
            "STATIC_ROOT": str(directory / "static"),
            "MEDIA_ROOT": str(directory / "media"),
            "LOG_LEVEL": "CRITICAL",
        }
        self.env.pop("PYTEST_CURRENT_TEST", None)
        self.process: subprocess.Popen | None = None

    def manage(self, *args):
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def start(self) -> ChildSite:
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_SECONDS * 2
        while True:
            try:
                requests.get(f"{self.url}/health", timeout=5)
                return self
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the child site did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=START_SECONDS)

    def _files(self) -> list[Path]:
        return [self.db, Path(f"{self.db}-wal"), Path(f"{self.db}-shm")]

    def take_database_away(self) -> None:
        for path in self._files():
            if path.exists():
                path.rename(path.with_name(path.name + ".away"))
        self.db.mkdir()  # SQLite cannot open a directory: "unable to open database file"

    def give_database_back(self) -> None:
        self.db.rmdir()
        for path in self._files():
            away = path.with_name(path.name + ".away")
            if away.exists():
                away.rename(path)

    def webhook(self, path: str, body: dict) -> requests.Response:
        return requests.post(
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {SECRET}", "Accept": "application/json"},
            timeout=30,
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = ChildSite(tmp_path_factory.mktemp("db-outage")).start()
    yield site
    site.stop()


@pytest.fixture
def outage(site):
    site.take_database_away()
    yield site
    if site.db.is_dir():
        site.give_database_back()


def test_webhooks_answer_evotors_json_503_and_the_repeated_call_is_applied_once(outage):
    body = {"userId": EVOTOR_USER, "email": "outage@example.ru"}

    down = outage.webhook("/user/create", body)

    assert down.status_code == 503
    assert down.headers["Content-Type"].startswith("application/json")
    assert [error["code"] for error in down.json()["errors"]] == [5003]

    outage.give_database_back()
    again = outage.webhook("/user/create", body)  # Evotor repeats the call
    assert again.status_code == 200, again.text
    outage.webhook("/user/create", body)  # and once more: still one account
    with sqlite3.connect(outage.db) as db:
        (accounts,) = db.execute(
            "SELECT COUNT(*) FROM accounts_user WHERE email = ?", [body["email"]]
        ).fetchone()
    assert accounts == 1


def test_pages_answer_evosyncs_error_page_and_health_says_what_is_down(outage):
    page = requests.get(
        f"{outage.url}/sync/", cookies={"sessionid": "a" * 32}, timeout=30, allow_redirects=False
    )
    health = requests.get(f"{outage.url}/health", timeout=30)

    assert page.status_code == 500
    # EvoSync's own page in the merchant's language, not the server's bare message.
    assert "Что-то пошло не так · EvoSync" in page.text, page.text
    assert health.status_code == 503
    assert health.json()["database"] == "error"

    outage.give_database_back()
    assert requests.get(f"{outage.url}/health", timeout=30).status_code == 200
    login = requests.get(f"{outage.url}/accounts/login/", timeout=30)
    assert login.status_code == 200


@pytest.mark.django_db
def test_the_error_page_renders_without_the_database(client, monkeypatch):
    """In-process, on whichever database the suite runs: the session of a signed-in merchant
    cannot be read, and the 500 page must not need it (it did: a context processor read the
    user, and the merchant got the server's bare "A server error occurred")."""
    from django.db import OperationalError, connection

    def refuse(execute, sql, params, many, context):
        raise OperationalError("the database is not answering")

    client.raise_request_exception = False
    client.cookies["sessionid"] = "a" * 32
    with connection.execute_wrapper(refuse):
        response = client.get("/sync/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 500
    assert "Что-то пошло не так · EvoSync" in response.content.decode()
