"""The site, a Celery worker and Celery beat under one supervisor (qrqc_site/supervisor.py): a
program that dies is logged and started again, Ctrl-C or SIGTERM stops them all.

Development (`make run`): runserver on 127.0.0.1:PORT. Production (DJANGO_ENV=production, `make
production`): refuses to start unless the deployment checks are clean and PostgreSQL and Redis
are configured, applies the migrations, collects the static files, then runs gunicorn."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, SystemCheckError

from issues.management.commands.seed_demo import DEMO_PASSWORD
from qrqc_site import processes
from qrqc_site.celery import prepare_embedded_broker
from qrqc_site.supervisor import Supervisor

DEMO_LOGINS = "leader.a1 (team leader), engineer.quality, director.assembly, manager.quality, gm, admin"


class Command(BaseCommand):
    help = "Run the site, a Celery worker and Celery beat, restarting whichever dies, until Ctrl-C or SIGTERM."
    requires_system_checks = []  # production runs the deployment checks itself, and fails on a warning

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
        parser.add_argument(
            "--bind", help="production: the address gunicorn listens on (default 127.0.0.1:PORT, behind the proxy)"
        )
        parser.add_argument("--grace", type=float, default=20.0, help="seconds each program has to stop")

    def handle(self, *args, port: int, bind: str | None, grace: float, **options):
        Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)  # the broker file, beat's schedule, logs
        if settings.IS_PRODUCTION:
            programs = self.prepare_production(bind or f"127.0.0.1:{port}")
        else:
            programs = processes.development(port, settings.VAR_DIR, Path(settings.BASE_DIR) / "manage.py")
            self.describe_development(port)
        prepare_embedded_broker()
        Supervisor(programs, console=self.stdout, grace=grace).run()

    def prepare_production(self, bind: str) -> list:
        missing = processes.missing_servers(os.environ)
        if missing:
            raise CommandError("production needs PostgreSQL and Redis: " + "; ".join(missing))
        try:
            call_command("check", deploy=True, fail_level="WARNING")
        except SystemCheckError as exc:
            raise CommandError(f"the deployment checks failed, nothing was started:\n{exc}") from exc
        call_command("migrate", interactive=False)
        call_command("collectstatic", interactive=False)
        self.stdout.write(
            f"QRQC (production) listening on http://{bind}/ for the TLS proxy; Ctrl-C or SIGTERM stops it"
        )
        return processes.production(bind, os.environ)

    def describe_development(self, port: int) -> None:
        database = (
            "PostgreSQL (DATABASE_URL)" if settings.DATABASE_URL else f"SQLite {settings.DATABASES['default']['NAME']}"
        )
        broker = "Redis (REDIS_URL)" if settings.REDIS_URL else f"embedded, SQLite {settings.CELERY_BROKER_FILE}"
        var = settings.VAR_DIR
        self.stdout.write(
            f"Database: {database}\n"
            f"Broker:   {broker}\n\n"
            f"QRQC is running at http://127.0.0.1:{port}/   (Ctrl-C stops the site, worker and beat)\n"
            f"Demo logins, password {DEMO_PASSWORD}: {DEMO_LOGINS}\n"
            f"Logs: {var / 'celery-worker.log'}, {var / 'celery-beat.log'}; a program that dies is restarted\n"
        )
