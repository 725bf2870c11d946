"""Settings from the environment: defaults, database/broker selection, production refusals."""

import ast
import re

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.foundation.helpers import (
    BASE_DIR,
    clean_env,
    production_env,
    run_manage,
    settings_values,
)

ENV_READERS = {
    "bool",
    "int",
    "float",
    "list",
    "str",
    "db",
    "db_url",
    "cache",
    "cache_url",
    "json",
    "dict",
    "tuple",
    "url",
    "path",
    "email_url",
    "search_url",
}


def _variables_read_by(path) -> set[str]:
    """Names passed to env("NAME", ...), env.bool("NAME", ...), os.environ.get("NAME") and co."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        func = node.func
        is_env_call = (isinstance(func, ast.Name) and func.id == "env") or (
            isinstance(func, ast.Attribute)
            and func.attr in ENV_READERS
            and isinstance(func.value, ast.Name)
            and func.value.id == "env"
        )
        is_os_environ = (
            isinstance(func, ast.Attribute)
            and func.attr in {"get", "setdefault"}
            and ast.unparse(func.value) == "os.environ"
        ) or (isinstance(func, ast.Attribute) and ast.unparse(func) == "os.getenv")
        if is_env_call or is_os_environ:
            names.add(first.value)
    return names


def _documented_variables() -> set[str]:
    text = (BASE_DIR / ".env.example").read_text()
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))


def test_env_example_documents_every_variable_the_settings_read():
    read = _variables_read_by(BASE_DIR / "evosync" / "settings.py")
    read |= _variables_read_by(BASE_DIR / "gunicorn.conf.py")
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DEBUG"} <= read  # the parser works
    assert sorted(read - _documented_variables()) == []


def test_env_example_documents_the_variables_docker_compose_needs():
    compose = (BASE_DIR / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)[:?}-]", compose))
    assert sorted(required - _documented_variables()) == []


def test_env_example_names_only_variables_something_reads():
    sources = "\n".join(
        (BASE_DIR / name).read_text()
        for name in ("evosync/settings.py", "gunicorn.conf.py", "docker-compose.yml")
    )
    unknown = [name for name in _documented_variables() if name not in sources]
    assert unknown == []


def test_env_example_keeps_the_names_of_the_original_system():
    assert {
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "BASE_URL",
        "EVOTOR_APP_ID",
        "EVOTOR_WEBHOOK_SECRET",
        "JIVOSITE_WIDGET_ID",
        "VK_DEFAULT_PHOTO_PATH",
        "VK_API_VERSION",
        "CATALOG_REFRESH_INTERVAL_SECONDS",
        "INVITE_EXPIRE_HOURS",
        "EMAIL_PROVIDER",
    } <= _documented_variables()


# --- the embedded default ------------------------------------------------------------------------


def test_nothing_set_means_sqlite_with_wal_immediate_and_a_busy_timeout(tmp_path):
    values = settings_values(clean_env(tmp_path, DEBUG="true"), "DATABASES", "Q_CLUSTER", "CACHES")
    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert database["OPTIONS"]["timeout"] >= 5
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert values["Q_CLUSTER"]["orm"] == "default"
    assert "redis" not in values["Q_CLUSTER"]
    assert values["CACHES"]["default"]["BACKEND"].endswith("DatabaseCache")


def test_sqlite_connection_really_uses_wal_and_waits_for_the_lock(tmp_path):
    """The OPTIONS as the database sees them, on a real file (tests otherwise use :memory:)."""
    script = (
        "from django.db import connection; c = connection.cursor(); "
        "print('RESULT', c.execute('PRAGMA journal_mode').fetchone()[0], "
        "c.execute('PRAGMA busy_timeout').fetchone()[0], "
        "c.execute('PRAGMA synchronous').fetchone()[0], connection.transaction_mode)"
    )
    result = run_manage("shell", "-c", script, env=clean_env(tmp_path, DEBUG="true"))
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    assert line.split()[1:] == ["wal", "20000", "1", "IMMEDIATE"]


def test_mysql_url_selects_mariadb_with_utf8mb4(tmp_path):
    env = clean_env(tmp_path, DEBUG="true", DATABASE_URL="mysql://evo:pw@db.internal:3306/evosync")
    database = settings_values(env, "DATABASES")["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.mysql"
    assert (database["HOST"], database["NAME"]) == ("db.internal", "evosync")
    assert database["OPTIONS"]["charset"] == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in database["OPTIONS"]["init_command"]
    assert database["TEST"] == {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    assert database["CONN_HEALTH_CHECKS"] is True


def test_redis_url_selects_the_redis_broker_and_cache(tmp_path):
    url = "redis://:s3cret@redis.internal:6379/0"
    values = settings_values(
        clean_env(tmp_path, DEBUG="true", REDIS_URL=url), "Q_CLUSTER", "CACHES"
    )
    assert values["Q_CLUSTER"]["redis"] == url
    assert "orm" not in values["Q_CLUSTER"]
    assert values["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert values["CACHES"]["default"]["LOCATION"] == url


@pytest.mark.parametrize(
    "variables",
    [{}, {"Q_TIMEOUT": "60", "Q_WORKERS": "5", "Q_MAX_ATTEMPTS": "2"}],
    ids=["defaults", "from-environment"],
)
def test_task_queue_timeout_retry_and_attempts_are_safe(tmp_path, variables):
    q = settings_values(clean_env(tmp_path, DEBUG="true", **variables), "Q_CLUSTER")["Q_CLUSTER"]
    assert q["timeout"] > 0
    assert q["retry"] > q["timeout"], "the ORM broker would re-deliver a task still running"
    assert 1 <= q["max_attempts"] <= 10
    assert q["catch_up"] is False
    assert q["workers"] == int(variables.get("Q_WORKERS", 2))
    if variables:
        assert (q["timeout"], q["max_attempts"]) == (60, 2)


@pytest.mark.parametrize("variable", ["Q_TIMEOUT", "Q_MAX_ATTEMPTS", "Q_WORKERS"])
def test_task_queue_refuses_zero_which_means_forever(tmp_path, variable):
    result = run_manage("check", env=clean_env(tmp_path, DEBUG="true", **{variable: "0"}))
    assert result.returncode != 0
    assert "must each be at least 1" in result.stderr


def test_evotor_intake_takes_known_paths_in_any_case(tmp_path):
    env = clean_env(tmp_path, DEBUG="true", EVOTOR_INTAKE="Push, poll")
    assert settings_values(env, "EVOTOR_INTAKE")["EVOTOR_INTAKE"] == ["push", "poll"]


def test_evotor_intake_refuses_an_unknown_path_clearly(tmp_path):
    result = run_manage("check", env=clean_env(tmp_path, DEBUG="true", EVOTOR_INTAKE="push,smoke"))
    assert result.returncode != 0
    assert "EVOTOR_INTAKE takes a comma-separated list of push, pull, poll" in result.stderr


def test_static_root_can_be_set(tmp_path):
    env = clean_env(tmp_path, DEBUG="true", STATIC_ROOT=str(tmp_path / "static"))
    assert settings_values(env, "STATIC_ROOT")["STATIC_ROOT"] == str(tmp_path / "static")


def test_a_named_env_file_must_exist(tmp_path):
    result = run_manage("check", env=clean_env(tmp_path, ENV_FILE=str(tmp_path / "missing.env")))
    assert result.returncode != 0
    assert "ENV_FILE names" in result.stderr


def test_env_file_values_apply_but_the_environment_wins(tmp_path):
    env_file = tmp_path / "evosync.env"
    env_file.write_text("DEBUG=true\nJIVOSITE_WIDGET_ID=fromfile\nBASE_URL=http://file.example\n")
    env = clean_env(tmp_path, ENV_FILE=str(env_file), BASE_URL="http://env.example")
    values = settings_values(env, "DEBUG", "JIVOSITE_WIDGET_ID", "BASE_URL")
    assert values == {
        "DEBUG": True,
        "JIVOSITE_WIDGET_ID": "fromfile",
        "BASE_URL": "http://env.example",
    }


# --- production mode -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "sentence"),
    [
        ("SECRET_KEY", "SECRET_KEY must be set to a random string of at least 50 characters"),
        ("ALLOWED_HOSTS", "ALLOWED_HOSTS must list the host names the site answers to"),
        ("FIELD_ENCRYPTION_KEYS", "FIELD_ENCRYPTION_KEYS must hold at least one Fernet key"),
    ],
)
def test_production_refuses_to_start_without_what_it_needs(tmp_path, missing, sentence):
    env = production_env(tmp_path)
    del env[missing]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert sentence in result.stderr


def test_production_refuses_the_development_secret_key(tmp_path):
    env = production_env(tmp_path, SECRET_KEY="django-insecure-evosync-development-only-key")
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_the_deploy_checks(tmp_path):
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_collectstatic_works_with_production_settings(tmp_path):
    static_root = tmp_path / "collected"
    env = production_env(tmp_path, STATIC_ROOT=str(static_root))
    result = run_manage("collectstatic", "--noinput", env=env)
    assert result.returncode == 0, result.stderr
    manifest = (static_root / "staticfiles.json").read_text()
    assert re.search(r'"css/site\.css": "css/site\.[0-9a-f]{12}\.css"', manifest)
    assert list(static_root.glob("css/site.*.css.gz"))


def test_passwords_are_hashed_with_bcrypt_sha256_first():
    # test_settings puts a fast hasher in front for speed; the real order follows it.
    real = [h for h in django_settings.PASSWORD_HASHERS if "MD5" not in h]
    assert real[0] == "django.contrib.auth.hashers.BCryptSHA256PasswordHasher"


# --- the database and broker the suite runs on (MariaDB + Redis in CI's second pass) ------------


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "mysql", reason="runs on MariaDB only")
def test_mariadb_test_database_is_utf8mb4_and_strict():
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@character_set_database, @@collation_database, @@sql_mode")
        charset, collation, sql_mode = cursor.fetchone()
    assert (charset, collation) == ("utf8mb4", "utf8mb4_unicode_ci")
    assert "STRICT_TRANS_TABLES" in sql_mode


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="runs with REDIS_URL only")
def test_redis_url_puts_the_queue_and_cache_in_redis():
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache
    from django_q.brokers import get_broker

    assert type(get_broker()).__name__ == "Redis"
    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    cache.set("foundation-probe", "ok", 5)
    assert cache.get("foundation-probe") == "ok"
