# EvoSync: `make run` starts everything on the embedded default, `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
comma  := ,
# Installs come from the hashed lock files in requirements/ (requirements/compile.sh makes them).
# mysqlclient (MariaDB driver) compiles against the client headers: only when asked for.
LOCK   := requirements/dev$(if $(findstring mysql,$(DATABASE_URL)),-mysql).txt
MANAGE := DEBUG=$${DEBUG:-true} $(BIN)/python manage.py

# The root catalog (locale/) holds the strings of templates/ and evosync/; every app keeps its
# own catalog (<app>/locale/). makemessages at the root would also rewrite the apps' catalogs,
# so every other top-level folder is ignored there and each app is done from inside its folder.
ROOT_CATALOG_SOURCES := evosync templates
ROOT_IGNORES := --ignore=.venv --ignore=.git \
	$(addprefix --ignore=,$(filter-out $(ROOT_CATALOG_SOURCES),$(patsubst %/,%,$(wildcard */))))
APP_CATALOGS := $(patsubst %/locale,%,$(wildcard */locale))

.PHONY: run test lint format install migrate schedules messages check-deploy bench clean lock lock-check

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# venv + install, then migrations, schedules, the sandbox, the worker and the site (Ctrl-C stops all).
# RUN_ARGS passes options on, e.g. `make run RUN_ARGS="--addr 127.0.0.1:8010"`.
run: $(STAMP)
	$(MANAGE) run_local $(RUN_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

migrate: $(STAMP)
	$(MANAGE) migrate

schedules: $(STAMP)
	$(MANAGE) setup_schedules

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: $(STAMP)
	DEBUG=true $(BIN)/python manage.py makemessages -l ru -l en $(ROOT_IGNORES)
	set -e; for app in $(APP_CATALOGS); do \
	  echo "$$app:"; \
	  (cd $$app && DEBUG=true $(abspath $(BIN))/python ../manage.py makemessages -l ru -l en); \
	done
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore=.venv

# The production settings' own checks, with throw-away secrets (CI runs the same).
check-deploy: $(STAMP)
	DEBUG=false ALLOWED_HOSTS=evosync.example.ru \
	  SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(60))')" \
	  FIELD_ENCRYPTION_KEYS="$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

bench: $(STAMP)
	$(BIN)/python -m bench

# Refresh the lock files after editing pyproject.toml; lock-check says whether they still match.
lock: $(STAMP)
	PIPTOOLS_COMPILE=$(BIN)/pip-compile requirements/compile.sh

lock-check: $(STAMP)
	PIPTOOLS_COMPILE=$(BIN)/pip-compile requirements/compile.sh --check

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
