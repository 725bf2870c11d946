"""Tokens in the paths of e-mailed links never reach a log line (issue 13, item 8)."""

from __future__ import annotations

import datetime
import json
import runpy
import types

import pytest
from django.urls import reverse

from evosync.logging import redact
from tests.foundation.helpers import BASE_DIR

TOKEN = "MQ:1vXyZa:Q2hlY2stdGhpcy1zZWNyZXQtdG9rZW4"
RESET_TOKEN = "cz1abc-0123456789abcdef0123456789abcdef"

LINKS = [
    reverse("accounts:confirm_email", args=[TOKEN]),
    reverse("accounts:invite_accept", args=[TOKEN]),
    reverse("accounts:password_reset_confirm", args=["MQ", RESET_TOKEN]),
]


@pytest.mark.parametrize("path", LINKS)
def test_a_token_in_a_link_path_is_masked(path):
    line = f'203.0.113.5 "GET {path}?next=/ HTTP/1.1" 200 512 12ms "Mozilla/5.0"'
    masked = redact(line)
    assert TOKEN not in masked and RESET_TOKEN not in masked
    assert masked.startswith('203.0.113.5 "GET /accounts/') and "HTTP/1.1" in masked


def test_the_reset_form_after_the_token_keeps_its_path():
    path = reverse("accounts:password_reset_confirm", args=["MQ", "set-password"])
    assert redact(f"GET {path}") == f"GET {path}"


@pytest.mark.parametrize("path", LINKS)
def test_gunicorns_access_log_masks_the_token(path, capsys):
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    conf = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
    config = Config()
    for name in ("accesslog", "errorlog", "access_log_format", "logconfig_dict"):
        config.set(name, conf[name])
    logger = Logger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path,
        "PATH_INFO": path,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.5",
        "HTTP_USER_AGENT": "Mozilla/5.0",
    }
    response = types.SimpleNamespace(status="200 OK", sent=512, headers=[])
    request = types.SimpleNamespace(headers=[])
    logger.access(response, request, environ, datetime.timedelta(milliseconds=12))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    (access,) = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert "/accounts/" in access["message"]
    assert TOKEN not in access["message"] and RESET_TOKEN not in access["message"]
