"""Settings fail closed in production and pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, unset: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess:
    clean = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "QRQC_")) and key not in unset
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


PRODUCTION = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "k" * 40,
    "DJANGO_ALLOWED_HOSTS": "qrqc.example.com",
}


def test_deploy_check_is_clean_with_production_environment():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {key: value for key, value in PRODUCTION.items() if key != "DJANGO_SECRET_KEY"}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_an_unset_environment_means_production():
    result = run_manage("check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_debug_is_off_in_production_unless_asked():
    code = "from django.conf import settings; print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)"
    result = run_manage("shell", "--no-imports", "-c", code, **PRODUCTION)
    assert result.stdout.split() == ["False", "True"], result.stderr


def test_a_malformed_boolean_is_rejected_with_its_name():
    result = run_manage("check", DJANGO_ENV="development", DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "qrqc_site.broker:Transport sqlite3"),
        (
            {"REDIS_URL": "redis://127.0.0.1:6379/0", "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x"},
            "redis://127.0.0.1:6379/0 postgresql",
        ),
    ],
)
def test_servers_are_chosen_by_url_and_default_to_embedded_ones(env, expected):
    code = "from django.conf import settings as s; print(getattr(s, 'CELERY_BROKER_TRANSPORT', s.CELERY_BROKER_URL), s.DATABASES['default']['ENGINE'].rsplit('.', 1)[1])"
    clean = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
    clean.update(DJANGO_ENV="development", **env)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'qrqc_site.settings'); django.setup(); {code}",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == expected, result.stderr


def test_redis_is_reachable_when_configured(settings):
    """Under CI this talks to the real Redis on 127.0.0.1 (REDIS_URL is required there)."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL not set (CI sets it and fails rather than skips)")
    from django.core.cache import cache

    cache.set("qrqc-test-key", "值", 10)
    assert cache.get("qrqc-test-key") == "值"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DJANGO_ENV": "development", "PORT": "8101"}, "http://127.0.0.1:8101"),
        ({"DJANGO_ENV": "development"}, "http://127.0.0.1:8000"),
        (
            {"DJANGO_ENV": "development", "PORT": "8101", "QRQC_SITE_URL": "https://qrqc.example.com"},
            "https://qrqc.example.com",
        ),
        ({**PRODUCTION, "PORT": "8101"}, "http://127.0.0.1:8000"),  # production: a proxy's address, not the port
    ],
)
def test_in_development_the_address_in_sent_links_follows_the_port_served(env, expected):
    code = "from django.conf import settings; print(settings.SITE_URL)"
    result = run_manage("shell", "--no-imports", "-c", code, unset=("PORT",), **env)
    assert result.stdout.strip() == expected, result.stderr


def test_sqlite_is_set_up_for_simultaneous_writers(tmp_path):
    """WAL, immediate transactions and a busy timeout: without them three simultaneous intake
    submissions failed with "database is locked" (tests/issues/test_concurrent_intake.py runs them)."""
    code = (
        "from django.db import connection; connection.ensure_connection(); "
        "print(connection.cursor().execute('PRAGMA journal_mode').fetchone()[0], connection.transaction_mode)"
    )
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        unset=("DATABASE_URL",),
        DJANGO_ENV="development",
        QRQC_VAR_DIR=str(tmp_path),
    )
    assert result.stdout.split() == ["wal", "IMMEDIATE"], result.stderr
