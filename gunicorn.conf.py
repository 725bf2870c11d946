"""gunicorn settings for the `web` process (`gunicorn evosync.wsgi:application`).

Read from the environment like the rest of EvoSync; see .env.example. Logs go to stdout as JSON
lines, through the same secret-masking formatter as the application's.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# gunicorn's own convention; (2 x cores) + 1 is its documented starting point.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# Pages never wait on Evotor or VK for long (vendor calls run in the task queue), so a request
# that takes this long is stuck.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Recycle workers now and then so a slow leak never becomes an outage.
max_requests = 1000
max_requests_jitter = 100
# The heartbeat file on a RAM disk: on a container's overlay filesystem it can stall workers.
# gunicorn creates its own private file in it, so the shared directory is safe here.
if os.path.isdir("/dev/shm"):  # noqa: S108
    worker_tmp_dir = "/dev/shm"  # noqa: S108

accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
logconfig_dict = {
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
    "root": {"handlers": ["stdout"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}
