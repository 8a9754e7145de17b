"""The benchmarks' own PostgreSQL database: named by DATABASE_URL, never anything else."""

from __future__ import annotations

import os
import platform
import sys
import warnings
from urllib.parse import unquote, urlparse


def database_from_env(script: str, example: str) -> dict:
    """Refuse anything but PostgreSQL and a database whose name says it is a benchmark's."""
    parsed = urlparse(os.environ.get("DATABASE_URL", ""))
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        sys.exit(
            f"bench/{script} measures on PostgreSQL only: set DATABASE_URL, e.g.\n"
            f"  DATABASE_URL=postgres://postgres@127.0.0.1:5432/{example} .venv/bin/python bench/{script}"
        )
    name = unquote(parsed.path.lstrip("/"))
    if not name or name == "postgres":
        sys.exit(f"DATABASE_URL must name the benchmark's own database (e.g. .../{example}), not 'postgres'.")
    if "bench" not in name:
        sys.exit(f"Refusing to fill database {name!r}: the benchmark's database name must contain 'bench'.")
    return {
        "name": name,
        "host": parsed.hostname or "",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username or ""),
        "password": unquote(parsed.password or ""),
    }


def ensure_database(db: dict) -> None:
    """Create the benchmark database when missing (connecting to the 'postgres' maintenance db)."""
    import psycopg2
    from psycopg2 import sql

    params = {"dbname": "postgres", "port": db["port"]}
    for key in ("host", "user", "password"):
        if db[key]:
            params[key] = db[key]
    conn = psycopg2.connect(**params)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["name"]])
            if cur.fetchone() is None:
                print(f"creating database {db['name']}")
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["name"])))
    finally:
        conn.close()


def setup_django(db: dict) -> None:
    """Django on the benchmark's database: set up, checked to point at it, migrated, and a line
    printed of what runs (environment variables the script set before stay as they are)."""
    os.environ.setdefault("DJANGO_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qrqc_site.settings")

    import django

    # Whitenoise warns that static files were never collected; irrelevant to what is measured.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()

    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql" or connection.settings_dict["NAME"] != db["name"]:
        sys.exit(
            f"settings resolved to {connection.vendor} {connection.settings_dict['NAME']!r}; expected {db['name']!r}"
        )
    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg_version = cur.fetchone()[0]
    print(
        f"Python {platform.python_version()} · Django {django.get_version()} · PostgreSQL {pg_version}"
        f" · database {db['name']} · {os.cpu_count()} CPUs"
    )
