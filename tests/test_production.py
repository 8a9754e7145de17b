"""Production, the README's way (`make production`): deployment checks, migrations, collectstatic,
then gunicorn, a Celery worker and beat under the supervisor of `make run`, behind a TLS proxy.

The end-to-end test runs on the PostgreSQL test database and a redis-server of its own (the
helpers of the reliability tests); skipped without them, failed under CI=true."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from tests.conftest import make_person
from tests.escalation.test_reliability import Cluster, free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
HOST = "qrqc.example.com"
PROXY = {"Host": HOST, "X-Forwarded-Proto": "https"}  # what the TLS proxy adds to each request


def production_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "QRQC_"))}
    env.update(
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),  # a throwaway one
        DJANGO_ALLOWED_HOSTS=HOST,
        DJANGO_CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
        DJANGO_BEHIND_TLS_PROXY="1",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_on_sqlite_or_without_redis(tmp_path):
    env = production_env(QRQC_VAR_DIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    result = run([sys.executable, "manage.py", "serve"], env)
    assert result.returncode != 0
    assert "production needs PostgreSQL and Redis" in result.stderr
    assert "DATABASE_URL must point at PostgreSQL" in result.stderr and "REDIS_URL must point at Redis" in result.stderr
    assert not (tmp_path / "staticfiles").exists(), "nothing was prepared"


def test_production_refuses_to_start_when_a_deployment_check_fails(tmp_path):
    env = production_env(
        QRQC_VAR_DIR=str(tmp_path),
        DATABASE_URL="postgres://qrqc@db.invalid:5432/qrqc",  # never reached: the checks come first
        REDIS_URL="redis://redis.invalid:6379/0",
        DJANGO_ALLOWED_HOSTS="",
    )
    result = run([sys.executable, "manage.py", "serve"], env)
    assert result.returncode != 0
    assert "the deployment checks failed, nothing was started" in result.stderr
    assert "ALLOWED_HOSTS" in result.stderr


def test_the_site_refuses_to_start_when_the_static_files_were_not_collected(tmp_path):
    """Started by hand without `make production`: one clear error, rather than a 500 on every page."""
    result = run([sys.executable, "-c", "import qrqc_site.wsgi"], production_env(QRQC_VAR_DIR=str(tmp_path)))
    assert result.returncode != 0
    assert "the static files were not collected" in result.stderr
    assert "manage.py collectstatic" in result.stderr


# --- the whole thing, end to end ---------------------------------------------------------------


@pytest.fixture
def servers(transactional_db, tmp_path):
    missing = []
    if connection.vendor != "postgresql":
        missing.append("PostgreSQL (DATABASE_URL): production refuses SQLite")
    if not shutil.which("redis-server"):
        missing.append("redis-server on PATH")
    if missing:
        if IN_CI:
            pytest.fail("CI=true but the production test needs " + " and ".join(missing))
        pytest.skip("needs " + " and ".join(missing))
    cluster = Cluster(tmp_path, receiver=None)
    try:
        cluster.redis.start()
        yield cluster
    finally:
        cluster.stop(grace=30)
        print(cluster.logs(tail=6000))  # shown by pytest only when the test failed


def request(port: int, method: str, path: str, *, headers: dict | None = None, body: str | None = None):
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request(method, path, body=body, headers={**PROXY, **(headers or {})})
        response = client.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        client.close()


def cookies_of(headers: dict) -> SimpleCookie:
    jar = SimpleCookie()
    jar.load(headers.get("Set-Cookie", ""))
    return jar


def test_make_production_serves_the_site_and_its_static_files_through_gunicorn_and_stops_cleanly(servers, world):
    chief = make_person("chief", None, plant=world.plant)
    # hashed as production hashes (the tests' fast hasher is unknown to it)
    chief.password = PBKDF2PasswordHasher().encode("a-chief-password", PBKDF2PasswordHasher().salt())
    chief.save(update_fields=["password"])
    port = free_port()
    env = production_env(
        DATABASE_URL=servers.env["DATABASE_URL"],
        REDIS_URL=servers.env["REDIS_URL"],
        QRQC_VAR_DIR=servers.env["QRQC_VAR_DIR"],
        PYTHONUNBUFFERED="1",
    )
    site = servers.spawn("production", ["make", "--no-print-directory", "production", f"PORT={port}"], **env)
    # collectstatic compresses every file: on a slow machine it takes a while
    wait_until(lambda: "Listening at: http://127.0.0.1:" in site.text(), 240, "gunicorn to listen", servers)

    status, headers, page = request(port, "GET", "/login/")
    assert status == 200, page[:2000]
    css = re.search(rb'href="(/static/css/qrqc\.[0-9a-f]{12}\.css)"', page)
    assert css, "the page names the hashed static file that collectstatic wrote"
    status, static_headers, body = request(port, "GET", css.group(1).decode())
    assert status == 200 and body and static_headers["Content-Type"].startswith("text/css")
    assert "immutable" in static_headers.get("Cache-Control", ""), static_headers

    # A login through the proxy: secure cookies, CSRF checked against the trusted https origin.
    jar = cookies_of(headers)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    assert jar["csrftoken"]["secure"]
    status, headers, _ = request(
        port,
        "POST",
        "/login/",
        headers={
            "Cookie": f"csrftoken={jar['csrftoken'].value}",
            "Origin": f"https://{HOST}",
            "Referer": f"https://{HOST}/login/",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body=f"csrfmiddlewaretoken={token}&username=chief&password=a-chief-password",
    )
    assert status == 302 and cookies_of(headers)["sessionid"]["secure"], headers

    assert request(port, "GET", "/login/", headers={"X-Forwarded-Proto": "http"})[0] == 301  # to https
    # The worker and beat run: the sweep is fresh.
    wait_until(lambda: request(port, "GET", "/healthz")[0] == 200, 60, "/healthz to answer 200", servers)

    os.killpg(site.popen.pid, signal.SIGTERM)
    try:
        site.popen.wait(timeout=40)
    except subprocess.TimeoutExpired:
        raise AssertionError("make production did not stop on SIGTERM\n" + site.text()[-4000:]) from None
    printed = site.text()
    assert "stopping web, worker, beat" in printed
    assert printed.count(" stopped: exited with code 0") == 3, printed[-3000:]
    assert not re.search(r"; restart \d+ in", printed), "nothing died meanwhile"
    with pytest.raises(OSError):
        request(port, "GET", "/healthz")
