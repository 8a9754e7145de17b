"""A real Celery worker on the real Redis broker runs the project's tasks against the database."""

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from issues.models import ProblemPhoto
from issues.problems.photos import store_photo
from issues.problems.tasks import purge_abandoned_photos
from issues.qchart import charts as qchart
from tests.issues.eightd_factory import graded_problem

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def worker_env(transactional_db, tmp_path, settings):
    """The worker must see what the test committed: same PostgreSQL test database, same media."""
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        if IN_CI:
            pytest.fail("CI=true: this test needs PostgreSQL and Redis")
        pytest.skip("needs DATABASE_URL (PostgreSQL) and REDIS_URL: a worker cannot share SQLite's test database")
    settings.MEDIA_ROOT = tmp_path / "media"
    db = connection.settings_dict
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DJANGO_ENV="test",
        DATABASE_URL=f"postgres://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}@{db['HOST'] or '127.0.0.1'}"
        f":{db['PORT'] or 5432}/{db['NAME']}",
        QRQC_MEDIA_ROOT=str(settings.MEDIA_ROOT),
    )
    return env


def start_worker(env: dict, queue: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "qrqc_site",
            "worker",
            "--pool=threads",
            "--concurrency=2",
            "-Q",
            queue,
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
    return output.decode(errors="replace")


def a_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_a_worker_on_redis_purges_abandoned_photos(worker_env, team_leader):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    abandoned = store_photo(a_jpeg(), name="abandoned.jpg", user=team_leader)
    ProblemPhoto.objects.filter(pk=abandoned.pk).update(uploaded_at=timezone.now() - dt.timedelta(days=3))
    queue = f"qrqc-test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(worker_env, queue)
    try:
        purge_abandoned_photos.apply_async(queue=queue)
        deadline = time.monotonic() + 60
        while ProblemPhoto.objects.filter(pk=abandoned.pk).exists() and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        log = stop(worker)
    assert not ProblemPhoto.objects.filter(pk=abandoned.pk).exists(), log
    assert not (Path(settings.MEDIA_ROOT) / abandoned.image.name).exists()
    assert "purge_abandoned_photos" in log and "succeeded" in log


def wait_for_line(process: subprocess.Popen, *words: str, timeout: float = 60) -> list[str]:
    """The worker's output lines read so far, once one has all of `words` (or the time is up)."""
    lines: list[str] = []
    found = threading.Event()

    def read():
        for raw in process.stdout:
            lines.append(raw.decode(errors="replace"))
            if all(word in lines[-1] for word in words):
                found.set()
                return

    threading.Thread(target=read, daemon=True).start()
    found.wait(timeout)
    return lines


def test_a_worker_draws_the_q_charts_ahead_after_a_problem_is_logged(
    worker_env, settings, monkeypatch, world, team_leader, quality_engineer
):
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")  # the worker and the site share it
    queue = f"qrqc-test-{uuid.uuid4().hex[:8]}"
    settings.QRQC_DRAW_QCHARTS_AHEAD = True
    settings.QRQC_QCHART_QUEUE = queue
    settings.QRQC_QCHART_DELAY_SECONDS = 5  # both problems are logged well within it
    worker, lines = start_worker(worker_env, queue), []
    try:
        # Through intake, committed: its on_commit hook schedules the drawing.
        graded_problem(world.line_a1, team_leader, "A", occurred_at=timezone.now() - dt.timedelta(minutes=3))
        graded_problem(world.line_a2, team_leader, "C", occurred_at=timezone.now() - dt.timedelta(minutes=2))
        lines = wait_for_line(worker, "draw_qcharts", "succeeded")
    finally:
        log = "".join(lines) + stop(worker)
    assert log.count("Task issues.tasks.draw_qcharts") == 2, log  # received and succeeded: one drawing for both

    drawn = []
    real = qchart.inline_svg
    monkeypatch.setattr(qchart, "inline_svg", lambda *args: drawn.append(args[1]) or real(*args))
    client = Client()
    client.force_login(quality_engineer)
    for language in ("en", "zh-hans"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        for query in ({}, {"workshop": world.assembly.pk}):
            response = client.get(reverse("qchart:index"), query)
            assert response.status_code == 200
            assert response.content.count(b'data-testid="chart-') == 3
    assert drawn == [], "the worker had drawn every chart the readers asked for"
