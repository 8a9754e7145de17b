#!/usr/bin/env bash
# Started by `make run`: the site, a Celery worker and Celery beat, stopped together on Ctrl-C.
set -euo pipefail
PY=.venv/bin/python
mkdir -p var/celery-broker/queue var/celery-broker/control
if [ -z "${REDIS_URL:-}" ]; then
  echo "Broker: embedded (filesystem, var/celery-broker). Set REDIS_URL to use Redis."
fi
echo "Database: ${DATABASE_URL:-SQLite var/qrqc.sqlite3 (set DATABASE_URL for PostgreSQL)}"
trap 'kill 0' EXIT INT TERM
# Threads pool: the prefork pool hung on shutdown when its process group was signalled.
.venv/bin/celery -A qrqc_site worker --pool=threads --concurrency=4 --loglevel=INFO > var/celery-worker.log 2>&1 &
.venv/bin/celery -A qrqc_site beat --loglevel=INFO > var/celery-beat.log 2>&1 &
echo
echo "QRQC is running at http://127.0.0.1:${PORT}/   (Ctrl-C stops the site, worker and beat)"
echo "Logins, password qrqc-demo: leader.a1 (team leader), engineer.quality, director.assembly, manager.quality, gm, admin"
echo "Logs: var/celery-worker.log, var/celery-beat.log"
echo
$PY manage.py runserver "127.0.0.1:${PORT}"
