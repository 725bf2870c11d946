"""EvoSync settings, read from the environment (and a `.env` file) through django-environ.

Every variable is documented in `.env.example`. With nothing set, the service runs on the
embedded default: SQLite, the django-q2 ORM broker, the local cache and the sandboxes' URLs
left to the operator.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from evosync.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

# A placeholder that is only acceptable while DEBUG is on: production refuses to start with it.
INSECURE_DEFAULT_SECRET_KEY = "django-insecure-evosync-development-only-key"

env = environ.Env()
# A `.env` next to manage.py is optional (containers get their variables from the environment);
# a file named by ENV_FILE must exist. Variables already in the environment win.
_ENV_FILE = env("ENV_FILE", default="")
if _ENV_FILE and not Path(_ENV_FILE).is_file():
    raise ImproperlyConfigured(f"ENV_FILE names {_ENV_FILE}, which is not a file.")
if _ENV_FILE or (BASE_DIR / ".env").is_file():
    environ.Env.read_env(_ENV_FILE or str(BASE_DIR / ".env"), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
BASE_URL = env("BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

if not DEBUG:
    if SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DEBUG is off, so SECRET_KEY must be set to a random string of at least 50 "
            "characters (for example: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DEBUG is off, so ALLOWED_HOSTS must list the host names the site answers to "
            "(for example: ALLOWED_HOSTS=evosync.example.ru)."
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "django_htmx",
    # django-axes under a translatable name (label still "axes"): accounts/axes_app.py.
    "accounts.axes_app.AxesConfig",
    "evosync",
    "accounts",
    "connections",
    "catalog",
    "vk_catalog",
    "sync",
    "webhooks",
    "sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "evosync.csp.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-axes must come last so it sees the outcome of the login views.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "evosync.urls"
WSGI_APPLICATION = "evosync.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "evosync.context_processors.site",
                # The alert banners above every page (the base template names no app).
                "sync.context_processors.alert_banners",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"].endswith("sqlite3"):
    # WAL lets pages read while the worker writes; IMMEDIATE makes writers queue for the lock
    # (up to the busy timeout) instead of failing with "database is locked".
    _db.setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif _db["ENGINE"].endswith("mysql"):
    _db.setdefault("OPTIONS", {}).update(
        {"charset": "utf8mb4", "init_command": "SET sql_mode='STRICT_TRANS_TABLES'"}
    )
    _db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    _db.setdefault("CONN_MAX_AGE", 60)
    _db["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker --------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": env.cache_url_config(REDIS_URL)}
else:
    # A database cache is shared by web, worker and the django-q2 monitor (LocMem is not),
    # which the ORM broker's stats and the VK rate limiter need.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "evosync_cache",
        }
    }

Q_WORKERS = env.int("Q_WORKERS", default=2)
Q_SLOW_WORKERS = env.int("Q_SLOW_WORKERS", default=1)
Q_TIMEOUT = env.int("Q_TIMEOUT", default=1800)
Q_MAX_ATTEMPTS = env.int("Q_MAX_ATTEMPTS", default=3)
if Q_WORKERS < 1 or Q_SLOW_WORKERS < 1 or Q_TIMEOUT < 1 or Q_MAX_ATTEMPTS < 1:
    # django-q2 reads 0 as "no timeout" / "retry forever": never what an operator means here.
    raise ImproperlyConfigured(
        "Q_WORKERS, Q_SLOW_WORKERS, Q_TIMEOUT (seconds) and Q_MAX_ATTEMPTS must each be at least 1."
    )
# Two lanes, each a django-q2 cluster with a queue of its own (README "Task queues"): the fast
# lane (the default cluster, `qcluster` with no Q_CLUSTER_NAME) takes the change-driven work, the
# slow lane (`Q_CLUSTER_NAME=evosync-slow qcluster`) first publishes, full publishes,
# reconciliation and full catalog reads, so a long task never holds up a change. Which task goes
# where: `evosync.queues.TASK_LANES`.
Q_FAST_CLUSTER = "evosync"
Q_SLOW_CLUSTER = "evosync-slow"
Q_CLUSTER = {
    # Also the signing salt of every task (django-q2's PREFIX): the same for both lanes.
    "name": Q_FAST_CLUSTER,
    "workers": Q_WORKERS,
    # A whole first publish of a large catalog at VK's 3 requests per second fits in the timeout;
    # retry must stay above it or the ORM broker re-delivers a task that is still running.
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 600,
    "max_attempts": Q_MAX_ATTEMPTS,
    "catch_up": False,
    "save_limit": 500,
    "queue_limit": max(4, Q_WORKERS * 2),
    "recycle": 200,
    "max_rss": 400_000,
    "label": _("Task queue"),
    # Read by django-q2 (django_q/conf.py) when a worker starts with Q_CLUSTER_NAME set to a key
    # here: these values replace the ones above for that cluster.
    "ALT_CLUSTERS": {
        Q_SLOW_CLUSTER: {
            "workers": Q_SLOW_WORKERS,
            # Take no task ahead of a free worker: one taken ahead waits behind a first publish
            # in this process while another slow worker could have had it.
            "queue_limit": Q_SLOW_WORKERS,
        },
    },
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 1

# --- Authentication --------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "sync:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
# Attempts count against the e-mail as stored (trimmed, lower case), not as typed.
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"
# How many proxies in front of the site append to X-Forwarded-For (0: use the socket's
# address). Lockouts count per e-mail and client address; see docs/security.md.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
AXES_CLIENT_IP_CALLABLE = "accounts.backends.client_ip"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"

EMAIL_CONFIRM_MAX_AGE_HOURS = env.int("EMAIL_CONFIRM_MAX_AGE_HOURS", default=48)
INVITE_EXPIRE_HOURS = env.int("INVITE_EXPIRE_HOURS", default=72)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3 * 3600)

# --- E-mail ------------------------------------------------------------------------------------
EMAIL_PROVIDER = env("EMAIL_PROVIDER", default="console")
_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
}
if EMAIL_PROVIDER not in _EMAIL_BACKENDS:
    raise ImproperlyConfigured(
        f"EMAIL_PROVIDER must be one of {', '.join(sorted(_EMAIL_BACKENDS))}, "
        f"not {EMAIL_PROVIDER!r}."
    )
EMAIL_BACKEND = _EMAIL_BACKENDS[EMAIL_PROVIDER]
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="EvoSync <noreply@evosync.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# One date-time format across the site, per language (evosync/formats/<lang>/formats.py).
FORMAT_MODULE_PATH = ["evosync.formats"]
TIME_ZONE = env("TIME_ZONE", default="Europe/Moscow")
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security ------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # The health probe of the orchestrator speaks plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^health$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if env.bool("BEHIND_TLS_PROXY", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = [
    # django-q2's Task model has a partial index MariaDB cannot build; harmless (docs/contracts/ops-stack.md §1.9).
    "models.W037",
    # HSTS preload is a commitment the operator opts into with SECURE_HSTS_PRELOAD=true.
    "security.W021",
]

# Fernet keys for tokens at rest: the first encrypts, all decrypt (rotation). Independent of
# SECRET_KEY on purpose, so rotating one never makes the other's data unreadable.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DEBUG is off, so FIELD_ENCRYPTION_KEYS must hold at least one Fernet key "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        )
    # Development only: a fixed key so a restarted dev server can still read its tokens.
    FIELD_ENCRYPTION_KEYS = ["ZGV2ZWxvcG1lbnQtb25seS1rZXktZm9yLWV2b3N5bmM="]

# --- Vendors -------------------------------------------------------------------------------------
EVOTOR_API_URL = env("EVOTOR_API_URL", default="https://api.evotor.ru").rstrip("/")
EVOTOR_APP_ID = env("EVOTOR_APP_ID", default="")
EVOTOR_WEBHOOK_SECRET = env("EVOTOR_WEBHOOK_SECRET", default="")
# Empty keeps the webhooks closed; a short secret would be guessable.
EVOTOR_WEBHOOK_SECRET_MIN_LENGTH = 32
_short = len(EVOTOR_WEBHOOK_SECRET) < EVOTOR_WEBHOOK_SECRET_MIN_LENGTH
if not DEBUG and EVOTOR_WEBHOOK_SECRET and _short:
    raise ImproperlyConfigured(
        f"DEBUG is off, so EVOTOR_WEBHOOK_SECRET must be at least "
        f"{EVOTOR_WEBHOOK_SECRET_MIN_LENGTH} characters long "
        "(the token the Evotor developer portal generates is; or leave it empty to keep the "
        "webhooks closed)."
    )
# "bearer" sends `Authorization: Bearer <token>`, "x-authorization" the raw token in
# `X-Authorization`: the docs disagree on which one production wants (docs/contracts/evotor-api.md §10.1).
EVOTOR_AUTH_HEADER = env("EVOTOR_AUTH_HEADER", default="bearer")
# Image URLs come from Evotor's data: only these hosts are fetched (".evotor.ru" = the domain and
# its subdomains; Evotor's API host is always allowed), and a download may take this long in all.
EVOTOR_IMAGE_HOSTS = env.list("EVOTOR_IMAGE_HOSTS", default=[".evotor.ru"])
EVOTOR_IMAGE_DOWNLOAD_SECONDS = env.float("EVOTOR_IMAGE_DOWNLOAD_SECONDS", default=20.0)
VK_API_URL = env("VK_API_URL", default="https://api.vk.com/method").rstrip("/")
VK_API_VERSION = env("VK_API_VERSION", default="5.199")
VK_REQUESTS_PER_SECOND = env.float("VK_REQUESTS_PER_SECOND", default=3.0)
VK_DEFAULT_PHOTO_PATH = env("VK_DEFAULT_PHOTO_PATH", default="")
# VK ID (one-click VK connect, docs/contracts/vk-market-api.md §13 addendum): the authorization server, the
# app registered at id.vk.com, and the address VK sends the person back to. Without a client id
# the button is hidden and only pasting a token is offered. An empty redirect URI means "this
# site's /connections/vk/callback/ as the request reached it"; production sets it to the exact
# address registered at VK.
VK_ID_URL = env("VK_ID_URL", default="https://id.vk.com").rstrip("/")
VK_ID_CLIENT_ID = env("VK_ID_CLIENT_ID", default="")
VK_ID_CLIENT_SECRET = env("VK_ID_CLIENT_SECRET", default="")
VK_ID_REDIRECT_URI = env("VK_ID_REDIRECT_URI", default="")
VK_ID_SCOPE = env("VK_ID_SCOPE", default="market photos groups")
HTTP_CONNECT_TIMEOUT = env.float("HTTP_CONNECT_TIMEOUT", default=5.0)
HTTP_READ_TIMEOUT = env.float("HTTP_READ_TIMEOUT", default=30.0)
HTTP_MAX_RETRIES = env.int("HTTP_MAX_RETRIES", default=4)
# The slow schedules (README "Task queues"): the full Evotor read that reconciles whatever the
# change paths missed (removals above all), the VK catalog re-read, and the full publish that
# retries failed items. Changes themselves arrive by EVOTOR_INTAKE.
CATALOG_REFRESH_INTERVAL_SECONDS = env.int("CATALOG_REFRESH_INTERVAL_SECONDS", default=86_400)
VK_CATALOG_REFRESH_INTERVAL_SECONDS = env.int("VK_CATALOG_REFRESH_INTERVAL_SECONDS", default=86_400)
SYNC_INTERVAL_SECONDS = env.int("SYNC_INTERVAL_SECONDS", default=3_600)
# The hour (0–23, TIME_ZONE) the daily reads above start at: at night, when tills are quiet.
RECONCILE_HOUR = env.int("RECONCILE_HOUR", default=3)
if not 0 <= RECONCILE_HOUR <= 23:
    raise ImproperlyConfigured("RECONCILE_HOUR is an hour of the day, 0 to 23.")
# Paths that bring single changes from Evotor (README "Changes from Evotor", issue 10).
EVOTOR_INTAKE_PATHS = ("push", "pull", "poll")
EVOTOR_INTAKE = [p.strip().lower() for p in env.list("EVOTOR_INTAKE", default=["push"]) if p]
if set(EVOTOR_INTAKE) - set(EVOTOR_INTAKE_PATHS):
    raise ImproperlyConfigured(
        f"EVOTOR_INTAKE takes a comma-separated list of {', '.join(EVOTOR_INTAKE_PATHS)}, "
        f"not {','.join(EVOTOR_INTAKE)!r}."
    )
EVOTOR_PUSH_SECRET = env("EVOTOR_PUSH_SECRET", default="")
EVOTOR_PUSH_SIGNATURE_HEADER = env("EVOTOR_PUSH_SIGNATURE_HEADER", default="X-Hub-Signature")
EVOTOR_PUBLISHER_TOKEN = env("EVOTOR_PUBLISHER_TOKEN", default="")
EVOTOR_EVENTS_INTERVAL_SECONDS = env.int("EVOTOR_EVENTS_INTERVAL_SECONDS", default=60)
# Within each run of the events poller, read again every this many seconds until the next run
# (webhooks.changes.evotor_events_poll_rounds); 0: once a run, a pulled change then waits 0–90 s.
EVOTOR_EVENTS_POLL_SECONDS = env.int("EVOTOR_EVENTS_POLL_SECONDS", default=10)
EVOTOR_POLL_INTERVAL_SECONDS = env.int("EVOTOR_POLL_INTERVAL_SECONDS", default=60)
# With `poll` alone no picture event arrives: each whole run reads the image lists of
# 1/EVOTOR_IMAGE_SCAN_SLICES of the published products (hourly runs, 24: each once a day;
# 0: off). sync/publish/image_scan.py.
EVOTOR_IMAGE_SCAN_SLICES = env.int("EVOTOR_IMAGE_SCAN_SLICES", default=24)
if EVOTOR_IMAGE_SCAN_SLICES < 0:
    raise ImproperlyConfigured("EVOTOR_IMAGE_SCAN_SLICES is 0 (off) or a number of slices.")
# Targeted publishes of changed products (sync/debounce.py): wait for this many quiet seconds
# after the last change, but never longer than the cap after the first one.
SYNC_CHANGES_QUIET_SECONDS = env.float("SYNC_CHANGES_QUIET_SECONDS", default=3.0)
SYNC_CHANGES_CAP_SECONDS = env.float("SYNC_CHANGES_CAP_SECONDS", default=30.0)
# The preview page (sync/views_preview.py) plans a catalog of up to this many products in the
# request (about a second at 2,000); a larger one is planned by a task in the slow lane while the
# page shows its progress (a 100k plan takes about 25 s, against gunicorn's 60 s timeout).
PREVIEW_INLINE_MAX_PRODUCTS = env.int("PREVIEW_INLINE_MAX_PRODUCTS", default=2_000)
# A preview task that wrote no progress for this long has lost its worker: the page says so.
PREVIEW_STALL_SECONDS = env.int("PREVIEW_STALL_SECONDS", default=600)
# Whole plans read the catalog this many products at a time (sync/plan/chunks.py), and a whole
# run applies at most this many items per task, then queues itself again for the rest
# (sync/publish/chunked.py), so a 100k first publish never meets Q_TIMEOUT.
SYNC_PLAN_CHUNK = env.int("SYNC_PLAN_CHUNK", default=2_000)
SYNC_RUN_CHUNK_ITEMS = env.int("SYNC_RUN_CHUNK_ITEMS", default=10_000)
if SYNC_PLAN_CHUNK < 1 or SYNC_RUN_CHUNK_ITEMS < 1:
    raise ImproperlyConfigured("SYNC_PLAN_CHUNK and SYNC_RUN_CHUNK_ITEMS must each be at least 1.")

# Image memory the publisher's photo threads may hold at once, in MB (estimated from each image's
# header before it is decoded, sync/publish/pipeline.py): a catalog of huge photos waits its turn
# instead of exhausting the worker. The largest image accepted (25 Mpx) needs about 130 MB.
SYNC_PHOTO_MEMORY_MB = env.int("SYNC_PHOTO_MEMORY_MB", default=256)
JIVOSITE_WIDGET_ID = env("JIVOSITE_WIDGET_ID", default="")
# Where the sandbox command listens, and whether `make run` seeds a demo merchant.
SANDBOX_HOST = env("SANDBOX_HOST", default="127.0.0.1")
SANDBOX_PORT = env.int("SANDBOX_PORT", default=8001)
SANDBOX_EVOTOR_PUSH_URL = env("SANDBOX_EVOTOR_PUSH_URL", default="")

# --- Logging: JSON lines on stdout --------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = logging_config(LOG_LEVEL)
# Base of the exponential backoff between retries of a transient vendor failure.
HTTP_BACKOFF_SECONDS = env.float("HTTP_BACKOFF_SECONDS", default=1.0)

# --- Evotor webhooks (webhooks app) ----------------------------------------------------------
# Optional "Basic Auth" of the Evotor developer portal, as "login:password"; empty = only the
# bearer secret (EVOTOR_WEBHOOK_SECRET) is accepted (docs/contracts/evotor-api.md §2, §7).
EVOTOR_WEBHOOK_BASIC_AUTH = env("EVOTOR_WEBHOOK_BASIC_AUTH", default="")

# --- VK rate limiter (connections/vk_rate_limit.py) --------------------------------------------
# At most VK_REQUESTS_PER_SECOND requests of one token leave in any window of 1 s × (1 + margin),
# each counted from when it was written to the network (not from when it was allowed to go), so
# a busy host cannot squeeze a 4th into VK's second. The margin is how much longer one request
# may take to reach VK than another before VK counts 4 in its second (one-way network jitter;
# a stall on our side is already in the log): 0.03 (30 ms) is several times the jitter of a
# path to VK from a host in Russia, and costs publishing 3 % of VK's ceiling (0.07 until the
# log counted writes; docs/benchmarks.md, issue 11). A rarer delay (a lost packet resent
# after 200 ms or more) is beyond any margin: VK's error 6 is retried and counted on the run
# (`vk_rate_refusals`); raise the margin where a run shows refusals.
VK_RATE_LIMIT_MARGIN = env.float("VK_RATE_LIMIT_MARGIN", default=0.03)

# --- Accounts: e-mails anybody can trigger (accounts.services.public_email_allowed) ------------
# "Send the link again" and "Forgot password" e-mail an address at most once per this many
# seconds each, so the forms cannot flood someone's inbox. 0 turns the limit off.
ACCOUNTS_PUBLIC_EMAIL_INTERVAL_SECONDS = env.int(
    "ACCOUNTS_PUBLIC_EMAIL_INTERVAL_SECONDS", default=60
)

# --- Content-Security-Policy and upload size ----------------------------------------------------
# Content-Security-Policy (django-csp 4): our pages load scripts, styles, images and fonts from
# this site only and run no inline code, so the policy is "self". The optional JivoSite chat
# widget (JIVOSITE_WIDGET_ID) needs its own hosts and inline styles: allowed only when it is on.
_CSP_SELF = ["'self'"]
_JIVO = ["https://*.jivosite.com", "wss://*.jivosite.com"] if JIVOSITE_WIDGET_ID else []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": _CSP_SELF,
        "script-src": [*_CSP_SELF, *_JIVO[:1]],
        "style-src": [*_CSP_SELF, *(["'unsafe-inline'", *_JIVO[:1]] if _JIVO else [])],
        "img-src": [*_CSP_SELF, "data:", *_JIVO[:1]],
        "font-src": [*_CSP_SELF, *_JIVO[:1]],
        "connect-src": [*_CSP_SELF, *_JIVO],
        "frame-src": [*_JIVO[:1]] or ["'none'"],
        "object-src": ["'none'"],
        "base-uri": _CSP_SELF,
        "form-action": _CSP_SELF,
        "frame-ancestors": ["'none'"],
    }
}

# Uploads: one request carries at most one 10 MB photo plus the form (evosync/uploads.py).
# Put the same limit (or a little more) in the proxy: nginx `client_max_body_size 12m;`.
UPLOAD_MAX_REQUEST_BYTES = 12 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "evosync.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
