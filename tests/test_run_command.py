"""The README's first command, `make run`, on a fresh state directory: migrates, seeds the
demo plant and serves the site with a Celery worker and beat on the embedded broker, under a
supervisor that restarts a program that dies and stops them all on SIGTERM."""

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.processes import alive, free_port, started_pids

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate, seconds: float, what: str, output: Path | None = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    printed = output.read_text()[-6000:] if output and output.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{printed}")


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except OSError:
        return None


def test_make_run_serves_the_demo_site_with_worker_and_beat_and_restarts_a_worker_that_dies(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ENV")}
    env.update(QRQC_VAR_DIR=str(tmp_path), PORT=str(port))
    output = tmp_path / "run.out"
    worker_log = tmp_path / "celery-worker.log"
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
        wait_for(lambda: http_status(f"http://127.0.0.1:{port}/login/") == 200, 240, "the site to answer", output)
        printed = output.read_text()
        assert f"http://127.0.0.1:{port}/" in printed
        assert "leader.a1" in printed and "qrqc-demo" in printed
        assert "Demo plant SZ1 created" in printed
        assert (tmp_path / "qrqc.sqlite3").exists()
        assert (tmp_path / "celery-broker.sqlite3").exists()  # the embedded broker, no server
        wait_for(lambda: "ready" in worker_log.read_text(), 60, "the worker", output)
        wait_for(lambda: "beat: Starting" in (tmp_path / "celery-beat.log").read_text(), 60, "beat", output)
        wait_for(lambda: "sweep_now" in worker_log.read_text(), 60, "a sweep from beat through the broker", output)

        [worker] = started_pids(output.read_text(), "worker")
        os.kill(worker, signal.SIGKILL)
        restarted = wait_for(lambda: started_pids(output.read_text(), "worker")[1:], 60, "a new worker", output)
        printed = output.read_text()
        said = f"worker (pid {worker}) killed by SIGKILL after"
        assert said in printed and "restart 1 in" in printed, "the console says which, how and the restart count"
        assert said in worker_log.read_text(), "and so does the worker's log"
        wait_for(lambda: worker_log.read_text().count(" ready.") == 2, 60, "the new worker to be ready", output)
        since = worker_log.read_text().rindex(" ready.")
        wait_for(lambda: "sweep_now" in worker_log.read_text()[since:], 60, "the new worker to sweep", output)
        pids = started_pids(output.read_text(), "site") + started_pids(output.read_text(), "beat") + restarted
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise AssertionError("make run did not stop on SIGTERM\n" + output.read_text()[-4000:]) from None
    printed = output.read_text()
    assert "stopping site, worker, beat" in printed
    assert printed.count("stopped: ") == 3, printed[-3000:]
    assert "did not stop" not in printed
    assert not [pid for pid in pids if alive(pid)], "a program outlived make run"
    assert http_status(f"http://127.0.0.1:{port}/login/") is None
