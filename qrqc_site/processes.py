"""What `manage.py serve` runs: the site, one Celery worker and Celery beat, in development
(`make run`: Django's runserver, worker and beat logs in files) or in production (gunicorn, every
log on the console for the service manager)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from qrqc_site.supervisor import Program

PYTHON = sys.executable
# Threads pool: the prefork pool hung on shutdown when its process group was signalled.
WORKER = (PYTHON, "-m", "celery", "-A", "qrqc_site", "worker", "--pool=threads", "--concurrency=4", "--loglevel=INFO")
BEAT = (PYTHON, "-m", "celery", "-A", "qrqc_site", "beat", "--loglevel=INFO")
GUNICORN_WORKERS = 3  # sync workers; WEB_CONCURRENCY sets another number


def development(port: int, var_dir: Path, manage: Path) -> list[Program]:
    return [
        Program("site", (PYTHON, str(manage), "runserver", "--noreload", f"127.0.0.1:{port}")),
        Program("worker", WORKER, log=var_dir / "celery-worker.log"),
        Program("beat", BEAT, log=var_dir / "celery-beat.log"),
    ]


def production(bind: str, environ: Mapping[str, str]) -> list[Program]:
    workers = environ.get("WEB_CONCURRENCY") or str(GUNICORN_WORKERS)
    web = (
        PYTHON,
        "-m",
        "gunicorn",
        "qrqc_site.wsgi:application",
        f"--bind={bind}",
        f"--workers={workers}",
        "--access-logfile=-",
        "--graceful-timeout=15",
        "--no-control-socket",  # the supervisor controls it; a socket in $HOME would clash between instances
    )
    return [Program("web", web), Program("worker", WORKER), Program("beat", BEAT)]


def missing_servers(environ: Mapping[str, str]) -> list[str]:
    """Production runs on PostgreSQL and Redis: on SQLite every write waits for the one before it,
    and without Redis each web process has a cache of its own (login throttling, Q charts drawn
    ahead) and the broker is a file."""
    missing = []
    if not environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        missing.append("DATABASE_URL must point at PostgreSQL (postgres://user:password@host:5432/qrqc)")
    if not environ.get("REDIS_URL", "").startswith(("redis://", "rediss://")):
        missing.append("REDIS_URL must point at Redis (redis://host:6379/0)")
    return missing
