#!/usr/bin/env python
"""Server time and queries of the daily board and the Q chart (issue #5) with 1k, 10k and 100k
problems in one plant of 40 lines, on PostgreSQL.

A standalone script, not part of the test suite:

    DJANGO_ENV=test DATABASE_URL=postgres://postgres@127.0.0.1:5432/qrqc_bench_board \\
        .venv/bin/python bench/board.py [--sizes 1000 10000 100000] [--requests 100] [--per-day 40]

It uses only the database named in DATABASE_URL (its name must contain "bench"; created when
missing, then migrated) and empties its problem tables. One plant (Plant.save seeds thresholds,
escalation and solving policies), 4 workshops × 10 lines, a plant-level quality engineer who
reads the pages, 30 people who own problems.

The plant logs `--per-day` problems a day (about one per line), so the sizes are years of
history: problem i occurred i / per-day days ago. The newest weeks are what a plant has on its
board: a few hundred open problems at every stage, most with an owner, some overdue, the
serious ones escalated; older problems are closed (1 % cancelled) but for a stuck backlog of
about 60 still open. A and B problems (and some C) have an 8D report with its nine sections,
in states that follow the problem's status. Growing from one size to the next adds older
history only, so the board's rows stay the same and only the table grows.

Each page is requested through django.test.Client (the whole Django stack in-process:
middleware, session, view, template), `--requests` times after a warm-up:
  board          /board/                 the plant's board, first page (50 rows)
  board TV rows  /board/tv/rows/          the fragment a TV polls every few seconds
  Q chart        /qchart/                this month's calendar and charts of the plant
  Q chart day    /qchart/?day=<today>    with today's problems listed
  Q chart drawn  /qchart/                with the chart cache bypassed: every SVG drawn. After a new
                                         problem a worker draws the charts ahead (issues.qchart.tasks.
                                         draw_qcharts), so this is what a reader pays only within
                                         QRQC_QCHART_DELAY_SECONDS of it, or with no worker running
Then the worker's own job is timed: drawing.draw_ahead for the plant and its 4 workshops in
both languages, with nothing kept yet.
Target: p95 under 60 ms and the same number of queries at every size. The run is one process
on the same machine as PostgreSQL: other work there (load 1m is printed) shows in the p95.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import database_from_env, ensure_database, setup_django  # noqa: E402  (bench/ is the script's folder)

PLANT_CODE = "benchboard"
WORKSHOPS = 4
LINES_PER_WORKSHOP = 10  # 40 lines
OWNERS = 30
WARMUP = 10
FILL_BATCH = 5000
SEED = 20240605
STUCK = 60  # old problems still open: the backlog every plant has
TARGET_P95_MS = 60.0

MODES = [
    ("quality", "Burr on housing", "壳体毛刺"),
    ("quality", "Scratch on cover", "盖板划伤"),
    ("quality", "Missing part", "漏装"),
    ("quality", "Wrong part", "错装"),
    ("quality", "Oversize bore", "孔径超差"),
    ("quality", "Leak", "泄漏"),
    ("quality", "Loose bolt", "螺栓松动"),
    ("quality", "Porosity", "气孔"),
    ("quality", "Paint run", "流漆"),
    ("quality", "Torque low", "扭矩偏低"),
    ("quality", "Label wrong", "标签错误"),
    ("quality", "Thread damaged", "螺纹损伤"),
    ("quality", "Contamination", "异物"),
    ("quality", "Dent", "磕碰"),
    ("quality", "Crack", "裂纹"),
    ("equipment", "Spindle alarm", "主轴报警"),
    ("equipment", "Robot stop", "机器人停机"),
    ("equipment", "Press fault", "压机故障"),
    ("equipment", "Conveyor jam", "输送线卡滞"),
    ("material", "Late delivery", "来料延迟"),
    ("material", "Incoming defect", "来料不良"),
    ("utilities", "Compressed air low", "压缩空气不足"),
    ("safety", "Guard open", "防护门未关"),
    ("people", "Operator absent", "操作工缺岗"),
]
CATEGORY_WEIGHTS = {"quality": 60, "equipment": 18, "material": 9, "utilities": 4, "safety": 5, "people": 4}
OPEN_STAGES = ["open", "contained", "analysed", "acting", "verifying"]
SECTIONS = ["D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"]
# How far an open problem's 8D has got: sections before this one are accepted, this one is a draft.
STAGE_SECTION = {"open": 0, "contained": 4, "analysed": 5, "acting": 6, "verifying": 7}


# --------------------------------------------------------------------------- the plant


class World:
    def __init__(self, rng: random.Random, per_day: float):
        from django.contrib.auth import get_user_model

        from issues.common.scope import assign_role
        from issues.grading.thresholds import current_table
        from issues.models import FailureMode, Line, Plant, Profile, Role, Workshop
        from issues.plant_setup import set_up_plant

        self.rng = rng
        self.per_day = per_day
        users = get_user_model()
        plant = Plant.objects.filter(code=PLANT_CODE).first()
        if plant is None:
            plant = Plant.objects.create(
                code=PLANT_CODE, name_en="Board Bench Plant", name_zh="看板基准工厂", timezone="Asia/Shanghai"
            )
            set_up_plant(plant)
        self.plant = plant
        for w in range(WORKSHOPS):
            workshop, _ = Workshop.objects.get_or_create(
                plant=plant, code=f"w{w + 1}", defaults={"name_en": f"Workshop {w + 1}", "name_zh": f"{w + 1}号车间"}
            )
            for n in range(LINES_PER_WORKSHOP):
                Line.objects.get_or_create(
                    workshop=workshop,
                    code=f"w{w + 1}l{n + 1:02d}",
                    defaults={"name_en": f"Line {w + 1}-{n + 1}", "name_zh": f"{w + 1}-{n + 1}线"},
                )
        self.lines = list(Line.objects.filter(workshop__plant=plant).order_by("pk"))
        assert len(self.lines) == WORKSHOPS * LINES_PER_WORKSHOP, len(self.lines)
        have = set(FailureMode.objects.filter(plant=plant).values_list("name_en", flat=True))
        FailureMode.objects.bulk_create(
            FailureMode(plant=plant, category=category, name_en=en, name_zh=zh)
            for category, en, zh in MODES
            if en not in have
        )
        self.modes = list(FailureMode.objects.filter(plant=plant).order_by("pk"))
        self.mode_weights = [1 / (rank + 3) for rank in range(len(self.modes))]  # a Pareto's long tail

        def person(username: str, role: str, display: str):
            user = users.objects.filter(username=username).first()
            if user is None:
                user = users(username=username)
                user.set_unusable_password()
                user.save()
                Profile.objects.create(user=user, display_name=display, language="en")
                assign_role(user, role, plant=plant)
            return user

        self.reader = person("bench-board-qe", Role.QUALITY_ENGINEER, "Bench Quality Engineer")
        self.owners = [
            person(f"bench-board-owner-{n:02d}", Role.QUALITY_ENGINEER, f"Owner {n:02d}") for n in range(OWNERS)
        ]
        self.table = current_table(plant)
        self.zone = plant.zone

    def reset(self) -> None:
        """Empty the problem tables (this database only: its name was checked to contain "bench")."""
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE issues_problemphoto, issues_problem, issues_historicalproblem, issues_eightdreport,"
                " issues_section, issues_problemcounter RESTART IDENTITY CASCADE"
            )

    # ----------------------------------------------------------------------- bulk fill

    def fill(self, first: int, last: int, total: int, now: dt.datetime) -> None:
        """Problems number `first` to `last - 1` counted back from now (0 is the newest), with
        the 8D reports and sections of those that have one."""
        from django.db import connection

        from issues.models import EightDReport, Problem, Section

        rng = self.rng
        categories, category_weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
        code = self.plant.code.upper()
        batch: list[Problem] = []
        reports: list[tuple[Problem, str]] = []  # (problem, status) whose 8D is written after the insert

        def flush() -> None:
            Problem.objects.bulk_create(batch)
            made = EightDReport.objects.bulk_create(
                EightDReport(problem=problem, leader=problem.owner, created_by=self.reader) for problem, _s in reports
            )
            sections = []
            for report, (problem, status) in zip(made, reports, strict=True):
                sections += self.sections(report, problem, status, now)
            Section.objects.bulk_create(sections, batch_size=FILL_BATCH)
            batch.clear()
            reports.clear()

        for index in range(first, last):
            age = dt.timedelta(days=index / self.per_day, seconds=rng.uniform(0, 3600))
            occurred = now - age - dt.timedelta(minutes=1)
            days = age.total_seconds() / 86400
            mode = rng.choices(self.modes, weights=self.mode_weights)[0] if rng.random() < 0.85 else None
            category = mode.category if mode else rng.choices(categories, category_weights)[0]
            grade = rng.choices("CBA", weights=[70, 22, 8])[0]
            status = self.status(days, total, rng)
            owner = rng.choice(self.owners) if status != "open" or rng.random() < 0.6 else None
            due = None
            if owner is not None:
                due = (occurred + dt.timedelta(days=rng.choice([3, 7, 14, 30]))).astimezone(self.zone).date()
            level = 5
            if status not in ("closed", "cancelled") and grade != "C" and rng.random() < 0.3:
                level = rng.choice([4, 3, 2, 1] if grade == "A" else [4, 3])
            problem = Problem(
                number=f"{code}-{occurred.astimezone(self.zone):%Y%m%d}-{index:07d}",
                plant=self.plant,
                line=rng.choice(self.lines),
                category=category,
                failure_mode=mode,
                cause_family=rng.choice(["man", "machine", "material", "method", "environment", ""]),
                title=(mode.name_en if mode else "Problem at the line") + f" #{index}",
                description="" if rng.random() < 0.5 else "Found at final inspection; parts quarantined.",
                occurred_at=occurred,
                reported_by=rng.choice(self.owners),
                facts={},
                grade=grade,
                base_grade=grade,
                fired_rules=[],
                threshold_table=self.table,
                status=status,
                owner=owner,
                owner_assigned_at=occurred + dt.timedelta(hours=20) if owner else None,
                due_date=due,
                contained_at=occurred + dt.timedelta(hours=2) if status not in ("open", "cancelled") else None,
                # Closed between 2 and 30 days after it occurred, and never later than now.
                closed_at=occurred + min(dt.timedelta(days=rng.uniform(2, 30)), age * rng.uniform(0.2, 0.95))
                if status == "closed"
                else None,
                escalation_level=level,
            )
            batch.append(problem)
            if status != "cancelled" and (grade != "C" or rng.random() < 0.05):
                reports.append((problem, status))
            if len(batch) >= FILL_BATCH:
                flush()
        if batch:
            flush()
        # reported_at is auto_now_add: give the history the time it was logged, a few minutes after it occurred.
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE issues_problem SET reported_at = occurred_at + interval '4 minutes'"
                " WHERE plant_id = %s AND reported_at > occurred_at + interval '1 hour'",
                [self.plant.pk],
            )

    def status(self, days: float, total: int, rng: random.Random) -> str:
        if rng.random() < 0.01:
            return "cancelled"
        if rng.random() < math.exp(-days / 10):  # young problems are still being worked on
            return rng.choice(OPEN_STAGES)
        if days > 30 and rng.random() < STUCK / max(1, total):
            return rng.choice(OPEN_STAGES[2:])
        return "closed"

    def sections(self, report, problem, status: str, now: dt.datetime) -> list:
        from issues.models import Section

        reached = len(SECTIONS) if status == "closed" else STAGE_SECTION[status]
        rows = []
        for number, code in enumerate(SECTIONS):
            if number < reached:
                state = "na" if code == "D6" and problem.grade == "C" else "accepted"
            elif number == reached:
                state = self.rng.choice(["draft", "submitted", "returned"])
            else:
                state = "todo"
            due = problem.occurred_at + dt.timedelta(days=1 + 2 * number)
            rows.append(
                Section(
                    report=report,
                    code=code,
                    state=state,
                    content={"summary": "done"} if state in ("accepted", "submitted") else {},
                    due_at=due,
                    done_at=min(due, now) if state in ("accepted", "na") else None,
                )
            )
        return rows


# --------------------------------------------------------------------------- measuring


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def pages(world: World) -> list[tuple[str, str, bool]]:
    """(name, url, whether the Q chart's SVG cache is bypassed)."""
    from django.urls import reverse
    from django.utils import timezone

    today = timezone.now().astimezone(world.zone).date()
    return [
        ("board", reverse("board:index"), False),
        ("board TV rows", reverse("board:tv_rows"), False),
        ("Q chart", reverse("qchart:index"), False),
        ("Q chart day", f"{reverse('qchart:index')}?day={today.isoformat()}", False),
        # Every chart drawn: a reader faster than the worker after a new problem changed the counts.
        ("Q chart drawn", reverse("qchart:index"), True),
    ]


def measure(world: World, url: str, requests: int, draw: bool) -> dict:
    from django.core.cache.backends.dummy import DummyCache

    from issues.qchart import drawing

    kept = drawing.cache
    if draw:
        drawing.cache = DummyCache("bench", {})
    try:
        return _measure(world, url, requests)
    except Exception as exc:  # one broken page must not hide the others' figures
        print(f"  GET {url} failed: {exc!r}", file=sys.stderr)
        return {"error": f"{type(exc).__name__}: {exc}"[:60]}
    finally:
        drawing.cache = kept


def _measure(world: World, url: str, requests: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(world.reader)
    sql_time = [0.0]

    def timed_sql(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_time[0] += time.perf_counter() - started

    def get() -> tuple[float, int, float, int, float]:
        sql_time[0] = 0.0
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timed_sql):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(url)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if response.status_code != 200:
            raise RuntimeError(f"answered {response.status_code}")
        return elapsed * 1000, len(ctx.captured_queries), sql_time[0] * 1000, len(response.content), cpu * 1000

    for _ in range(WARMUP):
        get()
    times, queries, sql_times, sizes, cpu_times = [], [], [], [], []
    for _ in range(requests):
        elapsed, count, db_ms, size, cpu_ms = get()
        times.append(elapsed)
        queries.append(count)
        sql_times.append(db_ms)
        sizes.append(size)
        cpu_times.append(cpu_ms)
    return {
        "median": statistics.median(times),
        "p95": percentile(times, 0.95),
        "max": max(times),
        "sql_median": statistics.median(sql_times),
        "cpu_median": statistics.median(cpu_times),
        "q_min": min(queries),
        "q_max": max(queries),
        "kb": statistics.median(sizes) / 1024,
    }


def time_draw_ahead(world: World, runs: int = 5) -> tuple[int, list[float]]:
    """(charts drawn, ms per run) of the worker's draw_ahead for this month, each run on an empty cache."""
    from django.core.cache.backends.locmem import LocMemCache
    from django.utils import timezone

    from issues.qchart import drawing

    today = timezone.now().astimezone(world.zone).date()
    kept, charts, times = drawing.cache, 0, []
    try:
        for _ in range(runs):
            drawing.cache = LocMemCache("bench-draw-ahead", {})
            drawing.cache.clear()  # local-memory caches of one name share their store
            started = time.perf_counter()
            charts = drawing.draw_ahead(world.plant, today.year, today.month)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        drawing.cache = kept
    return charts, times


def vacuum_analyze() -> None:
    """What autovacuum and the checkpointer would have done by now: the grown tables vacuumed,
    their pages on disk, and every table's statistics fresh (a plant, workshop and line table
    never analysed makes the planner expect one line per plant, and pick a nested loop over
    every problem of each line)."""
    from django.db import connection

    with connection.cursor() as cur:
        for table in ("issues_problem", "issues_eightdreport", "issues_section"):
            cur.execute(f"VACUUM ANALYZE {table}")
        cur.execute("ANALYZE")
        # The fill's dirty pages written now, not by a checkpoint in the middle of the timings.
        cur.execute("CHECKPOINT")


def board_facts(world: World) -> str:
    from django.utils import timezone

    from issues.models import EightDReport, Problem

    now = timezone.now()
    mine = Problem.objects.filter(plant=world.plant)
    still = mine.exclude(status__in=["closed", "cancelled"]).count()
    recent = mine.filter(occurred_at__gte=now - dt.timedelta(hours=24)).count()
    month_start = now.astimezone(world.zone).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    this_month = mine.filter(occurred_at__gte=month_start).count()
    reports = EightDReport.objects.filter(problem__plant=world.plant).count()
    return f"{still} open, {recent} in the past 24 h, {this_month} this month, {reports} 8D reports"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page and size")
    parser.add_argument("--per-day", type=float, default=40.0, help="problems the plant logs a day")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--again", action="store_true", help="measure the problems a previous run left, without refilling"
    )
    args = parser.parse_args()
    sizes = sorted(args.sizes)

    db = database_from_env("board.py", "qrqc_bench_board")
    ensure_database(db)
    run_started = time.perf_counter()
    setup_django(db)

    from django.utils import timezone

    from issues.models import Problem

    world = World(random.Random(args.seed), args.per_day)
    print(f"plant {world.plant.code}: {len(world.lines)} lines, {len(world.modes)} failure modes, {args.per_day:g}/day")
    if args.again:
        sizes = [Problem.objects.filter(plant=world.plant).count()]
    else:
        world.reset()

    results, drawing_ahead = [], []
    have = 0
    for size in sizes:
        started = time.perf_counter()
        if not args.again:
            world.fill(have, size, sizes[-1], timezone.now())
            have = size
        vacuum_analyze()
        existing = Problem.objects.filter(plant=world.plant).count()
        print(
            f"filled to {existing} problems ({existing / args.per_day / 365:.1f} years) in"
            f" {time.perf_counter() - started:.1f} s: {board_facts(world)}; measuring ...",
            flush=True,
        )
        for name, url, draw in pages(world):
            results.append((existing, name, measure(world, url, args.requests, draw)))
        drawing_ahead.append((existing, time_draw_ahead(world)))

    print()
    print("GET as a plant-level quality engineer, server time in-process (django.test.Client)")
    header = (
        f"{'problems':>9} {'page':<14} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'DB ms med':>10}"
        f" {'CPU ms med':>11} {'queries':>8} {'KB':>6}"
    )
    print(header)
    print("-" * len(header))
    for existing, name, r in results:
        if "error" in r:
            print(f"{existing:>9} {name:<14} failed: {r['error']}")
            continue
        queries = f"{r['q_min']}" if r["q_min"] == r["q_max"] else f"{r['q_min']}–{r['q_max']}"
        flag = "" if r["p95"] < TARGET_P95_MS else "  > target"
        if flag and name == "Q chart drawn":
            flag = "  cold: drawn ahead by the worker"
        print(
            f"{existing:>9} {name:<14} {r['median']:>10.1f} {r['p95']:>8.1f} {r['max']:>8.1f}"
            f" {r['sql_median']:>10.1f} {r['cpu_median']:>11.1f} {queries:>8} {r['kb']:>6.0f}{flag}"
        )
    print("\nThe worker's job after a new problem: draw_ahead, plant and 4 workshops, 2 languages, nothing kept")
    for existing, (charts, times) in drawing_ahead:
        print(
            f"{existing:>9} problems: {charts} charts in {statistics.median(times):.0f} ms"
            f" (median of {len(times)}, {statistics.median(times) / max(1, charts):.0f} ms a chart)"
        )
    constant = all(
        len({(r.get("q_min"), r.get("q_max")) for existing, page, r in results if page == name}) == 1
        for name, _url, _draw in pages(world)
    )
    print(
        f"\nDB ms = wall time waiting on PostgreSQL · CPU ms = this Python process's CPU time"
        f" · queries constant across sizes: {'yes' if constant else 'NO'}"
        f"\ntarget: p95 < {TARGET_P95_MS:g} ms · {args.requests} timed requests per page and size"
        f" · whole run {time.perf_counter() - run_started:.0f} s · load 1m {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
