#!/usr/bin/env bash
# Started by `make run`: the site, a Celery worker and Celery beat, stopped together on Ctrl-C.
set -euo pipefail
PY=.venv/bin/python
VAR="${QRQC_VAR_DIR:-var}"
mkdir -p "$VAR/celery-broker/queue" "$VAR/celery-broker/control"
echo "Database: ${DATABASE_URL:+PostgreSQL (DATABASE_URL)}${DATABASE_URL:-SQLite $VAR/qrqc.sqlite3 (set DATABASE_URL for PostgreSQL)}"
echo "Broker:   ${REDIS_URL:+Redis (REDIS_URL)}${REDIS_URL:-embedded, files in $VAR/celery-broker (set REDIS_URL for Redis)}"
trap 'trap - EXIT; kill 0' EXIT INT TERM
# Threads pool: the prefork pool hung on shutdown when its process group was signalled.
.venv/bin/celery -A qrqc_site worker --pool=threads --concurrency=4 --loglevel=INFO > "$VAR/celery-worker.log" 2>&1 &
.venv/bin/celery -A qrqc_site beat --loglevel=INFO > "$VAR/celery-beat.log" 2>&1 &
echo
echo "QRQC is running at http://127.0.0.1:${PORT}/   (Ctrl-C stops the site, worker and beat)"
echo "Demo logins, password qrqc-demo: leader.a1 (team leader), engineer.quality, director.assembly, manager.quality, gm, admin"
echo "Logs: $VAR/celery-worker.log, $VAR/celery-beat.log"
echo
$PY manage.py runserver --noreload "127.0.0.1:${PORT}"
