"""Simultaneous intake over real HTTP (issue #11): people submitting the form at the same instant,
and a line system sending one API create several times at once, on the embedded SQLite default
(a server process of its own, started as `make run` would: no DATABASE_URL, no REDIS_URL) and on
PostgreSQL (the test's live server). No 500, every submission saved, one problem per key.

Before SQLite was configured for concurrent use, 9 of 15 simultaneous form submissions and 5 of
10 simultaneous API creates failed with "database is locked"."""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from rest_framework.authtoken.models import Token

from issues.models import Problem, Role
from tests.concurrency import run_each_together
from tests.conftest import make_person
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the plant's zone, in the seeded demo plant and in the test world
ROUNDS = 5
API_RETRIES = 10
TIMEOUT = 90  # seconds a request may take: a writer waits its turn for at most the busy timeout


# --------------------------------------------------------------------------- the HTTP side


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]


def logged_in(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=TIMEOUT)
    reply = session.post(
        f"{base}/login/",
        data={"csrfmiddlewaretoken": csrf_token(page.text), "username": username, "password": password},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert reply.status_code == 302, (username, reply.status_code)
    return session


def filled_form(session: requests.Session, base: str, title: str) -> dict:
    """The intake form as the browser got it (its CSRF token, its idempotency key, the person's
    line chosen), filled in as a shift leader would."""
    html = session.get(f"{base}/problems/new/", timeout=TIMEOUT).text
    line = re.search(r'<select name="line"[^>]*>.*?<option value="(\d+)" selected>', html, re.S)[1]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html)[1]
    an_hour_ago = dt.datetime.now(SHANGHAI) - dt.timedelta(hours=1)
    return {
        "csrfmiddlewaretoken": csrf_token(html),
        "idempotency_key": key,
        "category": "quality",
        "line": line,
        "shift": "",
        "occurred_at": an_hour_ago.strftime("%Y-%m-%dT%H:%M"),
        "title": title,
        "description": "Found at final inspection",
        "kind": "QC",
        "cause_family": "",
        "failure_mode": "",
        "defect_class": "A",
        "defect_count": "25",
    }


def submitter(session: requests.Session, base: str, form: dict):
    def submit() -> int:
        return session.post(f"{base}/problems/new/", data=form, allow_redirects=False, timeout=TIMEOUT).status_code

    return submit


@dataclass
class Outcome:
    form_statuses: Counter
    form_titles: list[str]
    api_statuses: Counter
    api_title: str
    seconds: float


def submit_at_once(base: str, people: list[tuple[str, str]], token: str, line_id: int | None = None) -> Outcome:
    """ROUNDS rounds of every person submitting the intake form at the same instant, then
    API_RETRIES simultaneous API creates with one Idempotency-Key. `line_id` is the API's line
    (default: the line of the first person's form)."""
    started = time.monotonic()
    sessions = [logged_in(base, username, password) for username, password in people]
    statuses: Counter = Counter()
    titles = []
    for round_number in range(1, ROUNDS + 1):
        forms = []
        for (username, _password), session in zip(people, sessions, strict=True):
            title = f"Round {round_number}: burr found by {username}"
            titles.append(title)
            forms.append(filled_form(session, base, title))
        statuses.update(run_each_together([submitter(s, base, f) for s, f in zip(sessions, forms, strict=True)]))
        line_id = line_id or int(forms[0]["line"])

    api_title = f"Line system retry {uuid.uuid4().hex[:8]}"
    body = {
        "line": line_id,
        "category": "quality",
        "title": api_title,
        "occurred_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
        "facts": {"defect_class": "A", "defect_count": 25},
    }
    headers = {"Authorization": f"Token {token}", "Idempotency-Key": uuid.uuid4().hex}

    def create() -> int:
        return requests.post(f"{base}/api/v1/problems/", json=body, headers=headers, timeout=TIMEOUT).status_code

    api_statuses = Counter(run_each_together([create] * API_RETRIES))
    return Outcome(statuses, titles, api_statuses, api_title, time.monotonic() - started)


def assert_nothing_lost(outcome: Outcome, stored_titles: list[str]) -> None:
    # A saved submission redirects to its problem page; a 500 or a 400 would be a lost one.
    assert outcome.form_statuses == Counter({302: len(outcome.form_titles)})
    assert sorted(title for title in stored_titles if title in outcome.form_titles) == sorted(outcome.form_titles)
    # One create, the other requests replays of it: no 500, no IntegrityError.
    assert outcome.api_statuses == Counter({201: 1, 200: API_RETRIES - 1})
    assert stored_titles.count(outcome.api_title) == 1


# --------------------------------------------------------------------------- SQLite, as `make run` has it


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def embedded_site(tmp_path):
    """The site on its embedded default (SQLite in its own var directory), migrated and seeded
    with the demo plant, served by a threaded development server in a process of its own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "PORT") and not key.startswith(("DJANGO_", "QRQC_"))
    }
    env.update(DJANGO_ENV="development", QRQC_VAR_DIR=str(tmp_path))
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", "--days", "1")
    token = re.search(r"Generated token (\w+)", manage(env, "drf_create_token", "leader.a1"))[1]
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/login/", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.3)
        yield base, token, tmp_path / "qrqc.sqlite3", tmp_path / "server.log"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_simultaneous_submissions_on_the_embedded_sqlite_are_all_saved_and_one_per_key(embedded_site):
    base, token, database, server_log = embedded_site
    people = [(name, "qrqc-demo") for name in ("leader.a1", "leader.a2", "leader.m1")]

    outcome = submit_at_once(base, people, token)

    with sqlite3.connect(database) as connection:
        stored = [title for (title,) in connection.execute("SELECT title FROM issues_problem")]
    print(
        f"\nSQLite: {outcome.form_statuses[302]} of {len(outcome.form_titles)} simultaneous form submissions saved, "
        f"API retries {dict(outcome.api_statuses)}, {outcome.seconds:.1f} s"
    )
    assert "database is locked" not in server_log.read_text()
    assert_nothing_lost(outcome, stored)


# --------------------------------------------------------------------------- PostgreSQL, as CI has it


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submissions_on_postgresql_are_all_saved_and_one_per_key(postgresql_only, world, live_server):
    people = [
        make_person("leader.a1", Role.TEAM_LEADER, plant=world.plant, line=world.line_a1),
        make_person("leader.a2", Role.TEAM_LEADER, plant=world.plant, line=world.line_a2),
        make_person("leader.m1", Role.TEAM_LEADER, plant=world.plant, line=world.line_m1),
    ]
    token = Token.objects.create(user=people[0]).key

    outcome = submit_at_once(
        live_server.url, [(person.username, "pw-for-tests-only") for person in people], token, world.line_a1.pk
    )

    print(f"\nPostgreSQL: {outcome.form_statuses[302]} of {len(outcome.form_titles)} saved, {outcome.seconds:.1f} s")
    assert_nothing_lost(outcome, list(Problem.objects.values_list("title", flat=True)))
