#!/usr/bin/env python
"""Timed escalation under load (issue #3): 10,000 open problems whose level-4 deadlines fall
over a short window, swept and dispatched every second as production does it, on PostgreSQL.

A standalone script, not part of the test suite:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qrqc_bench_esc .venv/bin/python bench/escalation.py \
        [--problems 10000] [--window 90] [--period 1] [--workers 4] [--no-webhook] [--profile]

It uses only the database named in DATABASE_URL (its name must contain "bench"; created when
missing, then migrated) and empties its problem and escalation tables. It builds one plant
(Plant.save seeds thresholds and escalation policies) with 4 workshops × 10 lines and the
people of the quality ladder: a team leader per line, a quality engineer and a workshop
director per workshop, and plant-wide the inspection section chief, production manager,
quality manager and general manager, each with a profile (language, phone) and an e-mail.

Channels as a plant without a phone/SMS gateway has them: no QRQC_GATEWAY_URL, so phone and
SMS fail for good and fall back to e-mail (Django's locmem backend, kept in memory) and the
in-app channel; one generic JSON group webhook posts to a local HTTP server in a child process
that stamps the arrival time of every delivery (--no-webhook to leave it out).

The problems are bulk-created as intake stores them (escalation_plan = plan_for(plant,
"quality"), level 5, escalate_at/alarm_at from the ladder, grades A/B/C mixed), with
occurred_at chosen so that the level-4 deadlines (occurred + 5 min) are spread evenly over
`--window` seconds starting `--lead` seconds after the insert began. Then beat and worker run
as `make run` has them, in this process: every `--period` seconds a tick (the beat's
sweep_and_dispatch message, which expires after two periods) is taken by the first free one of
`--workers` threads (the worker's `--pool=threads --concurrency=4`), which calls
escalation.sweep.sweep() and escalation.dispatch.dispatch() (two tasks) with the real clock; a run that
overruns its period is overlapped by the next tick's run on another thread, each with its own
database connection. Celery's messaging (beat → broker → worker, a few milliseconds a tick) is
not included. The loop stops once every deadline has passed and nothing is left to fire,
expand or deliver (or `--drain-timeout` seconds after the last deadline).

Lateness is measured twice: from the ledger (EscalationEvent.fired_at and Notification.sent_at
hold the `now` the sweep or dispatch run started with) and from the wall clock (the end of the
run that wrote the row, i.e. its commit, and for the webhook the arrival time at the server).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import database_from_env, ensure_database, setup_django  # noqa: E402  (bench/ is the script's folder)

PLANT_CODE = "benchesc"
WORKSHOPS = 4
LINES_PER_WORKSHOP = 10
FILL_BATCH = 2000
SEED = 20240603
GRADE_WEIGHTS = {"C": 60, "B": 25, "A": 15}
TARGET_P99 = 2.0  # seconds of lateness, with the sweep every second


# --------------------------------------------------------------------------- database


# --------------------------------------------------------------------------- the webhook receiver


def serve_webhook(port_pipe, log_path: str) -> None:
    """A generic JSON webhook endpoint in its own process: answers 200 and writes
    `delivery-id <TAB> arrival time` per request, so arrivals are stamped by another clock reader
    than the sender and duplicates are seen where they would hurt (the group chat)."""
    import signal
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    log = open(log_path, "a", buffering=1)

    class Hook(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            arrived = time.time()
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            log.write(f"{self.headers.get('X-QRQC-Delivery', '')}\t{arrived:.6f}\n")
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: (log.close(), os._exit(0)))
    port_pipe.send(server.server_address[1])
    server.serve_forever()


# --------------------------------------------------------------------------- the plant


class World:
    def __init__(self, rng: random.Random):
        from django.contrib.auth import get_user_model

        from escalation.policies import plan_for
        from issues.common.scope import assign_role
        from issues.grading.thresholds import current_table
        from issues.models import Line, Plant, Profile, Role, RoleAssignment, Workshop
        from issues.plant_setup import set_up_plant

        self.rng = rng
        user_model = get_user_model()
        plant = Plant.objects.filter(code=PLANT_CODE).first()
        if plant is None:
            plant = Plant.objects.create(
                code=PLANT_CODE, name_en="Escalation Bench Plant", name_zh="升级基准工厂", timezone="Asia/Shanghai"
            )
            set_up_plant(plant)
        self.plant = plant
        for w in range(WORKSHOPS):
            workshop, _ = Workshop.objects.get_or_create(
                plant=plant, code=f"ws{w + 1}", defaults={"name_en": f"Workshop {w + 1}", "name_zh": f"{w + 1}车间"}
            )
            for n in range(LINES_PER_WORKSHOP):
                Line.objects.get_or_create(
                    workshop=workshop,
                    code=f"l{w + 1}{n:02d}",
                    defaults={"name_en": f"Line {w + 1}-{n + 1}", "name_zh": f"{w + 1}-{n + 1}线"},
                )
        self.lines = list(Line.objects.filter(workshop__plant=plant).select_related("workshop").order_by("pk"))
        self.workshops = list(Workshop.objects.filter(plant=plant).order_by("pk"))

        def person(username: str, role: str, number: int, **scope):
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_model(username=username, email=f"{username}@plant.example")
                user.set_unusable_password()
                user.save()
                Profile.objects.create(
                    user=user,
                    display_name=username.replace("-", " ").title(),
                    phone=f"+86138{number:08d}",
                    language="zh-hans" if number % 2 else "en",
                )
            if not RoleAssignment.objects.filter(user=user, role=role, plant=plant, **scope).exists():
                assign_role(user, role, plant=plant, **scope)
            return user

        count = 0
        for line in self.lines:
            count += 1
            person(f"esc-tl-{line.code}", Role.TEAM_LEADER, count, line=line)
        for workshop in self.workshops:
            count += 2
            person(f"esc-qe-{workshop.code}", Role.QUALITY_ENGINEER, count, workshop=workshop)
            person(f"esc-wd-{workshop.code}", Role.WORKSHOP_DIRECTOR, count + 1, workshop=workshop)
        for role in (
            Role.INSPECTION_SECTION_CHIEF,
            Role.PRODUCTION_MANAGER,
            Role.QUALITY_MANAGER,
            Role.GENERAL_MANAGER,
        ):
            count += 1
            person(f"esc-{role.replace('_', '-')}", role, count)
        self.reporter = person("esc-reporter", Role.OPERATOR, count + 1)
        self.people = RoleAssignment.objects.filter(plant=plant).count()

        self.table = current_table(plant)
        self.plan = plan_for(plant, "quality")

    def reset(self) -> None:
        """Empty the problem and escalation ledger tables (this database only: its name was checked)."""
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE issues_problem, issues_historicalproblem, escalation_escalationevent,"
                " escalation_notification, escalation_deliveryattempt, escalation_sweeprun"
                " RESTART IDENTITY CASCADE"
            )

    def set_webhook(self, url: str | None) -> None:
        """One plant-wide generic JSON webhook (after reset(): deleting it cascades to its notifications)."""
        from escalation.models import WebhookEndpoint

        WebhookEndpoint.objects.filter(plant=self.plant).delete()
        if url:
            WebhookEndpoint.objects.create(
                plant=self.plant, name="Quality group (bench)", kind=WebhookEndpoint.Kind.GENERIC, url=url
            )

    def fill(self, count: int, first_deadline: dt.datetime, window: float) -> dict[int, str]:
        """`count` open problems whose level-4 deadlines are spread evenly over `window` seconds."""
        from escalation import ladder
        from issues.models import Problem

        rng, plan = self.rng, self.plan
        level4 = ladder.tier(plan, 4)
        grades = rng.choices(list(GRADE_WEIGHTS), weights=list(GRADE_WEIGHTS.values()), k=count)
        batch: list[Problem] = []
        for i in range(count):
            deadline = first_deadline + dt.timedelta(seconds=window * i / max(1, count - 1))
            occurred = deadline - dt.timedelta(minutes=level4.after_minutes)
            grade = grades[i]
            batch.append(
                Problem(
                    number=f"{PLANT_CODE.upper()}-{i + 1:06d}",
                    plant=self.plant,
                    line=rng.choice(self.lines),
                    category="quality",
                    kind="QC",
                    cause_family="machine",
                    title=f"Burr on housing #{i + 1}",
                    occurred_at=occurred,
                    reported_by=self.reporter,
                    facts={"defect_class": grade, "defect_count": 1},
                    grade=grade,
                    base_grade=grade,
                    fired_rules=[],
                    threshold_table=self.table,
                    status=Problem.Status.OPEN,
                    escalation_plan=plan,
                    escalation_level=ladder.INITIATOR_LEVEL,
                    escalate_at=ladder.next_escalation_at(plan, grade, occurred, ladder.INITIATOR_LEVEL),
                    alarm_at=ladder.next_alarm_at(plan, occurred, []),
                )
            )
            if len(batch) >= FILL_BATCH:
                Problem.objects.bulk_create(batch)
                batch = []
        if batch:
            Problem.objects.bulk_create(batch)
        return dict(Problem.objects.filter(plant=self.plant).values_list("pk", "grade"))


# --------------------------------------------------------------------------- the loop


class SqlMeter:
    """Queries and wall time spent waiting on PostgreSQL (COMMIT included), per phase."""

    statements: collections.Counter = collections.Counter()  # --profile: time per kind of statement
    counts: collections.Counter = collections.Counter()

    def __init__(self, connection, by_statement: bool = False):
        self.connection = connection
        self.queries = 0
        self.seconds = 0.0
        self.by_statement = by_statement

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.queries += 1
            self.seconds += elapsed
            if self.by_statement:
                kind = " ".join(sql.split()[:2]) + " " + (sql.split(" FROM ")[1].split()[0] if " FROM " in sql else "")
                if sql.startswith(("UPDATE", "INSERT")):
                    kind = " ".join(sql.split()[:3])
                self.statements[kind] += elapsed
                self.counts[kind] += 1

    def install(self):
        original = self.connection._commit

        def timed_commit():
            started = time.perf_counter()
            try:
                return original()
            finally:
                elapsed = time.perf_counter() - started
                self.seconds += elapsed
                if self.by_statement:
                    self.statements["COMMIT"] += elapsed
                    self.counts["COMMIT"] += 1

        self.connection._commit = timed_commit
        return self.connection.execute_wrapper(self)

    def uninstall(self):
        del self.connection._commit

    def take(self) -> tuple[int, float]:
        taken = self.queries, self.seconds
        self.queries, self.seconds = 0, 0.0
        return taken


def commit_latency(samples: int = 200) -> float:
    """Median ms of a one-row UPDATE in autocommit: what every commit costs on this disk right now
    (WAL flush); other sessions' load on the machine shows here first."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (id int PRIMARY KEY, n int)")
        cur.execute("INSERT INTO bench_commit_probe VALUES (1, 0) ON CONFLICT DO NOTHING")
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            cur.execute("UPDATE bench_commit_probe SET n = n + 1 WHERE id = 1")
            times.append((time.perf_counter() - started) * 1000)
        cur.execute("DROP TABLE bench_commit_probe")
    return statistics.median(times)


