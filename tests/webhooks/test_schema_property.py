"""Property test: what the published OpenAPI schema calls a valid request is what the parsers
accept, and every answer is one the schema documents (issue 13, item 16).

Bodies are generated from the very request schemas /openapi.json publishes
(tests/webhooks/schema_strategies.py), so a schema and a parser drifting apart fails here. Bounded: a fixed
number of examples per operation, no deadline.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator

from tests.webhooks.conftest import SECRET
from tests.webhooks.schema_strategies import valid_for
from webhooks.auth import push_signature
from webhooks.openapi import PATHS, REF, SCHEMAS

pytestmark = pytest.mark.django_db

WEBHOOKS = {path: item["post"] for path, item in PATHS.items() if "post" in item}
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


def component(name: str) -> dict:
    return {"$ref": REF + name, "components": {"schemas": SCHEMAS}}


def request_schema(path: str) -> str:
    body = WEBHOOKS[path]["requestBody"]["content"]["application/json"]["schema"]
    return body["$ref"].removeprefix(REF)


def response_schema(path: str, status: int) -> dict | None:
    response = WEBHOOKS[path]["responses"].get(str(status))
    if response is None:
        return None
    return component(response["content"]["application/json"]["schema"]["$ref"].removeprefix(REF))


def post(client, path: str, body: dict):
    data = json.dumps(body)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {SECRET}"}
    if path == "/evotor/events":
        # The push is signed instead (webhooks.auth.push_signature_ok).
        headers = {
            "HTTP_X_HUB_SIGNATURE": push_signature(data.encode(), SECRET),
            "HTTP_X_EVOTOR_DELIVERY": uuid.uuid4().hex,
        }
    with transaction.atomic():
        response = client.post(path, data=data, content_type="application/json", **headers)
        transaction.set_rollback(True)
    return response


def refused_fields(response) -> set[str]:
    return {error.get("subject") for error in response.json().get("errors", [])}


def check(path: str, body: dict, response) -> None:
    schema = response_schema(path, response.status_code)
    assert schema is not None, (path, body, response.status_code, response.content)
    Draft202012Validator(schema).validate(response.json())
    if response.status_code == 400:
        # The only rule the schema describes in part: Django's password validators.
        assert refused_fields(response) == {"password"}, (path, body, response.content)


@pytest.mark.parametrize("path", sorted(WEBHOOKS))
def test_the_schemas_own_examples_are_accepted_as_documented(client, path):
    strategy = valid_for(request_schema(path))

    @PROPERTY
    @given(body=strategy)
    def run(body):
        check(path, body, post(client, path, body))

    run()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/user/create", {"userId": 123, "email": "a@example.ru"}, "userId"),
        ("/user/create", {"userId": "01-1", "email": "a@example.ru", "name": 5}, "name"),
        ("/user/token", {"userId": "01-1", "token": ""}, "token"),
        ("/user/verify", {"userId": "01-1", "username": " ", "password": "x"}, "username"),
        ("/installation/event", {"type": "A\x00B"}, "type"),
        ("/installation/event", {"type": "ApplicationInstalled", "data": {}}, "data.userId"),
        ("/evotor/events", {"type": "ProductEvent", "action": "updated"}, "payload"),
        ("/evotor/events", {"type": "Product", "action": "updated", "payload": {}}, "store_id"),
    ],
)
def test_what_the_schema_refuses_the_parsers_refuse(client, path, body, field):
    assert not Draft202012Validator(component(request_schema(path))).is_valid(body)
    response = post(client, path, body)
    assert response.status_code == 400
    assert field in refused_fields(response)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/user/create", {"userId": "01-1", "email": "a@example.ru", "name": None}),
        ("/user/create", {"userId": "01-1", "email": "a@example.ru", "password": None}),
        ("/installation/event", {"type": "Other", "data": None, "id": None}),
        ("/installation/event", {"type": "ApplicationInstalled", "data": {"userId": "01-7"}}),
        ("/subscription/event", {"type": None, "timestamp": 1504168645290, "userId": None}),
        ("/evotor/events", {"type": "SystemEvent", "action": "ping"}),
        (
            "/evotor/events",
            {
                "type": "ProductImage",
                "action": "removed",
                "payload": {"store_id": "S", "product_id": "P"},
            },
        ),
    ],
)
def test_what_the_schema_allows_the_parsers_accept(client, path, body):
    assert Draft202012Validator(component(request_schema(path))).is_valid(body)
    assert post(client, path, body).status_code == 200


def test_a_numeric_password_is_refused_by_both(client):
    body = {"userId": "01-1", "email": "a@example.ru", "password": "0"}
    assert not Draft202012Validator(component("UserCreateRequest")).is_valid(body)
    assert refused_fields(post(client, "/user/create", body)) == {"password"}
