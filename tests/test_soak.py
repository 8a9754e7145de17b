"""A bounded soak of the embedded default (`make run` with no REDIS_URL): `manage.py serve` runs
the site, a worker and beat (every 2 s) on the SQLite broker file while three other processes
enqueue escalation sweeps the way intake does (`send_now`, what `escalation.tasks.kick` calls)
and problems fall due. kombu's filesystem transport, the broker before, killed the worker after
~18 minutes with `JSONDecodeError`.

It fails if the worker dies or is restarted, if a tick of beat or an enqueued task is lost (each
must have run exactly once, or be still in the broker when everything stopped), or if a problem
that fell due was not escalated. The worker's database is the PostgreSQL test database (the sweep
must see the problems this test logs). QRQC_SOAK_SECONDS sets the length (default 180)."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from escalation.models import EscalationEvent
from escalation.policies import plan_for
from tests.escalation.test_reliability import Cluster, expected_tiers, free_port, log_problem, wait_until

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
SOAK_SECONDS = int(os.environ.get("QRQC_SOAK_SECONDS") or 180)
SWEEP_SECONDS = 2
PRODUCERS = 3

pytestmark = [pytest.mark.soak, pytest.mark.django_db(transaction=True)]

PRODUCER = """
import json, os, random, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qrqc_site.settings")
django.setup()
from escalation.tasks import sweep_and_dispatch
from qrqc_site.celery import send_now
seconds, out = float(sys.argv[1]), sys.argv[2]
sent = failed = 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    if send_now(sweep_and_dispatch, expires=60):  # what intake's kick does after a problem is logged
        sent += 1
    else:
        failed += 1
    time.sleep(random.uniform(0.2, 0.6))
with open(out, "w") as sink:
    json.dump({"sent": sent, "failed": failed}, sink)
