import pytest
from django.db.utils import OperationalError

from evosync import health

pytestmark = pytest.mark.django_db


class _UnreachableDatabase:
    """Stands in for a connection whose server has gone away."""

    def cursor(self):
        raise OperationalError('(2002, "Can\'t connect to server")')


def _broker_down():
    raise ConnectionError("Connection refused")


def test_health_answers_ok_when_database_and_broker_answer(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_health_answers_503_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "get_broker", _broker_down)
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "error"}


def test_health_answers_503_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "connection", _UnreachableDatabase())
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "error", "broker": "ok"}


def test_health_answers_503_when_both_are_down(client, monkeypatch):
    monkeypatch.setattr(health, "connection", _UnreachableDatabase())
    monkeypatch.setattr(health, "get_broker", _broker_down)
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_health_stays_on_plain_http_when_https_is_enforced(client, settings):
    """The orchestrator probes over plain HTTP inside its network; pages are redirected."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^health$"]
    assert client.get("/health").status_code == 200
    redirected = client.get("/")
    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")


def test_health_refuses_writes(client):
    assert client.post("/health").status_code == 405
