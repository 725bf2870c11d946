# EvoSync: `make run` starts everything on the embedded default, `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format install messages check-deploy bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(if $(findstring mysql,$(DATABASE_URL)),-e '.[mysql]',)
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py run_local

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: $(STAMP)
	DEBUG=true $(BIN)/python manage.py makemessages -l ru -l en --ignore=.venv --ignore=staticfiles --ignore=bench --ignore=tests
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore=.venv

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
