"""A real Celery worker on the real Redis broker runs the project's tasks against the database."""

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from PIL import Image

from issues.models import ProblemPhoto
from issues.photos import store_photo
from issues.tasks import purge_abandoned_photos

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
