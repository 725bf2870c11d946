"""Logging helpers: JSON lines on stdout, with secrets masked whatever the caller wrote.

Two layers, because a careless log call is exactly what they protect against:
- `RedactSecretsFilter` cleans the formatted message of every record a handler emits (also
  for handlers that do not write JSON, such as gunicorn's);
- `JsonFormatter` cleans every string field of the JSON line (message, traceback, stack and
  `extra=` values), so a token inside an exception text is masked too.

`logging_config` is the one configuration both the Django processes (settings.LOGGING) and
gunicorn (gunicorn.conf.py) install, so the site, the worker and gunicorn write the same lines.
This module imports nothing from Django: gunicorn reads it before any Django setup.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

MASK = "***"

# Values stop at whitespace, quotes, backslashes (JSON escapes), `&` and `,`/`}` where relevant.
_SECRET_PATTERNS = [
    # ...?access_token=..., &client_secret=..., password=... in URLs, form bodies and reprs.
    re.compile(
        r"(\b(?:[a-z_]*token|client_secret|secret|password|passwd|api_key)=)[^&\s'\"\\]+",
        re.IGNORECASE,
    ),
    # Authorization: Bearer ..., X-Authorization: ..., {'Authorization': '...'}
    re.compile(
        r"((?:x-)?authorization['\"]?\s*[:=]\s*['\"]?(?:bearer\s+|basic\s+)?)[^\s'\",}\\]+",
        re.IGNORECASE,
    ),
    # "token": "...", 'cloud_token': '...', "password": "..." in JSON and dict reprs.
    re.compile(
        r"(['\"](?:[a-z_]*token|client_secret|secret|password)['\"]\s*:\s*['\"])[^'\"\\]+",
        re.IGNORECASE,
    ),
    # VK user tokens carry a recognisable prefix wherever they end up.
    re.compile(r"()\bvk1\.a\.[A-Za-z0-9_\-.]+"),
    # Tokens in the path of a link we e-mail (accounts/urls.py): access logs and "Not Found: …"
    # lines record the path, and the link works for whoever reads it.
    re.compile(r"(/accounts/(?:confirm|invite)/)[^/\s?#\"']+"),
    re.compile(r"(/accounts/password/reset/[^/\s?#\"']+/)(?!set-password/)[^/\s?#\"']+"),
]


def redact(text: str) -> str:
    """Return `text` with every token-looking value replaced by `***`."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(rf"\g<1>{MASK}", text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Masks tokens in the formatted message, so a careless log call cannot leak one."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | float):
        return value
    # Objects passed in `extra=` (Django puts the request there) are written as their str(),
    # which may hold a URL with a query string: mask it before the encoder sees it.
    return redact(str(value))


class JsonFormatter(_BaseJsonFormatter):
    """python-json-logger's formatter, masking secrets in every string field of the line.

    Times are UTC (`datefmt` ends in `Z`) whatever TIME_ZONE says, so the lines of gunicorn,
    the site and the worker sort together.
    """

    converter = time.gmtime

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Russian messages stay readable in the line ("Каталог", not "\u041a...").
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {
            key: _redact_value(value)
            for key, value in super().process_log_record(log_data).items()
            # runserver's "django.server" lines carry the connection's socket in `extra=`:
            # its repr (fd, family, addresses) says nothing the message does not.
            if not isinstance(value, socket.socket)
        }


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """The `logging.config.dictConfig` dictionary: JSON lines on stdout, secrets masked.

    `level` is LOG_LEVEL, for the root logger and Django's. gunicorn's access and error logs
    stay at INFO whatever it says: one line per request is what the operator reads them for.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "evosync.logging.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "datefmt": "%Y-%m-%dT%H:%M:%SZ",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "filters": {"redact": {"()": "evosync.logging.RedactSecretsFilter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["redact"],
            },
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "django": {"handlers": ["stdout"], "level": level, "propagate": False},
            # urllib3 logs full request URLs at DEBUG, and VK puts tokens in them.
            "urllib3": {"level": "WARNING"},
            "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        },
    }
