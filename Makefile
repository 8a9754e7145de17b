# The two commands of the README: `make run` and `make test`. Everything else is set-up they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run production test format venv venv-dev system-deps

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed
venv-dev: $(VENV)/.installed-dev

# Chromium (browser tests), poppler (PDF checks) and redis-server (reliability tests), when missing.
system-deps:
	@bash .ci/system-deps.sh

# One command: virtualenv, database, demo plant, then the site + Celery worker + beat, supervised
# (a process that dies is restarted and logged; Ctrl-C stops all three).
run: venv
	@mkdir -p $${QRQC_VAR_DIR:-var}
	DJANGO_ENV=development $(PY) manage.py migrate --noinput
	DJANGO_ENV=development $(PY) manage.py seed_demo
	@DJANGO_ENV=development $(PY) manage.py serve --port $(PORT)

# Production behind a TLS proxy (README, "Running in production"): deployment checks, migrations,
# collectstatic, then gunicorn + Celery worker + beat under the same supervisor.
production: venv
	@DJANGO_ENV=production $(PY) manage.py serve --port $(PORT)

# One command: the whole test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set), in
# PYTEST_WORKERS parallel workers (pytest-xdist; 0 runs it in this one process, as plain pytest
# does). 4 on CI's 2 cores, as measured: the tests wait on processes, Chromium and PostgreSQL
# much of the time (2 workers 428 s, 3 322 s, 4 276 s, 5 313 s; serially 805 s).
PYTEST_WORKERS ?= 4
test: venv-dev system-deps
	DJANGO_ENV=test $(PY) -m ruff check .
	DJANGO_ENV=test $(PY) -m ruff format --check .
	DJANGO_ENV=test $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports --no-cache  # the import direction between packages (.importlinter)
	DJANGO_ENV=test $(PY) -m mypy  # type hints of the domain packages (pyproject.toml [tool.mypy])
	DJANGO_ENV=test $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

format: venv-dev
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .
