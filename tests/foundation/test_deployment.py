"""Dockerfile, docker compose, gunicorn and CI script: checked without a Docker engine."""

import json
import re
import shlex
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management import get_commands
from ruamel.yaml import YAML

from tests.foundation.helpers import BASE_DIR, PYTHON, free_port, production_env, run_manage

COMPOSE = BASE_DIR / "docker-compose.yml"
DOCKERFILE = BASE_DIR / "Dockerfile"


def _compose() -> dict:
    return YAML(typ="safe").load(COMPOSE.read_text())


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"^\s*#.*\n", "", DOCKERFILE.read_text(), flags=re.MULTILINE)
    text = re.sub(r"\\\n", " ", text)
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in text.splitlines()
        if line.strip()
    ]


def _duration_seconds(value: str) -> int:
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([hms])", value))


def _manage_commands_in(command) -> list[str]:
    text = " ".join(command) if isinstance(command, list) else command
    return re.findall(r"manage\.py\s+([a-z_]+)", text)


# --- docker compose --------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_spec():
    checker = shutil.which("check-jsonschema") or str(Path(PYTHON).parent / "check-jsonschema")
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_web_worker_migrate_mariadb_and_redis():
    services = _compose()["services"]
    assert set(services) == {"migrate", "web", "worker", "worker-slow", "db", "redis"}
    assert services["db"]["image"] == "mariadb:11.4"
    assert services["redis"]["image"].startswith("redis:7")
    assert services["web"]["command"][:1] == ["gunicorn"]
    assert "evosync.wsgi:application" in services["web"]["command"]
    assert services["worker"]["command"] == ["python", "manage.py", "qcluster"]


def test_compose_runs_a_worker_per_lane():
    from django.conf import settings

    services = _compose()["services"]
    assert "Q_CLUSTER_NAME" not in services["worker"]["environment"]  # the fast lane
    slow = services["worker-slow"]
    assert slow["command"] == ["python", "manage.py", "qcluster"]
    assert slow["environment"]["Q_CLUSTER_NAME"] == settings.Q_SLOW_CLUSTER
    assert settings.Q_SLOW_CLUSTER in settings.Q_CLUSTER["ALT_CLUSTERS"]
    # The slow lane keeps the rest of the app's environment (database, Redis, secrets).
    assert slow["environment"]["REDIS_URL"] == services["worker"]["environment"]["REDIS_URL"]


