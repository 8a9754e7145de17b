"""The README's first command, `make run`, on a fresh state directory: migrates, seeds the
demo plant and serves the site with a Celery worker and beat on the embedded broker."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except OSError:
        return None


def test_make_run_serves_the_demo_site_with_worker_and_beat(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ENV")}
    env.update(QRQC_VAR_DIR=str(tmp_path), PORT=str(port))
    output = tmp_path / "run.out"
    with output.open("w") as sink:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: http_status(f"http://127.0.0.1:{port}/login/") == 200, 240, "the site to answer")
        printed = output.read_text()
        assert f"http://127.0.0.1:{port}/" in printed
        assert "leader.a1" in printed and "qrqc-demo" in printed
        assert "Demo plant SZ1 created" in printed
        assert (tmp_path / "qrqc.sqlite3").exists()
        wait_for(lambda: "ready" in (tmp_path / "celery-worker.log").read_text(), 60, "the worker")
        wait_for(lambda: "beat: Starting" in (tmp_path / "celery-beat.log").read_text(), 60, "beat")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
