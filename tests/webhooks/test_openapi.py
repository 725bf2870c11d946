"""The JSON endpoints are documented: /openapi.json (OpenAPI 3.1) and a self-hosted /docs page."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator

from webhooks.openapi import SCHEMAS, schema_validator

pytestmark = pytest.mark.django_db


def refs(value):
    if isinstance(value, dict):
        if "$ref" in value:
            yield value["$ref"]
        for item in value.values():
            yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def test_the_spec_is_served_as_json(client, settings):
    settings.BASE_URL = "https://evosync.example.ru"
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    assert spec["servers"] == [{"url": "https://evosync.example.ru"}]
    assert set(spec["paths"]) >= {
        "/user/create",
        "/user/verify",
        "/user/token",
        "/installation/event",
        "/subscription/event",
        "/health",
    }


def test_every_reference_resolves_and_every_schema_is_valid_json_schema(client):
    spec = client.get("/openapi.json").json()
    for ref in refs(spec):
        name = ref.removeprefix("#/components/schemas/")
        assert name in spec["components"]["schemas"], ref
    for schema in spec["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    for path in spec["paths"].values():
        for operation in path.values():
            for name in (next(iter(s)) for s in operation["security"]):
                assert name in spec["components"]["securitySchemes"]


def test_the_health_reply_matches_its_schema(client):
    schema_validator("Health").validate(client.get("/health").json())


def test_the_docs_page_lists_every_operation_without_outside_scripts(client):
    response = client.get("/docs")
    assert response.status_code == 200
    page = response.content.decode()
    for operation in (
        "POST /user/create",
        "POST /user/verify",
        "POST /user/token",
        "POST /installation/event",
        "GET /health",
    ):
        assert operation in page
    assert "Документация API" in page
    assert not re.search(r"<script[^>]+src=\"https?://", page)
    assert not re.search(r"<link[^>]+href=\"https?://", page)


def test_error_schema_rejects_bodies_that_break_evotors_format():
    validator = schema_validator("Errors")
    assert not validator.is_valid({"errors": []})
    assert not validator.is_valid({"error": "x"})
    assert not validator.is_valid({"errors": [{"code": 9999}]})
    assert validator.is_valid(
        {"errors": [{"code": 2002, "reason": "missing", "subject": "userId"}]}
    )
    assert "Errors" in SCHEMAS


def test_the_old_redoc_address_leads_to_the_docs(client):
    response = client.get("/redoc")
    assert response.status_code == 302 and response["Location"] == "/docs"