"""

TASK_LINE = re.compile(r"Task (\S+)\[([0-9a-f-]{36})\] (received|succeeded in \S+s: (-?\d+)|.+)")
DISCARDED = re.compile(r"Discarding revoked task: (\S+)\[([0-9a-f-]{36})\]")  # expired in the queue


def worker_tasks(log: str) -> dict[str, dict]:
    """Per task name: ids received, ids succeeded (with what each returned), and any other outcome."""
    tasks: dict[str, dict] = {}
    for name, task_id, outcome, returned in TASK_LINE.findall(log):
        seen = tasks.setdefault(name, {"received": Counter(), "succeeded": Counter(), "returned": {}, "other": []})
        if outcome == "received":
            seen["received"][task_id] += 1
        elif outcome.startswith("succeeded"):
            seen["succeeded"][task_id] += 1
            seen["returned"][task_id] = int(returned)
        else:
            seen["other"].append(f"{task_id} {outcome}")
    for name, task_id in DISCARDED.findall(log):
        seen = tasks.setdefault(name, {"received": Counter(), "succeeded": Counter(), "returned": {}, "other": []})
        seen["other"].append(f"{task_id} expired before it ran")
    return tasks


def left_in_broker(path: Path) -> Counter:
    with sqlite3.connect(path) as db:
        payloads = [row[0] for row in db.execute("SELECT payload FROM kombu_message")]
    return Counter(json.loads(payload)["headers"]["task"] for payload in payloads)


@pytest.fixture
def soak(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        if IN_CI:
            pytest.fail("CI=true but the soak needs PostgreSQL (DATABASE_URL): the worker shares the test database")
        pytest.skip("needs PostgreSQL (DATABASE_URL): the worker must share the test database")
    cluster = Cluster(tmp_path, receiver=None)
    # The embedded broker: no Redis at all.
    cluster.env.update(
        REDIS_URL="", QRQC_SWEEP_SECONDS=str(SWEEP_SECONDS), QRQC_KICK_SWEEP="1", DJANGO_ENV="development"
    )
    try:
        yield cluster
    finally:
        cluster.stop(grace=30)
        print(cluster.logs(tail=4000))  # shown by pytest only when the test failed


def test_the_embedded_broker_loses_no_tick_and_no_task_over_minutes_of_several_producers(
    soak, world, team_leader, quality_engineer
):
    var = Path(soak.env["QRQC_VAR_DIR"])
    serve = soak.spawn("serve", [sys.executable, "manage.py", "serve", f"--port={free_port()}"])
    worker_log, beat_log = var / "celery-worker.log", var / "celery-beat.log"
    wait_until(lambda: worker_log.exists() and " ready." in worker_log.read_text(), 90, "the worker", soak)
    wait_until(lambda: "sweep_now" in worker_log.read_text(), 60, "a first sweep through the broker", soak)

    # Problems falling due all through the soak: the sweep has rows to escalate, dispatch has work.
    plan = plan_for(world.plant, "quality")
    problems = [
        log_problem(world, team_leader, plan, grade="C", level=4, due_in=due)
        for due in sorted(random.uniform(5, SOAK_SECONDS - 20) for _ in range(6))
    ]
    expected = set().union(*(expected_tiers(problem) for problem in problems))

    began = time.monotonic()
    outs = [var / f"producer-{k}.json" for k in range(PRODUCERS)]
    producers = [
        soak.spawn(f"producer-{k}", [sys.executable, "-c", PRODUCER, str(SOAK_SECONDS), str(out)])
        for k, out in enumerate(outs)
    ]
    while any(producer.alive() for producer in producers):
        assert serve.alive(), "the supervisor died"
        assert "; restart " not in serve.text(), "a program died during the soak:\n" + serve.text()[-3000:]
        assert time.monotonic() - began < SOAK_SECONDS + 120, "the producers overran the soak"
        time.sleep(1)
    soaked = time.monotonic() - began
    wait_until(lambda: not sum(left_in_broker(var / "celery-broker.sqlite3").values()), 30, "the queue to drain", soak)

    os.killpg(serve.popen.pid, signal.SIGTERM)
    serve.popen.wait(timeout=40)
    console = serve.text()
    assert console.count(" stopped: ") == 3 and "did not stop" not in console, console[-3000:]

    produced = [json.loads(out.read_text()) for out in outs]
    left = left_in_broker(var / "celery-broker.sqlite3")
    beat = beat_log.read_text()
    ticks = {
        "escalation.tasks.sweep_now": beat.count("Sending due task escalation-sweep "),
        "escalation.tasks.dispatch_now": beat.count("Sending due task escalation-dispatch "),
    }
    tasks = worker_tasks(worker_log.read_text())
    sweeps = tasks["escalation.tasks.sweep_now"]
    firing_sweeps = sum(1 for fired in sweeps["returned"].values() if fired > 0)
    enqueued = {
        "escalation.tasks.sweep_now": ticks["escalation.tasks.sweep_now"],
        # a sweep that fired enqueues a dispatch of its own
        "escalation.tasks.dispatch_now": ticks["escalation.tasks.dispatch_now"] + firing_sweeps,
        "escalation.tasks.sweep_and_dispatch": sum(p["sent"] for p in produced),
    }
    figures = {
        "soak_seconds": round(soaked),
        "beat_ticks_sent": ticks,
        "enqueued": enqueued,
        "executed": {name: len(tasks.get(name, {}).get("succeeded", ())) for name in enqueued},
        "expired_or_failed": {name: len(tasks.get(name, {}).get("other", ())) for name in enqueued},
        "left_in_broker_at_stop": dict(left),
        "producer_failures": sum(p["failed"] for p in produced),
        "worker_starts": len(re.findall(r" worker started \(pid", console)),
        "tiers_fired": EscalationEvent.objects.filter(kind=EscalationEvent.TIER).count(),
    }
    print(json.dumps(figures, indent=1))

    assert figures["worker_starts"] == 1, "the worker was restarted"
    assert "CRITICAL" not in worker_log.read_text() and "Unrecoverable" not in worker_log.read_text()
    assert figures["producer_failures"] == 0, "a producer could not enqueue"
    assert ticks["escalation.tasks.sweep_now"] >= soaked / SWEEP_SECONDS - 5, "beat did not tick every 2 s"
    for name, count in enqueued.items():
        seen = tasks.get(name, {"succeeded": Counter(), "other": []})
        assert not seen["other"], f"{name}: {seen['other'][:5]}"  # none failed, expired or was revoked
        assert all(times == 1 for times in seen["succeeded"].values()), f"{name} ran twice"
        assert len(seen["succeeded"]) + left[name] == count, f"{name}: lost {figures}"
    assert {(e.problem_id, e.level) for e in EscalationEvent.objects.filter(kind=EscalationEvent.TIER)} == expected
