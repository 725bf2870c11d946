# EvoSync production image: `gunicorn evosync.wsgi:application` (web), `python manage.py qcluster`
# (the fast lane's worker), `Q_CLUSTER_NAME=evosync-slow python manage.py qcluster` (the slow
# lane's worker) and `python manage.py migrate` / `setup_schedules` (deploy step) all run from it.
# See docker-compose.yml for how they fit together.

# --- build: compile mysqlclient against the MariaDB client headers into a venv ---------------
FROM python:3.12-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential pkg-config libmariadb-dev \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
# Only the locked dependency list (hashes checked), so code changes do not reinstall them. The
# code itself runs from /app (not installed as a package), the same way `make run` runs it.
COPY requirements/prod.txt ./requirements.txt
RUN /opt/venv/bin/pip install --require-hashes -r requirements.txt

# --- runtime: the venv, the code, the collected static files; no compilers ---------------------
FROM python:3.12-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/var/media
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# What is copied is decided by .dockerignore (no .env, .venv, database, tests or git history).
# The code stays owned by root: the app user can read it, not change it.
COPY . .
# Static files are collected into the image with throw-away secrets: the settings refuse to
# load without them in production mode, and nothing here keeps them.
RUN DEBUG=false ALLOWED_HOSTS=build.invalid \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(60))')" \
    FIELD_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/var/media \
    && chown -R app:app /app/var
USER app
EXPOSE 8000
CMD ["gunicorn", "--config", "gunicorn.conf.py", "evosync.wsgi:application"]