def test_compose_migrates_and_sets_up_schedules_once_before_web_and_worker():
    services = _compose()["services"]
    assert _manage_commands_in(services["migrate"]["command"]) == ["migrate", "setup_schedules"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "worker-slow"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["db"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"


def test_compose_commands_name_management_commands_that_exist():
    known = set(get_commands())
    for name, service in _compose()["services"].items():
        for command in _manage_commands_in(service.get("command", [])):
            assert command in known, f"{name} runs unknown command {command}"


def test_compose_healthchecks_for_mariadb_and_redis():
    services = _compose()["services"]
    assert services["db"]["healthcheck"]["test"] == [
        "CMD",
        "healthcheck.sh",
        "--connect",
        "--innodb_initialized",
    ]
    assert services["redis"]["healthcheck"]["test"][-1] == "ping"
    redis_command = services["redis"]["command"]
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"


def test_compose_keeps_database_and_redis_off_the_host_network():
    services = _compose()["services"]
    assert "ports" not in services["db"]
    assert "ports" not in services["redis"]


@pytest.mark.parametrize("name", ["worker", "worker-slow"])
def test_compose_worker_waits_longer_than_a_task_may_run(name):
    compose = _compose()
    worker = compose["services"][name]
    q_timeout = re.fullmatch(r"\$\{Q_TIMEOUT:-(\d+)\}", worker["environment"]["Q_TIMEOUT"])
    assert q_timeout, "Q_TIMEOUT must be passed to the worker with a default"
    assert _duration_seconds(worker["stop_grace_period"]) > int(q_timeout.group(1))
    from django.conf import settings

    assert _duration_seconds(worker["stop_grace_period"]) > settings.Q_CLUSTER["timeout"]


def test_compose_takes_secrets_from_the_environment_and_refuses_to_run_without():
    text = COMPOSE.read_text()
    for name in (
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "DB_PASSWORD",
        "REDIS_PASSWORD",
        "ALLOWED_HOSTS",
    ):
        assert re.search(r"\$\{" + name + r":\?[^}]+\}", text), name
    environment = _compose()["services"]["web"]["environment"]
    assert environment["DEBUG"] == "false"
    assert environment["DATABASE_URL"].startswith("mysql://")
    assert environment["REDIS_URL"].startswith("redis://")


# --- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_builds_in_two_stages_and_runs_as_a_user():
    instructions = _dockerfile_instructions()
    stages = [args for op, args in instructions if op == "FROM"]
    assert stages == ["python:3.12-slim AS build", "python:3.12-slim AS runtime"]
    runtime = instructions[[op for op, _ in instructions].index("FROM", 1) :]
    runtime_runs = " ".join(args for op, args in runtime if op == "RUN")
    assert "libmariadb3" in runtime_runs
    assert "build-essential" not in runtime_runs and "libmariadb-dev" not in runtime_runs
    users = [args for op, args in runtime if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert "collectstatic" in runtime_runs


def test_dockerfile_copies_files_that_exist():
    for op, args in _dockerfile_instructions():
        if op != "COPY":
            continue
        parts = [part for part in shlex.split(args) if not part.startswith("--")]
        if "--from=" in args:
            continue
        for source in parts[:-1]:
            assert (BASE_DIR / source).exists(), f"COPY {source}: no such file in the repo"


def test_dockerfile_command_is_exec_form_gunicorn_on_an_existing_module():
    (command,) = [args for op, args in _dockerfile_instructions() if op == "CMD"]
    argv = json.loads(command)
    assert argv[0] == "gunicorn"
    module, _, attribute = argv[-1].partition(":")
    assert (BASE_DIR / (module.replace(".", "/") + ".py")).is_file()
    assert attribute == "application"
    if "--config" in argv:
        assert (BASE_DIR / argv[argv.index("--config") + 1]).is_file()


def test_dockerfile_runs_management_commands_that_exist():
    known = set(get_commands())
    for op, args in _dockerfile_instructions():
        for command in _manage_commands_in(args) if op in ("RUN", "CMD") else []:
            assert command in known


def test_dockerignore_keeps_secrets_and_local_state_out_but_not_the_code():
    patterns = [
        line.strip()
        for line in (BASE_DIR / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for must_exclude in (".env", ".venv", ".git", "db.sqlite3*"):
        assert must_exclude in patterns
    from django.apps import apps

    needed = {"manage.py", "gunicorn.conf.py", "pyproject.toml", "templates", "static", "locale"}
    needed |= {
        Path(app.path).relative_to(BASE_DIR).parts[0]
        for app in apps.get_app_configs()
        if Path(app.path).is_relative_to(BASE_DIR) and ".venv" not in Path(app.path).parts
    }
    excluded = {p for p in patterns if not p.startswith("!")}
    assert sorted(needed & excluded) == []


# --- gunicorn ------------------------------------------------------------------------------------


def test_gunicorn_serves_health_with_json_access_logs_under_production_settings(tmp_path):
    port = free_port()
    env = production_env(
        tmp_path,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        ALLOWED_HOSTS="evosync.example.ru",
    )
    assert run_manage("migrate", "--noinput", env=env).returncode == 0
    gunicorn = str(Path(PYTHON).parent / "gunicorn")
    process = subprocess.Popen(
        [gunicorn, "--config", "gunicorn.conf.py", "evosync.wsgi:application"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # The compose healthcheck itself, pointed at this port.
        (probe,) = [
            part
            for part in _compose()["services"]["web"]["healthcheck"]["test"]
            if "urlopen" in part
        ]
        probe = probe.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            result = subprocess.run([PYTHON, "-c", probe], env=env, capture_output=True, timeout=30)
            if result.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert result.returncode == 0, result.stderr
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/", headers={"Host": "evosync.example.ru"}
        )
        with pytest.raises(urllib.error.HTTPError) as redirect:
            _open_without_redirects(request)
        assert redirect.value.code == 301, "pages outside /health must go to HTTPS"
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    access = [
        json.loads(line)
        for line in output.splitlines()
        if line.startswith("{") and '"gunicorn.access"' in line
    ]
    assert any("GET /health" in line["message"] and " 200 " in line["message"] for line in access)


def _open_without_redirects(request):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    return urllib.request.build_opener(NoRedirect).open(request, timeout=5)


# --- CI ------------------------------------------------------------------------------------------


def test_ci_script_is_valid_bash_that_stops_at_the_first_failure():
    script = BASE_DIR / ".ci" / "run"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    assert "set -euo pipefail" in text
    assert "make test" in text
    assert re.search(r'DATABASE_URL="mysql://[^"]+" REDIS_URL="redis://[^"]+" make test', text)


# --- reproducible installs ---------------------------------------------------------------------

LOCKS = {
    "requirements/dev.txt": ("dev",),
    "requirements/dev-mysql.txt": ("dev", "mysql"),
    "requirements/prod.txt": ("mysql",),
}


def _normalized(name: str) -> str:
    """PEP 503: ruamel.yaml, ruamel_yaml and ruamel-yaml are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    return _normalized(re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0])


def _locked(path: str) -> dict[str, str]:
    """name -> the whole entry (pin and hashes) of one lock file."""
    text = (BASE_DIR / path).read_text()
    entries = re.findall(
        r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s*\\\n\s+--hash=\S+)+)", text, re.M
    )
    return {_normalized(name): hashes for name, _version, hashes in entries}


@pytest.mark.parametrize("path", sorted(LOCKS))
def test_lock_file_pins_every_declared_dependency_with_hashes(path):
    import tomllib

    project = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in LOCKS[path]:
        declared += project["optional-dependencies"][extra]
    locked = _locked(path)
    missing = sorted({_requirement_name(d) for d in declared} - set(locked))
    assert not missing, f"{path} lacks {missing}: run `make lock`"
    text = (BASE_DIR / path).read_text()
    pins = re.findall(r"^[A-Za-z0-9][A-Za-z0-9._-]*==", text, re.M)
    assert len(pins) == len(locked), "every pin carries at least one --hash"


def test_the_production_lock_has_no_test_tools():
    locked = _locked("requirements/prod.txt")
    assert not {"pytest", "playwright", "ruff", "pip-tools"} & set(locked)


def test_dockerfile_makefile_and_ci_install_from_the_hashed_locks():
    docker = " ".join(args for op, args in _dockerfile_instructions() if op == "RUN")
    assert "--require-hashes -r requirements.txt" in docker
    assert any(
        op == "COPY" and args.split()[0] == "requirements/prod.txt"
        for op, args in _dockerfile_instructions()
    )
    makefile = (BASE_DIR / "Makefile").read_text()
    assert "--require-hashes -r $(LOCK)" in makefile
    ci = (BASE_DIR / ".ci" / "run").read_text()
    assert "--require-hashes -r requirements/dev-mysql.txt" in ci
    assert "make lock-check" in ci


def test_every_third_party_module_the_code_imports_is_declared_directly():
    """A package imported only because another one happens to pull it in breaks the day that
    one stops: every import in the code, the tests and the benchmarks names a declared package."""
    import ast
    import sys
    import tomllib
    from importlib.metadata import packages_distributions

    project = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["project"]
    declared = {_requirement_name(d) for d in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        declared |= {_requirement_name(d) for d in extra}
    local = {p.name for p in BASE_DIR.iterdir() if (p / "__init__.py").exists()}
    distributions = packages_distributions()
    # Optional extras may be absent from this venv (mysqlclient on the embedded default).
    distributions.setdefault("MySQLdb", ["mysqlclient"])
    undeclared = set()
    for path in BASE_DIR.glob("**/*.py"):
        if {".venv", "node_modules"} & set(path.parts) or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in local or top == "__future__":
                    continue
                names = {_normalized(d) for d in distributions.get(top, [top])}
                if not names & declared:
                    undeclared.add(f"{top} ({path.relative_to(BASE_DIR)})")
    assert not undeclared, sorted(undeclared)
