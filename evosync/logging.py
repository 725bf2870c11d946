"""Logging helpers: a filter that keeps secrets out of log lines whatever the caller wrote."""

import logging
import re

# access_token=..., Authorization: Bearer ..., X-Authorization: ..., "token": "..."
_SECRET_PATTERNS = [
    re.compile(r"(access_token=)[^&\s'\"]+", re.IGNORECASE),
    re.compile(
        r"((?:x-)?authorization['\"]?\s*[:=]\s*['\"]?(?:bearer\s+|basic\s+)?)[^\s'\",}]+",
        re.IGNORECASE,
    ),
    re.compile(
        r"(['\"](?:token|cloud_token|access_token|password)['\"]\s*:\s*['\"])[^'\"]+", re.IGNORECASE
    ),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Masks tokens in the formatted message, so a careless log call cannot leak one."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
