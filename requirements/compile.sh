#!/usr/bin/env bash
# Pins every dependency of pyproject.toml, with hashes, into the three lock files the project
# installs from:
#   dev.txt        the service and its tests on the embedded default (make run, make test)
#   dev-mysql.txt  the same plus mysqlclient (make with a MariaDB DATABASE_URL, CI)
#   prod.txt       the service and mysqlclient, nothing for tests (the Docker image)
# `requirements/compile.sh` refreshes them (keeping every pin that still fits pyproject.toml);
# `requirements/compile.sh --check` only says whether they still match pyproject.toml (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
PIPTOOLS_COMPILE=${PIPTOOLS_COMPILE:-.venv/bin/pip-compile}
check=false
[ "${1:-}" = "--check" ] && check=true

compile() {  # compile OUTPUT EXTRA...
  local out=$1; shift
  local extras=() target=$out
  for extra in "$@"; do extras+=(--extra "$extra"); done
  if $check; then
    target=$(mktemp --suffix=.txt)
    cp "$out" "$target"   # the current pins are the seed: only a change of pyproject.toml moves them
  fi
  CUSTOM_COMPILE_COMMAND="requirements/compile.sh" "$PIPTOOLS_COMPILE" --quiet --generate-hashes \
    --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --resolver=backtracking \
    "${extras[@]}" --output-file "$target" pyproject.toml
  if $check; then
    if ! diff -u "$out" "$target"; then
      echo "$out does not match pyproject.toml: run requirements/compile.sh and commit the result." >&2
      exit 1
    fi
    rm -f "$target"
  fi
}

compile requirements/dev.txt dev
compile requirements/dev-mysql.txt dev mysql
compile requirements/prod.txt mysql
$check && echo "lock files match pyproject.toml"
true