def work_left(now: dt.datetime) -> dict[str, int]:
    from escalation.models import EscalationEvent, Notification
    from issues.models import Problem

    return {
        "due problems": Problem.objects.filter(escalate_at__lte=now).count(),
        "unexpanded events": EscalationEvent.objects.undispatched().count(),
        "pending notifications": Notification.objects.filter(status=Notification.Status.PENDING).count(),
    }


def run_loop(
    period: float, workers: int, last_deadline: dt.datetime, drain_timeout: float, profiler=None
) -> tuple[list, dict, int]:
    """Beat and worker as `make run` has them: every `period` seconds a sweep and a dispatch message
    (expires after 2 periods, like CELERY_BEAT_SCHEDULE) is taken by the first free one of
    `workers` threads (the worker's threads pool, prefetch 1), each with its own connection. A run
    that overruns its period is therefore overlapped by the next tick's run on another thread."""
    import queue
    import threading

    from django.db import connections
    from django.utils import timezone

    from escalation.dispatch import dispatch
    from escalation.sweep import sweep

    ticks: queue.Queue = queue.Queue()
    runs: list[dict] = []
    expired = [0]
    busy = [0]
    lock = threading.Lock()
    expires = 2 * period

    def work() -> None:
        connection = connections["default"]
        meter = SqlMeter(connection, by_statement=profiler is not None)
        with meter.install():
            try:
                while (item := ticks.get()) is not None:
                    kind, tick = item
                    if time.monotonic() - tick > expires:
                        with lock:
                            expired[0] += 1
                        continue
                    with lock:
                        busy[0] += 1
                        overlap = busy[0]
                    if profiler:
                        profiler.enable()
                    # Beat sends the sweep and the dispatch as two tasks (CELERY_BEAT_SCHEDULE).
                    sweep_now = timezone.now()
                    started, cpu = time.perf_counter(), time.thread_time()
                    fired = len(sweep(sweep_now)) if kind == "sweep" else 0
                    if fired:  # escalation.tasks.sweep_now enqueues a dispatch at once
                        ticks.put(("dispatch", time.monotonic()))
                    sweep_end = timezone.now()
                    sweep_s, sweep_cpu = time.perf_counter() - started, time.thread_time() - cpu
                    sweep_q, sweep_sql = meter.take()
                    dispatch_now = timezone.now()
                    started, cpu = time.perf_counter(), time.thread_time()
                    delivered = dispatch(dispatch_now) if kind == "dispatch" else 0
                    dispatch_end = timezone.now()
                    dispatch_s, dispatch_cpu = time.perf_counter() - started, time.thread_time() - cpu
                    dispatch_q, dispatch_sql = meter.take()
                    if profiler:
                        profiler.disable()
                    with lock:
                        busy[0] -= 1
                        runs.append(
                            {
                                "sweep_now": sweep_now,
                                "sweep_end": sweep_end,
                                "sweep_s": sweep_s,
                                "sweep_cpu": sweep_cpu,
                                "sweep_q": sweep_q,
                                "sweep_sql": sweep_sql,
                                "fired": fired,
                                "dispatch_now": dispatch_now,
                                "dispatch_end": dispatch_end,
                                "dispatch_s": dispatch_s,
                                "dispatch_cpu": dispatch_cpu,
                                "dispatch_q": dispatch_q,
                                "dispatch_sql": dispatch_sql,
                                "delivered": delivered,
                                "overlap": overlap,
                            }
                        )
            finally:
                meter.uninstall()
                connection.close()

    threads = [threading.Thread(target=work, name=f"worker-{i}", daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    give_up = last_deadline + dt.timedelta(seconds=drain_timeout)
    next_tick = time.monotonic()
    last_report, reported = time.monotonic(), 0
    left: dict[str, int] = {}
    try:
        while True:
            wait = next_tick - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            next_tick += period
            ticks.put(("sweep", time.monotonic()))
            ticks.put(("dispatch", time.monotonic()))
            if time.monotonic() - last_report >= 10:
                last_report = time.monotonic()
                with lock:
                    recent, reported = runs[reported:], len(runs)
                if recent:
                    print(
                        f"  t={(timezone.now() - last_deadline).total_seconds():+6.0f} s from the last deadline:"
                        f" {sum(r['fired'] for r in recent)} events, {sum(r['delivered'] for r in recent)}"
                        f" deliveries in {len(recent)} runs, longest"
                        f" {max(r['sweep_s'] + r['dispatch_s'] for r in recent):.2f} s,"
                        f" up to {max(r['overlap'] for r in recent)} at once, {expired[0]} ticks expired so far",
                        flush=True,
                    )
            now = timezone.now()
            if now > last_deadline:
                left = work_left(now)
                if not any(left.values()):
                    break
            if now > give_up:
                print(f"  gave up {drain_timeout:.0f} s after the last deadline with work left: {left}")
                break
    finally:
        for _ in threads:
            ticks.put(None)
        for thread in threads:
            thread.join()
    if left:
        left = work_left(timezone.now())
    runs.sort(key=lambda run: run["sweep_now"])
    return runs, left, expired[0]


# --------------------------------------------------------------------------- checking and figures


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def spread(values: list[float]) -> tuple[int, float, float, float]:
    if not values:
        return 0, float("nan"), float("nan"), float("nan")
    return len(values), statistics.median(values), percentile(values, 0.99), max(values)


def check(world: World, grades: dict[int, str], runs: list, stopped: dt.datetime, hook_log: str | None) -> dict:
    """Compare the ledger (and what the email backend and the webhook server received) with what
    the ladder says was due: every figure of duplicates and losses must be 0."""
    from django.core import mail
    from django.db.models import Count

    from escalation import ladder
    from escalation.models import FALLBACK, Channel, DeliveryAttempt, EscalationEvent, Notification
    from issues.models import Problem

    sweep_end = {run["sweep_now"]: run["sweep_end"] for run in runs}
    dispatch_end = {run["dispatch_now"]: run["dispatch_end"] for run in runs}
    plan = world.plan
    result: dict = {"dup": {}, "loss": {}}

    # Events: one per (problem, kind, level); one for every tier due by the time the loop stopped.
    events = list(
        EscalationEvent.objects.values_list(
            "pk", "problem_id", "kind", "level", "due_at", "fired_at", "recipients", "channels", "expanded_at"
        )
    )
    result["events"] = len(events)
    per_tier = collections.Counter((e[1], e[2], e[3]) for e in events)
    result["dup"]["events per (problem, kind, level)"] = sum(n - 1 for n in per_tier.values() if n > 1)
    occurred = dict(Problem.objects.values_list("pk", "occurred_at"))
    missing_tiers = 0
    for problem_id, grade in grades.items():
        for step in ladder.tiers(plan, grade):
            if step.due_at(occurred[problem_id]) <= stopped and (problem_id, "tier", step.level) not in per_tier:
                missing_tiers += 1
    result["loss"]["due tiers without an event"] = missing_tiers
    result["loss"]["events reaching nobody"] = sum(1 for e in events if not e[6])
    result["loss"]["events never expanded"] = sum(1 for e in events if e[8] is None)
    result["event_late"] = [(e[5] - e[4]).total_seconds() for e in events]
    result["event_late_wall"] = [(sweep_end[e[5]] - e[4]).total_seconds() for e in events if e[5] in sweep_end]

    # Notifications: one per (event, recipient, channel) and (event, endpoint); every recipient ×
    # channel of the tier delivered, directly or through its fallback chain.
    notes = list(
        Notification.objects.values_list(
            "pk", "uid", "event_id", "recipient_id", "endpoint_id", "channel", "status", "sent_at"
        )
    )
    result["notifications"] = len(notes)
    per_person = collections.Counter((n[2], n[3], n[5]) for n in notes if n[3] is not None)
    per_hook = collections.Counter((n[2], n[4]) for n in notes if n[4] is not None)
    result["dup"]["notifications per (event, recipient, channel)"] = sum(c - 1 for c in per_person.values() if c > 1)
    result["dup"]["notifications per (event, webhook)"] = sum(c - 1 for c in per_hook.values() if c > 1)
    status = {(n[2], n[3], n[5]): n[6] for n in notes if n[3] is not None}

    def outcome(event_id, user_id, channel) -> str:
        """sent, pending (not lost: still on its way when the loop gave up) or lost."""
        state = status.get((event_id, user_id, channel))
        if state in (Notification.Status.SENT, Notification.Status.PENDING):
            return state
        following = FALLBACK.get(channel)
        if state == Notification.Status.FAILED and following is not None:
            return outcome(event_id, user_id, following)
        return "lost"

    hooks = world.plant.webhooks.filter(active=True).count()
    outcomes = collections.Counter(
        outcome(e[0], person["user"], channel)
        for e in events
        for person in e[6]
        for channel in e[7]
        if channel != Channel.WEBHOOK
    )
    hook_state = collections.Counter((n[2], n[6]) for n in notes if n[4] is not None)
    hooks_pending = sum(hook_state[e[0], Notification.Status.PENDING] for e in events)
    hooks_missing = sum(
        max(0, hooks - hook_state[e[0], Notification.Status.SENT] - hook_state[e[0], Notification.Status.PENDING])
        for e in events
        if Channel.WEBHOOK in e[7]
    )
    result["loss"]["recipient × channel not delivered (after fallback)"] = outcomes["lost"]
    result["loss"]["webhook deliveries not delivered"] = hooks_missing
    result["pending"] = outcomes[Notification.Status.PENDING] + hooks_pending
    open_events = {n[2] for n in notes if n[6] == Notification.Status.PENDING}
    done_events = collections.Counter(n[2] for n in notes if n[2] not in open_events)
    result["per_event"] = statistics.mean(done_events.values()) if done_events else float("nan")

    due_at = {e[0]: e[4] for e in events}
    sent = [n for n in notes if n[6] == Notification.Status.SENT]
    result["sent"] = len(sent)
    late = collections.defaultdict(list)
    late_wall = collections.defaultdict(list)
    for n in sent:
        late["all"].append((n[7] - due_at[n[2]]).total_seconds())
        late[n[5]].append((n[7] - due_at[n[2]]).total_seconds())
        if n[7] in dispatch_end:
            late_wall["all"].append((dispatch_end[n[7]] - due_at[n[2]]).total_seconds())
            late_wall[n[5]].append((dispatch_end[n[7]] - due_at[n[2]]).total_seconds())
    # First channel that reached each person of each tier: when they were told.
    first = {}
    for n in sent:
        if n[3] is not None:
            key = (n[2], n[3])
            first[key] = min(first.get(key, n[7]), n[7])
    result["person_late"] = [(when - due_at[key[0]]).total_seconds() for key, when in first.items()]
    result["late"], result["late_wall"] = late, late_wall
    result["by_status"] = collections.Counter((n[5], n[6]) for n in notes)

    attempts = DeliveryAttempt.objects.values("notification_id").annotate(n=Count("pk")).filter(n__gt=1).count()
    result["retried"] = attempts
    result["attempts"] = DeliveryAttempt.objects.count()
    # Tries per dispatch run (an attempt's `at` is the `now` of the run that made it).
    tries = dict(DeliveryAttempt.objects.values_list("at").annotate(n=Count("pk")).values_list("at", "n"))
    for run in runs:
        run["tries"] = tries.get(run["dispatch_now"], 0)

    # What the channels received.
    outbox = getattr(mail, "outbox", [])
    per_mail = collections.Counter((tuple(m.to), m.subject) for m in outbox)
    result["dup"]["e-mails per (address, subject)"] = sum(c - 1 for c in per_mail.values() if c > 1)
    email_sent = sum(1 for n in sent if n[5] == Channel.EMAIL)
    result["loss"]["e-mails marked sent but not in the outbox"] = max(0, email_sent - len(outbox))
    result["emails"] = len(outbox)
    if hook_log:
        uid_event = {str(n[1]): n[2] for n in notes if n[4] is not None}
        arrivals = collections.defaultdict(list)
        with open(hook_log) as log:
            for line in log:
                uid, _, stamp = line.strip().partition("\t")
                if uid:
                    arrivals[uid].append(float(stamp))
        result["dup"]["webhook POSTs per delivery id (received)"] = sum(
            len(v) - 1 for v in arrivals.values() if len(v) > 1
        )
        hook_sent_uids = {str(n[1]) for n in notes if n[4] is not None and n[6] == Notification.Status.SENT}
        result["loss"]["webhooks marked sent but never received"] = len(hook_sent_uids - set(arrivals))
        result["hook_arrival_late"] = [
            min(stamps) - due_at[uid_event[uid]].timestamp() for uid, stamps in arrivals.items() if uid in uid_event
        ]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=10_000)
    parser.add_argument(
        "--window",
        type=float,
        default=300.0,
        help="seconds over which the deadlines are spread (300: 33 escalations/s; 90 is a stress run at 111/s)",
    )
    parser.add_argument("--lead", type=float, default=8.0, help="seconds from the insert to the first deadline")
    parser.add_argument("--period", type=float, default=1.0, help="sweep period in seconds (beat schedule)")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="give up this long after the last deadline")
    parser.add_argument(
        "--workers", type=int, default=4, help="worker threads taking the beat's ticks (make run: --concurrency=4)"
    )
    parser.add_argument("--no-webhook", action="store_true", help="no group webhook (and no HTTP server)")
    parser.add_argument("--profile", action="store_true", help="cProfile the loop and print the top functions")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()

    db = database_from_env("escalation.py", "qrqc_bench_esc")
    ensure_database(db)
    os.environ["DJANGO_ENV"] = "test"
    os.environ["DJANGO_DEBUG"] = "0"  # DEBUG would keep every query in memory
    os.environ["DJANGO_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ["QRQC_GATEWAY_URL"] = ""  # no phone/SMS gateway: those channels fall back
    os.environ["QRQC_KICK_SWEEP"] = "0"  # the loop below is the only sweeper
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qrqc_site.settings")

    hook_log = hook_process = hook_url = None
    if not args.no_webhook:
        # Started before Django opens any connection (fork).
        hook_log = tempfile.NamedTemporaryFile(prefix="qrqc-bench-hook-", suffix=".log", delete=False).name
        receive, send = multiprocessing.Pipe(duplex=False)
        hook_process = multiprocessing.get_context("fork").Process(
            target=serve_webhook, args=(send, hook_log), daemon=True
        )
        hook_process.start()
        hook_url = f"http://127.0.0.1:{receive.recv()}/hook"

    try:
        run_started = time.perf_counter()
        setup_django(db)

        from django.conf import settings

        assert settings.EMAIL_BACKEND.endswith("locmem.EmailBackend"), settings.EMAIL_BACKEND
        assert not settings.QRQC_GATEWAY.get("URL")
        run(args, hook_url, hook_log, run_started)
    finally:
        if hook_process is not None:
            hook_process.terminate()
            hook_process.join(5)
        if hook_log:
            Path(hook_log).unlink(missing_ok=True)


def run(args, hook_url: str | None, hook_log: str | None, run_started: float) -> None:
    from django.db import connection
    from django.utils import timezone

    from escalation import dispatch as dispatch_module
    from escalation import ladder
    from escalation import sweep as sweep_module

    rng = random.Random(args.seed)
    world = World(rng)
    world.reset()
    world.set_webhook(hook_url)
    level4 = ladder.tier(world.plan, 4)
    print(
        f"plant {world.plant.code}: {len(world.lines)} lines, {world.people} role assignments,"
        f" level 4 → {'/'.join(level4.roles)} by {'/'.join(level4.channels)};"
        f" webhook {'generic → ' + hook_url if hook_url else 'none'}; phone/SMS gateway: none (fall back to e-mail);"
        f" sweep BATCH={sweep_module.BATCH}, dispatch BATCH={dispatch_module.BATCH}"
    )

    probe_before = commit_latency()
    started = timezone.now()
    first_deadline = started + dt.timedelta(seconds=args.lead)
    last_deadline = first_deadline + dt.timedelta(seconds=args.window)
    grades = world.fill(args.problems, first_deadline, args.window)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE issues_problem")
    ready = timezone.now()
    if ready >= first_deadline - dt.timedelta(seconds=1):
        sys.exit(f"filling took {(ready - started).total_seconds():.1f} s: raise --lead above that")
    counts = collections.Counter(grades.values())
    print(
        f"{len(grades)} open problems (A {counts['A']}, B {counts['B']}, C {counts['C']}) inserted in"
        f" {(ready - started).total_seconds():.1f} s; level-4 deadlines every {args.window / max(1, args.problems - 1) * 1000:.1f} ms"
        f" from +{args.lead:.0f} s to +{args.lead + args.window:.0f} s ({args.problems / args.window:.0f}/s);"
        f" sweeping every {args.period:g} s ...",
        flush=True,
    )

    profiler, workers = None, args.workers
    if args.profile:
        import cProfile

        profiler, workers = cProfile.Profile(), 1  # one thread: cProfile follows the thread it runs in
    runs, left, expired = run_loop(args.period, workers, last_deadline, args.drain_timeout, profiler)
    stopped = runs[-1]["sweep_now"]
    finished = timezone.now()
    print(
        f"loop: {len(runs)} runs, stopped {(finished - last_deadline).total_seconds():.1f} s after the last deadline;"
        f" checking the ledger ...",
        flush=True,
    )
    probe_after = commit_latency()
    time.sleep(0.2)  # the webhook server's last log lines
    r = check(world, grades, runs, stopped, hook_log)

    busy = [run for run in runs if run["fired"] or run["tries"]]
    sweep_busy = [run for run in runs if run["fired"]]
    dispatch_busy = [run for run in runs if run["tries"]]
    sweep_time = sum(run["sweep_s"] for run in sweep_busy)
    dispatch_time = sum(run["dispatch_s"] for run in dispatch_busy)
    fired = sum(run["fired"] for run in runs)
    tried = sum(run["tries"] for run in runs)
    overruns = sum(1 for run in runs if run["sweep_s"] + run["dispatch_s"] > args.period)
    longest = max(runs, key=lambda run: run["sweep_s"] + run["dispatch_s"])
    idle = [run for run in runs if not run["fired"] and not run["tries"]]
    if dispatch_busy:
        span = max(x["dispatch_end"] for x in dispatch_busy) - min(x["dispatch_now"] for x in dispatch_busy)
        wall_rate = f"{tried / max(1e-9, span.total_seconds()):.0f}"
    else:
        wall_rate = "-"
    needed = r["per_event"] * args.problems / args.window

    def seconds(value: float) -> str:
        return f"{value:.3f}" if value == value else "-"

    print()
    print(
        f"Escalation bench: {args.problems} open problems, level-4 deadlines over {args.window:g} s"
        f" ({args.problems / args.window:.0f}/s), sweep + dispatch every {args.period:g} s in-process on"
        f" {workers} worker thread(s) (no Celery messaging)"
    )
    print(f"{'throughput':<58} {'figure':>12}   target")
    print("-" * 100)
    rows = [
        ("escalation events written", f"{r['events']}", f"= {args.problems} (one level-4 tier each)"),
        (
            "sweep throughput (events / s of sweep time)",
            f"{fired / sweep_time:.0f}" if sweep_time else "-",
            f"≥ {args.problems / args.window:.0f}/s (the deadline rate)",
        ),
        (
            "  sweep: queries / event, DB share, CPU share",
            f"{sum(x['sweep_q'] for x in sweep_busy) / max(1, fired):.1f}, "
            f"{sum(x['sweep_sql'] for x in sweep_busy) / max(1e-9, sweep_time):.0%}, "
            f"{sum(x['sweep_cpu'] for x in sweep_busy) / max(1e-9, sweep_time):.0%}",
            "",
        ),
        (
            "notifications created (incl. fallbacks), per event",
            f"{r['notifications']}, {r['per_event']:.1f}",
            "",
        ),
        (
            "delivery attempts / s of dispatch time (summed over runs)",
            f"{tried / dispatch_time:.0f}" if dispatch_time else "-",
            f"≥ {needed:.0f}/s (attempts per event × deadline rate)",
        ),
        ("delivery attempts / s of wall clock from first to last try", wall_rate, f"≥ {needed:.0f}/s"),
        (
            "  dispatch: queries / attempt, DB share, CPU share",
            f"{sum(x['dispatch_q'] for x in busy) / max(1, r['attempts']):.1f}, "
            f"{sum(x['dispatch_sql'] for x in busy) / max(1e-9, sum(x['dispatch_s'] for x in busy)):.0%}, "
            f"{sum(x['dispatch_cpu'] for x in busy) / max(1e-9, sum(x['dispatch_s'] for x in busy)):.0%}",
            "",
        ),
        (
            "runs / over the period / longest (s) / most at once",
            f"{len(runs)} / {overruns} / {longest['sweep_s'] + longest['dispatch_s']:.2f} / "
            f"{max(x['overlap'] for x in runs)}",
            f"- / 0 / < {args.period:g} / 1",
        ),
        ("beat ticks expired before a worker was free", f"{expired}", "0"),
        (
            "idle run (nothing due), median ms",
            f"{statistics.median([x['sweep_s'] + x['dispatch_s'] for x in idle]) * 1000:.1f}" if idle else "-",
            "",
        ),
    ]
    for name, figure, target in rows:
        print(f"{name:<58} {figure:>12}   {target}")
    print()
    print(f"{'lateness after the deadline, seconds':<58} {'n':>7} {'median':>7} {'p99':>7} {'max':>7}   target")
    print("-" * 104)
    target = f"p99 < {TARGET_P99:g}, max < {args.period + 1:g}"
    late_rows = [
        ("event fired_at − due_at (ledger)", r["event_late"]),
        ("event written (end of its sweep run) − due_at", r["event_late_wall"]),
        ("notification sent_at − due_at, all channels (ledger)", r["late"]["all"]),
        ("notification delivered (end of dispatch run) − due_at", r["late_wall"]["all"]),
    ]
    for channel in ("inapp", "email", "webhook", "phone", "sms"):
        if r["late_wall"].get(channel):
            late_rows.append((f"  {channel}: end of dispatch run − due_at", r["late_wall"][channel]))
    late_rows.append(("first channel to reach each person − due_at (ledger)", r["person_late"]))
    if "hook_arrival_late" in r:
        late_rows.append(("webhook arrival at the server − due_at (wall clock)", r["hook_arrival_late"]))
    for name, values in late_rows:
        n, med, p99, top = spread(values)
        print(f"{name:<58} {n:>7} {seconds(med):>7} {seconds(p99):>7} {seconds(top):>7}   {target}")
    print()
    print(f"{'duplicates and losses':<58} {'count':>7}   target")
    print("-" * 76)
    for kind in ("dup", "loss"):
        for name, value in r[kind].items():
            print(f"{('duplicate ' if kind == 'dup' else 'lost: ') + name:<58} {value:>7}   0")
    if left and any(left.values()):
        print(
            f"{'UNFINISHED: the loop gave up with work left (late, not lost)':<58} {sum(left.values()):>7}   0  {left};"
            f" recipient × channel / webhook deliveries still pending: {r['pending']}"
        )
    print()
    statuses = ", ".join(f"{channel} {state} {n}" for (channel, state), n in sorted(r["by_status"].items()))
    print(f"notifications by channel and status: {statuses}")
    print(
        f"delivery attempts {r['attempts']} ({r['retried']} notifications tried more than once);"
        f" e-mails in the locmem outbox {r['emails']}"
    )
    print(
        f"ledger times are the `now` a run started with; wall-clock rows add the run's own duration."
        f"\nPostgreSQL commit (one-row UPDATE, autocommit) median {probe_before:.2f} ms before the loop,"
        f" {probe_after:.2f} ms after · whole run {time.perf_counter() - run_started:.0f} s ·"
        f" load 1m {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    if profiler:
        import io
        import pstats

        print("\n--- time waiting on PostgreSQL by kind of statement (the loop) ---")
        for kind, total in SqlMeter.statements.most_common(20):
            count = SqlMeter.counts[kind]
            print(f"{total:8.2f} s {count:8d} × {total / count * 1000:6.2f} ms  {kind[:90]}")
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(30)
            print(f"\n--- cProfile of the loop, by {order} ---")
            print("\n".join(out.getvalue().splitlines()[:60]))


if __name__ == "__main__":
    main()
