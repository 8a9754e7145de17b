"""Reliability of timed escalation with real processes (issue #3, "Reliability tests").

Each test starts its own redis-server on a free port (never the machine's shared Redis), Celery
workers and beat as subprocesses on the PostgreSQL test database, and a real HTTP server that
plays a generic group webhook. Nothing of the escalation code is mocked or patched: the
processes get their settings from the environment, as in production, with the sweep every second
(the test process's own Celery app is only pointed at the private Redis when intake kicks a sweep).

Skipped without PostgreSQL or redis-server; under CI=true they fail instead.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection
from django.utils import timezone

from escalation import ladder
from escalation.dispatch import backoff
from escalation.models import Channel, DeliveryAttempt, EscalationEvent, Notification, SweepRun, WebhookEndpoint
from escalation.policies import plan_for
from issues.models import Problem, Role
from issues.problems.intake import Report, report_problem
from tests.conftest import make_person
from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"
SWEEP_SECONDS = 1  # QRQC_SWEEP_SECONDS of the beat processes
SLACK = 2.0  # seconds allowed on top of one sweep period
FACTS = {"C": {}, "B": {"defect_class": "A", "defect_count": 15}, "A": {"defect_class": "A", "defect_count": 25}}

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


# --- a generic webhook receiver -----------------------------------------------------------------


@dataclass
class Hit:
    """One request as the receiver saw it; `seen` counts earlier requests with the same delivery id."""

    delivery: str
    payload: dict
    headers: dict
    arrived: float  # time.time()
    seen: int
    status: int = 0  # what was answered (0: nothing yet, or the client went away)


# answer(hit) -> (status, body text, seconds to hold the answer back)
Answer = Callable[[Hit], tuple[int, str, float]]


class Receiver:
    """ThreadingHTTPServer on 127.0.0.1 (free port, own thread): answers each POST from a script and
    records it, including which requests are in flight (arrived, not answered yet)."""

    def __init__(self):
        self.hits: list[Hit] = []
        self.in_flight: list[Hit] = []
        self.answer: Answer = lambda hit: (200, "ok", 0.0)
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hit = receiver.arrive(dict(self.headers.items()), body)
                try:
                    status, text, delay = receiver.answer(hit)
                    if delay and receiver.stopping.wait(delay):
                        return
                    data = text.encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    hit.status = status
                except OSError:
                    pass  # the worker was killed while we held the answer
                finally:
                    receiver.leave(hit)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def arrive(self, headers: dict, body: bytes) -> Hit:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        delivery = next((value for key, value in headers.items() if key.lower() == "x-qrqc-delivery"), "")
        with self.changed:
            hit = Hit(delivery, payload, headers, time.time(), sum(1 for h in self.hits if h.delivery == delivery))
            self.hits.append(hit)
            self.in_flight.append(hit)
            self.changed.notify_all()
        return hit

    def leave(self, hit: Hit) -> None:
        with self.changed:
            self.in_flight.remove(hit)
            self.changed.notify_all()

    def deliveries(self) -> Counter:
        with self.changed:
            return Counter(hit.delivery for hit in self.hits)

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# --- processes ----------------------------------------------------------------------------------


class Process:
    """A subprocess in its own process group (so a kill reaches all of it), logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log = log_dir / f"{name}.log"
        with self.log.open("ab") as sink:
            self.popen = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, grace: float = 5) -> None:
        """SIGTERM to the group, then SIGKILL; always reaps."""
        if self.alive():
            self.kill(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        self.kill(signal.SIGKILL)  # stragglers of the group, if any
        self.popen.wait()

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class PrivateRedis:
    """A redis-server of this test alone, on a free port, with no persistence: stopping it loses
    the queue, as a crash would."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.port = free_port()
        self.process: Process | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.starts += 1
        self.process = self.cluster.spawn(
            f"redis-{self.starts}",
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.cluster.tmp),
            ],
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        try:
            wait_until(lambda: self._pings(client), 10, "the private redis-server to answer", self.cluster)
        finally:
            client.close()

    @staticmethod
    def _pings(client) -> bool:
        try:
            return client.ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        assert self.process is not None
        self.process.stop()


class Cluster:
    """Everything one test runs besides itself; every process is stopped at teardown."""

    def __init__(self, tmp: Path, receiver: Receiver):
        self.tmp = tmp
        self.receiver = receiver
        self.processes: list[Process] = []
        self.redis = PrivateRedis(self)
        db = connection.settings_dict
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_", "QRQC_"))
        }
        self.env.update(
            DJANGO_ENV="test",
            DATABASE_URL=f"postgres://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}"
            f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            REDIS_URL=self.redis.url,
            QRQC_SWEEP_SECONDS=str(SWEEP_SECONDS),
            QRQC_GATEWAY_URL="",  # phone and SMS fail for good and fall back
            QRQC_VAR_DIR=str(tmp / "var"),
            PYTHONUNBUFFERED="1",
        )

    def spawn(self, name: str, args: list[str], **env) -> Process:
        process = Process(name, args, {**self.env, **env}, self.tmp)
        self.processes.append(process)
        return process

    def worker(self, name: str, **env) -> Process:
        process = self.spawn(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "qrqc_site",
                "worker",
                "--pool=threads",
                "--concurrency=2",
                f"--hostname={name}@%h",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            **env,
        )
        wait_until(lambda: " ready." in process.text(), 60, f"worker {name} to be ready", self)
        return process

    def beat(self, name: str) -> Process:
        process = self.spawn(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "qrqc_site",
                "beat",
                "--schedule",
                str(self.tmp / f"{name}-schedule"),
                "--loglevel=INFO",
            ],
        )
        wait_until(lambda: "beat: Starting" in process.text(), 60, f"beat {name} to start", self)
        return process

    def sweeping(self) -> None:
        """Wait until beat → broker → worker → sweep has gone round once."""
        since = timezone.now()
        wait_until(
            lambda: SweepRun.objects.filter(name="sweep", last_run_at__gte=since).exists(), 30, "a first sweep", self
        )

    def logs(self, tail: int = 4000) -> str:
        return "\n".join(f"----- {p.name} -----\n{p.text()[-tail:]}" for p in self.processes)

    def stop(self, grace: float = 3) -> None:
        """SIGTERM to all at once, then SIGKILL to whatever is left after `grace` seconds."""
        for process in self.processes:
            if process.alive():
                process.kill(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes:
            process.stop(grace=max(0.1, deadline - time.monotonic()))


def wait_until(predicate, seconds: float, what: str, cluster: Cluster | None = None, every: float = 0.1):
    deadline = time.monotonic() + seconds
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            logs = cluster.logs() if cluster else ""
            raise AssertionError(f"timed out after {seconds} s waiting for {what}\n{logs}")
        time.sleep(every)


@contextmanager
def this_process_publishing_to(url: str):
    """Point this test process's Celery app (what intake's kick() publishes with) at `url`, so a
    kick goes to the private broker and never to the machine's shared Redis."""
    from qrqc_site.celery import app

    def forget_pools():
        for pool in (app._pool, app.__dict__.get("amqp") and app.amqp._producer_pool):
            if pool:
                try:
                    pool.force_close_all()
                except Exception:
                    pass
        app._pool = None
        if "amqp" in app.__dict__:
            app.amqp._producer_pool = None

    previous = app.conf.broker_url
    forget_pools()
    app.conf.broker_url = url
    try:
        with app.connection_for_write() as broker:
            assert (broker.hostname, broker.port) == ("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0]))
        yield
    finally:
        forget_pools()
        app.conf.broker_url = previous


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def cluster(transactional_db, tmp_path):
    """A private redis-server (started) and a webhook receiver; the test starts workers and beat.
    Teardown stops every process before the test database is flushed, pass or fail."""
    missing = []
    if connection.vendor != "postgresql":
        missing.append("PostgreSQL (DATABASE_URL): the workers must share the test database")
    if not shutil.which("redis-server"):
        missing.append("redis-server on PATH: each test runs its own")
    if missing:
        if IN_CI:
            pytest.fail("CI=true but the reliability tests need " + " and ".join(missing))
        pytest.skip("needs " + " and ".join(missing))
    receiver = Receiver()
    started = Cluster(tmp_path, receiver)
    try:
        started.redis.start()
        yield started
    finally:
        receiver.stopping.set()  # answers held back are dropped: workers shut down at once
        started.stop()
        receiver.stop()
        print(started.logs(tail=3000))  # shown by pytest only when the test failed


@pytest.fixture
def endpoint(world, cluster):
    return WebhookEndpoint.objects.create(
        plant=world.plant, name="Line chat", kind=WebhookEndpoint.Kind.GENERIC, url=cluster.receiver.url, language="en"
    )


@pytest.fixture
def people(world, team_leader, quality_engineer, workshop_director, general_manager):
    """Someone for every tier of the quality ladder (level 4 to 1)."""
    manager = make_person("qm", Role.QUALITY_MANAGER, plant=world.plant)
    return [team_leader, quality_engineer, workshop_director, manager, general_manager]


@pytest.fixture
def plan(world) -> dict:
    return plan_for(world.plant, "quality")


def log_problem(world, reporter, plan: dict, *, grade: str, level: int, due_in: float, title: str = "") -> Problem:
    """Log a problem through intake, occurred so that tier `level` falls due `due_in` seconds from
    now (negative: overdue)."""
    step = ladder.tier(plan, level)
    occurred_at = timezone.now() + dt.timedelta(seconds=due_in) - dt.timedelta(minutes=step.after_minutes)
    report = Report(
        line=world.line_a1,
        category="quality",
        title=title or f"{grade} problem, level {level} due in {due_in} s",
        occurred_at=occurred_at,
        facts=FACTS[grade],
    )
    problem, created = report_problem(report, reporter=reporter)
    assert created and problem.grade == grade, problem.fired_rules
    return problem


def expected_tiers(problem: Problem) -> set[tuple[int, int]]:
    return {(problem.pk, step.level) for step in ladder.tiers(problem.escalation_plan, problem.grade)}


def settled(expected: set[tuple[int, int]]) -> bool:
    """Every expected tier fired and expanded, and no notification is still pending."""
    fired = EscalationEvent.objects.filter(kind=EscalationEvent.TIER, expanded_at__isnull=False)
    return {(e.problem_id, e.level) for e in fired} >= expected and not Notification.objects.filter(
        status=Notification.Status.PENDING
    ).exists()


def assert_told_once(expected: set[tuple[int, int]], endpoint: WebhookEndpoint) -> list[Notification]:
    """One event per (problem, tier); per event, each recipient told in the app and the endpoint
    told, once each, each delivered by exactly one attempt. Returns the webhook notifications."""
    events = list(EscalationEvent.objects.filter(kind=EscalationEvent.TIER))
    counts = Counter((event.problem_id, event.level) for event in events)
    assert set(counts) == expected, f"fired {sorted(counts)}, expected {sorted(expected)}"
    assert all(count == 1 for count in counts.values()), counts
    webhooks = []
    for event in events:
        people = sorted(person["user"] for person in event.recipients)
        assert people, f"{event}: nobody was told"
        notes = list(event.notifications.all())
        inapp = [n for n in notes if n.channel == Channel.INAPP]
        hooks = [n for n in notes if n.channel == Channel.WEBHOOK]
        assert sorted(n.recipient_id for n in inapp) == people, event
        assert [n.endpoint_id for n in hooks] == [endpoint.pk], event
        for note in inapp + hooks:
            assert note.status == Notification.Status.SENT, (note, note.status)
            delivered = note.delivery_attempts.filter(outcome=DeliveryAttempt.Outcome.DELIVERED).count()
            assert delivered == 1, (note, list(note.delivery_attempts.values("outcome", "response")))
        webhooks += hooks
    return webhooks


# --- the tests ----------------------------------------------------------------------------------


def test_a_due_problem_reaches_the_app_and_the_webhook_within_one_sweep_period(
    cluster, world, team_leader, quality_engineer, endpoint, plan
):
    cluster.worker("worker")
    cluster.beat("beat")
    cluster.sweeping()

    problem = log_problem(world, team_leader, plan, grade="C", level=4, due_in=3)
    deadline = problem.escalate_at
    assert deadline == problem.occurred_at + dt.timedelta(minutes=ladder.tier(plan, 4).after_minutes)

    def told():
        hooks = [hit for hit in cluster.receiver.hits if hit.payload.get("problem", {}).get("id") == problem.pk]
        inapp = Notification.objects.filter(event__problem=problem, channel=Channel.INAPP, status="sent")
        return hooks if hooks and inapp.count() == 2 else None

    [hit] = wait_until(told, 3 + SWEEP_SECONDS + SLACK + 10, "the level-4 notifications", cluster)

    event = EscalationEvent.objects.get(problem=problem)
    assert (event.level, event.due_at) == (4, deadline)
    note = Notification.objects.get(event=event, channel=Channel.WEBHOOK)
    assert hit.delivery == hit.payload["id"] == str(note.uid)
    assert hit.payload["level"] == 4 and hit.payload["problem"]["number"] == problem.number
    limit = SWEEP_SECONDS + SLACK
    webhook_late = hit.arrived - deadline.timestamp()
    assert 0 <= webhook_late < limit, f"webhook {webhook_late:.2f} s after the deadline"
    for inapp in Notification.objects.filter(event=event, channel=Channel.INAPP):
        late = (inapp.sent_at - deadline).total_seconds()
        assert 0 <= late < limit, f"in-app to {inapp.recipient} {late:.2f} s after the deadline"
    assert {n.recipient for n in Notification.objects.filter(event=event, channel=Channel.INAPP)} == {
        team_leader,
        quality_engineer,
    }


def test_two_beats_at_once_tell_each_problem_and_tier_exactly_once(cluster, world, people, endpoint, plan):
    cluster.worker("worker-1")
    cluster.worker("worker-2")
    beats = [cluster.beat("beat-1"), cluster.beat("beat-2")]
    cluster.sweeping()

    reporter = people[0]
    problems = [log_problem(world, reporter, plan, grade="C", level=4, due_in=2 + 2 * k) for k in range(5)]
    # logged late: level 4 already overdue, level 3 (B's ceiling) due in 5 s
    problems.append(log_problem(world, reporter, plan, grade="B", level=3, due_in=5))
    # logged late: levels 4, 3 and 2 overdue (fired in order in one sweep), level 1 due in 7 s
    problems.append(log_problem(world, reporter, plan, grade="A", level=1, due_in=7))
    expected = set().union(*(expected_tiers(problem) for problem in problems))
    assert len(expected) == 5 + 2 + 4

    wait_until(lambda: settled(expected), 40, "every tier to fire and be delivered", cluster)
    time.sleep(3 * SWEEP_SECONDS)  # more sweeps from both beats: nothing more may be sent

    for beat in beats:
        assert "Sending due task escalation-sweep" in beat.text(), f"{beat.name} never sent a sweep"
    webhooks = assert_told_once(expected, endpoint)
    received = cluster.receiver.deliveries()
    assert set(received) == {str(note.uid) for note in webhooks}
    assert all(count == 1 for count in received.values()), received
    assert not Problem.objects.filter(escalate_at__isnull=False).exists()


LEASE_SECONDS = 8  # QRQC_DISPATCH_LEASE_SECONDS of the workers: a dead worker's claim runs out quickly
HOLD_SECONDS = 1.5  # the receiver holds every answer this long, so a delivery is in flight when we kill


def test_a_worker_killed_mid_dispatch_and_restarted_loses_nothing_and_sends_nothing_twice(
    cluster, world, team_leader, quality_engineer, endpoint, plan
):
    cluster.receiver.answer = lambda hit: (200, "ok", HOLD_SECONDS)
    first = cluster.worker("worker-1", QRQC_DISPATCH_LEASE_SECONDS=str(LEASE_SECONDS))
    cluster.beat("beat")
    cluster.sweeping()

    problems = [log_problem(world, team_leader, plan, grade="C", level=4, due_in=2) for _ in range(3)]
    expected = set().union(*(expected_tiers(problem) for problem in problems))

    wait_until(lambda: cluster.receiver.in_flight, 20, "a webhook delivery in flight", cluster, every=0.02)
    first.kill(signal.SIGKILL)
    first.popen.wait()
    in_flight_at_kill = {hit.delivery for hit in cluster.receiver.in_flight}
    cluster.worker("worker-2", QRQC_DISPATCH_LEASE_SECONDS=str(LEASE_SECONDS))

    wait_until(lambda: settled(expected), LEASE_SECONDS + 40, "every notification to be delivered", cluster)
    time.sleep(2 * SWEEP_SECONDS + HOLD_SECONDS)

    webhooks = assert_told_once(expected, endpoint)  # nothing lost: all delivered, one delivered attempt each
    received = cluster.receiver.deliveries()
    assert set(received) == {str(note.uid) for note in webhooks}
    interrupted = DeliveryAttempt.objects.filter(outcome=DeliveryAttempt.Outcome.STARTED)
    assert interrupted.exists(), "the kill did not interrupt a delivery: the test proved nothing"
    duplicates = {delivery: count - 1 for delivery, count in received.items() if count > 1}
    assert sum(duplicates.values()) <= interrupted.count(), (duplicates, list(interrupted.values()))
    # Only a request in flight at the kill may arrive twice, with the same delivery id ...
    assert set(duplicates) <= in_flight_at_kill, (duplicates, in_flight_at_kill)
    assert set(duplicates) <= {str(uid) for uid in interrupted.values_list("notification__uid", flat=True)}
    # ... and only once the dead worker's lease ran out (it claimed just before the first request).
    for delivery in duplicates:
        first, again = (hit.arrived for hit in cluster.receiver.hits if hit.delivery == delivery)
        assert again - first >= LEASE_SECONDS - 0.5, f"{delivery} sent again {again - first:.1f} s later"


OUTAGE_SECONDS = 60


def test_with_redis_stopped_for_a_minute_intake_saves_problems_and_escalation_catches_up(
    cluster, settings, caplog, world, team_leader, quality_engineer, workshop_director, endpoint, plan
):
    cluster.worker("worker")
    cluster.beat("beat")
    cluster.sweeping()

    cluster.redis.stop()
    stopped = time.monotonic()
    time.sleep(3)  # sweeps sent before the stop expire (2 s): from here on, only a broker could sweep

    settings.QRQC_KICK_SWEEP = True  # intake enqueues a sweep: on the dead broker, and must not fail
    problems, took = [], []
    with this_process_publishing_to(cluster.redis.url), caplog.at_level("WARNING", logger="escalation.tasks"):
        for grade, level, due_in in (("C", 4, 5), ("C", 4, 20), ("B", 3, -60)):
            began = time.monotonic()
            problems.append(log_problem(world, team_leader, plan, grade=grade, level=level, due_in=due_in))
            took.append(time.monotonic() - began)
    kicks = [r for r in caplog.records if "could not enqueue an escalation sweep" in r.getMessage()]
    assert len(kicks) == len(problems), "each intake tried its kick on the dead broker"
    # kick() fails fast on a dead broker: a shift leader's submit must not wait out kombu's retries.
    assert max(took) < 1, f"intake blocked by the dead broker: {took}"
    assert Problem.objects.filter(pk__in=[p.pk for p in problems], escalate_at__isnull=False).count() == 3
    expected = set().union(*(expected_tiers(problem) for problem in problems))

    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
    assert not EscalationEvent.objects.exists(), "something swept while the broker was down"
    assert not Problem.objects.filter(escalate_at__gt=timezone.now()).exists(), "every deadline has passed"

    cluster.redis.start()
    back = time.monotonic()
    wait_until(lambda: settled(expected), 60, "escalation to catch up after Redis came back", cluster)
    caught_up = time.monotonic() - back

    assert_told_once(expected, endpoint)
    assert caught_up < 5 * SWEEP_SECONDS + SLACK, f"escalation caught up {caught_up:.1f} s after Redis returned"


def test_a_webhook_answering_500_then_200_is_retried_and_delivered_once(
    cluster, world, team_leader, quality_engineer, endpoint, plan
):
    cluster.receiver.answer = lambda hit: (500, "upstream exploded", 0) if hit.seen == 0 else (200, "ok", 0)
    cluster.worker("worker")
    cluster.beat("beat")
    cluster.sweeping()

    problem = log_problem(world, team_leader, plan, grade="C", level=4, due_in=1)
    note = wait_until(
        lambda: Notification.objects.filter(event__problem=problem, channel=Channel.WEBHOOK, status="sent").first(),
        1 + backoff(1).total_seconds() + 20,
        "the webhook to be delivered on its retry",
        cluster,
    )
    time.sleep(2 * SWEEP_SECONDS)  # no further try

    note.refresh_from_db()
    assert (note.status, note.attempts) == (Notification.Status.SENT, 2)
    first, second = note.delivery_attempts.order_by("at", "id")
    assert (first.outcome, second.outcome) == (DeliveryAttempt.Outcome.TRANSIENT, DeliveryAttempt.Outcome.DELIVERED)
    assert first.response == "500 upstream exploded" and second.response == "200 ok"
    assert first.destination == second.destination == endpoint.url
    assert first.channel == second.channel == Channel.WEBHOOK
    assert second.at - first.at >= backoff(1), "retried before its back-off"
    hits = [hit for hit in cluster.receiver.hits if hit.delivery == str(note.uid)]
    assert [hit.status for hit in hits] == [500, 200], "delivered once, on the second request"
    assert hits[0].payload["id"] == hits[1].payload["id"] == str(note.uid)
    assert cluster.receiver.deliveries() == Counter({str(note.uid): 2})


def test_a_slow_batch_never_lets_another_dispatch_send_a_notification_again(
    cluster, world, team_leader, quality_engineer, endpoint, plan
):
    """Slow webhooks make one dispatch outlast the lease; each claim must still hold for a whole lease
    from the moment it is taken, or the next dispatch sends the same notification while it is in flight."""
    cluster.receiver.answer = lambda hit: (200, "ok", HOLD_SECONDS)
    cluster.worker("worker", QRQC_DISPATCH_LEASE_SECONDS="3")
    cluster.beat("beat")
    cluster.sweeping()

    problems = [log_problem(world, team_leader, plan, grade="C", level=4, due_in=1) for _ in range(6)]
    expected = set().union(*(expected_tiers(problem) for problem in problems))
    wait_until(lambda: settled(expected), 60, "every notification to be delivered", cluster)
    time.sleep(2 * SWEEP_SECONDS + HOLD_SECONDS)

    webhooks = assert_told_once(expected, endpoint)
    received = cluster.receiver.deliveries()
    assert set(received) == {str(note.uid) for note in webhooks}
    assert all(count == 1 for count in received.values()), received
