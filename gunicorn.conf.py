"""gunicorn settings for the `web` process (`gunicorn evosync.wsgi:application`).

Read from the environment like the rest of EvoSync; see .env.example. Logs go to stdout as JSON
lines, configured by the application's own `evosync.logging.logging_config`.
"""

import os

from evosync.logging import logging_config

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
# The application's own configuration (evosync/logging.py), so gunicorn's lines and the site's
# are the same JSON with the same masking, and there is one place to change it.
logconfig_dict = logging_config(os.environ.get("LOG_LEVEL", "INFO"))
