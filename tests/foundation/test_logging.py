"""JSON log lines on stdout, with tokens masked whatever the caller wrote."""

import io
import json
import logging
import runpy
import socket

import pytest
from django.conf import settings

from evosync.logging import JsonFormatter, RedactSecretsFilter, logging_config, redact
from tests.foundation.helpers import BASE_DIR, clean_env, run_manage

VK_TOKEN = "vk1.a.Zk9xQ2ab_CdEf-123"


def _json_logger() -> tuple[logging.Logger, io.StringIO]:
    """A logger wired exactly like settings.LOGGING's stdout handler, writing to a buffer."""
    options = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.foundation.logging")
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.INFO
    return logger, stream


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_settings_write_json_lines_to_stdout():
    handler = settings.LOGGING["handlers"]["stdout"]
    assert handler["stream"] == "ext://sys.stdout"
    assert (
        settings.LOGGING["formatters"][handler["formatter"]]["()"]
        == "evosync.logging.JsonFormatter"
    )
    assert "redact" in handler["filters"]


@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_gunicorn_installs_the_applications_own_logging_configuration(monkeypatch, level):
    monkeypatch.setenv("LOG_LEVEL", level)
    gunicorn = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))["logconfig_dict"]
    assert gunicorn == logging_config(level)
    assert logging_config(settings.LOG_LEVEL) == settings.LOGGING
    # gunicorn's own lines go through the same JSON handler, at INFO whatever LOG_LEVEL says.
    for name in ("gunicorn.error", "gunicorn.access"):
        assert gunicorn["loggers"][name] == {
            "handlers": ["stdout"],
            "level": "INFO",
            "propagate": False,
        }


def test_a_log_line_is_json_with_time_level_logger_and_message():
    logger, stream = _json_logger()
    logger.info("Catalog refreshed for store %s", "store-1", extra={"products": 12})
    (line,) = _lines(stream)
    assert line["level"] == "INFO"
    assert line["logger"] == "tests.foundation.logging"
    assert line["message"] == "Catalog refreshed for store store-1"
    assert line["products"] == 12
    assert line["time"].endswith("Z")


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        (
            f"GET https://api.vk.com/method/market.get?owner_id=-1&access_token={VK_TOKEN}&v=5.199",
            VK_TOKEN,
        ),
        (
            "headers {'Authorization': 'Bearer 0f4c3e2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b'}",
            "0f4c3e2a-5b6d",
        ),
        ("X-Authorization: 1a2b3c4d5e6f7a8b9c0d", "1a2b3c4d5e6f7a8b9c0d"),
        (
            'payload {"token": "evotor-cloud-token-777", "userId": "01-0001"}',
            "evotor-cloud-token-777",
        ),
        ("the merchant pasted vk1.a.AbCdEf0123456789 into the form", "vk1.a.AbCdEf0123456789"),
        ("login failed, password=Hunter2-Hunter2", "Hunter2-Hunter2"),
    ],
)
def test_a_token_in_a_message_is_masked(message, secret):
    logger, stream = _json_logger()
    logger.warning(message)
    (line,) = _lines(stream)
    assert secret not in json.dumps(line)
    assert "***" in line["message"]


def test_a_token_in_arguments_extra_and_traceback_is_masked():
    logger, stream = _json_logger()
    try:
        raise ValueError(f"bad response for access_token={VK_TOKEN}")
    except ValueError:
        logger.exception(
            "call failed: %s",
            f"access_token={VK_TOKEN}",
            extra={"url": f"?access_token={VK_TOKEN}"},
        )
    (line,) = _lines(stream)
    assert VK_TOKEN not in json.dumps(line)
    assert "ValueError" in line["exc_info"]


def test_masking_keeps_the_rest_of_the_text():
    assert redact("owner_id=-5&access_token=abc&v=5.199") == "owner_id=-5&access_token=***&v=5.199"
    assert redact("nothing secret here") == "nothing secret here"


def test_the_running_service_logs_masked_json_to_stdout(tmp_path):
    """The real logging configuration, end to end, in a separate process."""
    script = (
        "import logging; "
        f"logging.getLogger('evosync.probe').warning('VK said no to access_token={VK_TOKEN}')"
    )
    result = run_manage("shell", "-c", script, env=clean_env(tmp_path, DEBUG="true"))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    probe = next(line for line in lines if line["logger"] == "evosync.probe")
    assert probe["level"] == "WARNING"
    assert probe["message"] == "VK said no to access_token=***"
    assert VK_TOKEN not in result.stdout + result.stderr


def test_russian_text_stays_readable_in_the_line():
    logger, stream = _json_logger()
    logger.info("Каталог обновлён", extra={"store": "Кофейня"})
    raw = stream.getvalue()
    assert "Каталог обновлён" in raw and "Кофейня" in raw
    assert "\\u" not in raw
    assert _lines(stream)[0]["message"] == "Каталог обновлён"


def test_a_socket_in_extra_is_left_out_of_the_line():
    """runserver passes the connection's socket as `request` in `extra=`."""
    logger, stream = _json_logger()
    with socket.socket() as connection:
        logger.info('"GET / HTTP/1.1" 200 15', extra={"request": connection, "status_code": 200})
    (line,) = _lines(stream)
    assert "request" not in line
    assert "socket" not in stream.getvalue()
    assert line["status_code"] == 200
