"""The benchmarks' own PostgreSQL database: named by DATABASE_URL, never anything else."""

from __future__ import annotations

import os
import sys
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
