import pytest


@pytest.mark.django_db
def test_health_answers_ok_when_database_and_broker_answer(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_health_answers_503_when_the_broker_is_down(client, monkeypatch):
    from evosync import health

    monkeypatch.setattr(
        health, "get_broker", lambda: (_ for _ in ()).throw(ConnectionError("down"))
    )
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["broker"] == "error"
    assert response.json()["database"] == "ok"
