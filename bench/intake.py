#!/usr/bin/env python
"""Server time of a graded problem intake through the API (issue #2), on PostgreSQL.

A standalone script, not part of the test suite:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qrqc_bench .venv/bin/python bench/intake.py \
        [--sizes 10000 100000] [--requests 300]

It uses only the database named in DATABASE_URL (created when missing, then migrated), builds
one plant with 40 lines and a plant-scoped team leader, fills the problem table with
bulk_create up to each size (topping up between sizes), and times POST /api/v1/problems/
(token auth, an Idempotency-Key per request) through django.test.Client, i.e. the whole
Django stack in-process: middleware, DRF, grading, numbering, the insert and the response.
Target: flat in N, p95 under 25 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import database_from_env, ensure_database, setup_django  # noqa: E402  (bench/ is the script's folder)

PLANT_CODE = "bench"
WORKSHOPS = 4
LINES_PER_WORKSHOP = 10  # 40 lines
REPORTERS = 30
WARMUP = 20
FILL_BATCH = 5000
SEED = 20240601


# --------------------------------------------------------------------------- database


# --------------------------------------------------------------------------- vocabulary

DEFECTS = [
    ("Burr", "毛刺"),
    ("Scratch", "划伤"),
    ("Dent", "磕碰"),
    ("Crack", "裂纹"),
    ("Leak", "泄漏"),
    ("Missing part", "漏装"),
    ("Wrong part", "错装"),
    ("Loose bolt", "螺栓松动"),
    ("Porosity", "气孔"),
    ("Oversize bore", "孔径超差"),
    ("Undersize shaft", "轴径超差"),
    ("Flatness out", "平面度超差"),
    ("Torque low", "扭矩偏低"),
    ("Paint run", "流漆"),
    ("Rust", "锈蚀"),
    ("Label wrong", "标签错误"),
    ("Seal damaged", "密封件损伤"),
    ("Thread damaged", "螺纹损伤"),
    ("Contamination", "异物"),
    ("Weld spatter", "焊渣"),
]
PARTS = [
    ("housing", "壳体"),
    ("cover", "盖板"),
    ("shaft", "轴"),
    ("gear", "齿轮"),
    ("bracket", "支架"),
    ("valve body", "阀体"),
    ("pump", "泵"),
    ("flange", "法兰"),
    ("hose", "软管"),
    ("connector", "接插件"),
    ("bearing seat", "轴承座"),
    ("piston", "活塞"),
    ("harness", "线束"),
    ("cylinder head", "缸盖"),
    ("crankcase", "曲轴箱"),
]
OTHER_MODES = {
    "equipment": [
        ("Spindle alarm", "主轴报警"),
        ("Robot stop", "机器人停机"),
        ("Press fault", "压机故障"),
        ("Conveyor jam", "输送线卡滞"),
        ("Tool breakage", "刀具断裂"),
        ("Sensor fault", "传感器故障"),
    ],
    "material": [
        ("Late delivery", "来料延迟"),
        ("Incoming defect", "来料不良"),
        ("Wrong batch", "批次错误"),
        ("Packaging damaged", "包装破损"),
    ],
    "utilities": [
        ("Compressed air low", "压缩空气不足"),
        ("Power dip", "电压波动"),
        ("Coolant temp high", "冷却液温度高"),
    ],
    "safety": [("Guard open", "防护门未关"), ("Oil on floor", "地面油污"), ("PPE missing", "未戴劳保用品")],
    "people": [("Operator absent", "操作工缺岗"), ("Untrained stand-in", "顶岗人员未培训")],
}
CATEGORY_WEIGHTS = {"quality": 60, "equipment": 18, "material": 9, "utilities": 4, "safety": 5, "people": 4}
CAUSE_FAMILIES = ["man", "machine", "material", "method", "environment", "measurement", "other"]


def failure_mode_specs() -> list[tuple[str, str, str]]:
    """(category, name_en, name_zh): 300 quality modes and a few per other category."""
    specs = [("quality", f"{d_en} on {p_en}", f"{p_zh}{d_zh}") for d_en, d_zh in DEFECTS for p_en, p_zh in PARTS]
    for category, modes in OTHER_MODES.items():
        specs += [(category, en, zh) for en, zh in modes]
    return specs


def zipf_weights(count: int, offset: int = 5) -> list[float]:
    """A long tail: the top mode takes a few percent, most modes recur now and then."""
    return [1 / (rank + offset) for rank in range(count)]


def random_facts(rng: random.Random, category: str) -> dict:
    if category == "quality":
        facts: dict = {"defect_class": rng.choice("AABBBCCCC")}
        total = rng.choice([0, 1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 15])
        facts["defect_count"] = total
        facts["consecutive_count"] = rng.randint(0, min(total, 4))
        for name, p in (
            ("customer_complaint", 0.03),
            ("poka_yoke_failure", 0.04),
            ("batch_problem", 0.05),
            ("records_missing", 0.05),
            ("nonstandard_operation", 0.08),
        ):
            if rng.random() < p:
                facts[name] = True
        if rng.random() < 0.05:
            facts["zero_tolerance_count"] = rng.randint(1, 3)
        return facts
    if category == "equipment":
        facts = {
            "downtime_minutes": rng.choice([5, 10, 15, 20, 30, 45, 60, 90, 120, 240]),
            "characteristic_class": rng.choice("ABC"),
        }
        if rng.random() < 0.05:
            facts["critical_spare_missing"] = True
        return facts
    if category == "material":
        return {"line_stop_minutes": rng.choice([5, 10, 20, 30, 60, 120]), "incoming_abnormal": rng.random() < 0.3}
    if category == "utilities":
        return {"interruption_minutes": rng.choice([2, 5, 10, 30, 60])}
    if category == "safety":
        return {"incident": rng.random() < 0.3, "procedure_violation": rng.random() < 0.5}
    return {"shortage_percent": rng.choice([2, 5, 8, 10, 15, 20]), "individual_absence": rng.random() < 0.5}


# --------------------------------------------------------------------------- the plant


class World:
    def __init__(self, rng: random.Random):
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        from issues.common.scope import assign_role
        from issues.grading.thresholds import current_table
        from issues.models import FailureMode, Line, Plant, Profile, Role, Shift, Workshop
        from issues.plant_setup import set_up_plant

        self.rng = rng
        user_model = get_user_model()
        plant = Plant.objects.filter(code=PLANT_CODE).first()
        if plant is None:
            plant = Plant.objects.create(
                code=PLANT_CODE, name_en="Bench Plant", name_zh="基准工厂", timezone="Asia/Shanghai"
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
        for code, name_en, name_zh, starts, ends in (("day", "Day", "白班", 8, 20), ("night", "Night", "夜班", 20, 8)):
            Shift.objects.get_or_create(
                plant=plant,
                code=code,
                defaults={"name_en": name_en, "name_zh": name_zh, "starts": dt.time(starts), "ends": dt.time(ends)},
            )
        self.lines = list(Line.objects.filter(workshop__plant=plant).order_by("pk"))
        assert len(self.lines) == WORKSHOPS * LINES_PER_WORKSHOP, len(self.lines)

        # Failure modes: the plant's curated list (the free-text ones of a previous run are dropped by reset()).
        existing = set(FailureMode.objects.filter(plant=plant).values_list("name_en", flat=True))
        FailureMode.objects.bulk_create(
            FailureMode(plant=plant, category=category, name_en=en, name_zh=zh, reviewed=True)
            for category, en, zh in failure_mode_specs()
            if en not in existing
        )
        modes = list(FailureMode.objects.filter(plant=plant, reviewed=True).order_by("pk"))
        rng.shuffle(modes)  # popularity independent of creation order
        self.modes = modes
        self.mode_weights = zipf_weights(len(modes))

        # People: the API caller (a team leader with plant scope) and other reporters of old problems.
        leader = user_model.objects.filter(username="bench-leader").first()
        if leader is None:
            leader = user_model(username="bench-leader")
            leader.set_unusable_password()
            leader.save()
            Profile.objects.create(user=leader, display_name="Bench Leader", language="en")
            assign_role(leader, Role.TEAM_LEADER, plant=plant)
        self.leader = leader
        self.token = Token.objects.get_or_create(user=leader)[0].key
        names = [f"bench-reporter-{i:02d}" for i in range(REPORTERS)]
        have = set(user_model.objects.filter(username__in=names).values_list("username", flat=True))
        new_users = []
        for name in names:
            if name not in have:
                user = user_model(username=name)
                user.set_unusable_password()
                new_users.append(user)
        user_model.objects.bulk_create(new_users)
        self.reporters = list(user_model.objects.filter(username__in=names))
        self.table = current_table(plant)
        self.zone = plant.zone
        self.counters: dict[dt.date, int] = {}

    def reset(self) -> None:
        """Start from an empty problem table (this database only; its name was checked to be a bench db)."""
        from django.db import connection

        from issues.models import FailureMode, ProblemCounter

        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE issues_problemphoto, issues_problem, issues_historicalproblem RESTART IDENTITY CASCADE"
            )
        ProblemCounter.objects.filter(plant=self.plant).delete()
        FailureMode.objects.filter(plant=self.plant, reviewed=False).delete()
        self.counters = {}

    def pick_mode(self):
        return self.rng.choices(self.modes, weights=self.mode_weights)[0]

    # ----------------------------------------------------------------------- bulk fill

    def fill(self, count: int, now: dt.datetime) -> None:
        """Add `count` problems spread over the last 90 days, numbered like the intake numbers them."""
        from issues.models import Problem, ProblemCounter

        rng = self.rng
        categories = list(CATEGORY_WEIGHTS)
        category_weights = list(CATEGORY_WEIGHTS.values())
        code = self.plant.code.upper()
        # Continue each day's serial where the intake (or the previous fill) left it.
        self.counters = dict(ProblemCounter.objects.filter(plant=self.plant).values_list("day", "last"))
        batch: list[Problem] = []
        for _ in range(count):
            occurred = now - dt.timedelta(seconds=rng.uniform(0, 90 * 86400))
            day = occurred.astimezone(self.zone).date()
            serial = self.counters.get(day, 0) + 1
            self.counters[day] = serial
            mode = self.pick_mode() if rng.random() < 0.85 else None
            category = mode.category if mode and mode.category else rng.choices(categories, category_weights)[0]
            grade = rng.choices("CBA", weights=[70, 22, 8])[0]
            age_days = (now - occurred).days
            if rng.random() < 0.02:
                status = Problem.Status.CANCELLED
            elif age_days > 14:
                status = rng.choices([Problem.Status.CLOSED, Problem.Status.VERIFYING], weights=[9, 1])[0]
            else:
                status = rng.choice(list(Problem.Status.values[:5]))
            mes = rng.random() < 0.4
            reporter = self.leader if mes else rng.choice(self.reporters)
            batch.append(
                Problem(
                    number=f"{code}-{day:%Y%m%d}-{serial:03d}",
                    plant=self.plant,
                    line=rng.choice(self.lines),
                    shift_id=None,
                    category=category,
                    kind="QE" if rng.random() < 0.1 else "QC",
                    cause_family=rng.choice(CAUSE_FAMILIES) if rng.random() < 0.8 else "",
                    failure_mode=mode,
                    title=(mode.name_en if mode else "Problem") + f" #{serial}",
                    description="" if rng.random() < 0.5 else "Found at final inspection; containment started.",
                    occurred_at=occurred,
                    reported_by=reporter,
                    facts=random_facts(rng, category),
                    grade=grade,
                    base_grade=grade if rng.random() < 0.9 else "C",
                    fired_rules=[],
                    threshold_table=self.table,
                    prior_occurrences=rng.choice([0, 0, 0, 0, 1, 1, 2, 3]),
                    special_team_required=rng.random() < 0.1,
                    status=status,
                    idempotency_key=f"mes-{uuid.uuid4().hex}" if mes or rng.random() < 0.3 else "",
                )
            )
            if len(batch) >= FILL_BATCH:
                Problem.objects.bulk_create(batch)
                batch = []
        if batch:
            Problem.objects.bulk_create(batch)
        ProblemCounter.objects.bulk_create(
            [ProblemCounter(plant=self.plant, day=day, last=last) for day, last in self.counters.items()],
            update_conflicts=True,
            unique_fields=["plant", "day"],
            update_fields=["last"],
        )

    # ----------------------------------------------------------------------- request bodies

    def body(self, now: dt.datetime) -> dict:
        rng = self.rng
        roll = rng.random()
        mode = None
        if roll < 0.80:
            mode = self.pick_mode()
            mode_text = mode.name_zh if rng.random() < 0.1 else mode.name_en
        elif roll < 0.83:
            mode_text = f"Odd noise at station {rng.randint(1, 10**6)}"  # new free text: an unreviewed mode
        else:
            mode_text = ""
        if mode and mode.category:
            category = mode.category
        else:
            category = rng.choices(list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values()))[0]
        if rng.random() < 0.85:
            occurred = now - dt.timedelta(minutes=rng.uniform(1, 8 * 60))
        else:
            occurred = now - dt.timedelta(days=rng.uniform(0, 20))
        facts = random_facts(rng, category)
        body = {
            "line": rng.choice(self.lines).pk,
            "category": category,
            "title": (mode_text or "Problem at the line")[:140],
            "occurred_at": occurred.isoformat(),
            "facts": facts,
            "cause_family": rng.choice(CAUSE_FAMILIES),
            "failure_mode": mode_text,
        }
        if rng.random() < 0.5:
            body["description"] = "Seen by the operator at the end-of-line check; parts quarantined."
        return body


# --------------------------------------------------------------------------- measuring


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def measure(world: World, requests: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    client = Client(HTTP_AUTHORIZATION=f"Token {world.token}")
    url = "/api/v1/problems/"

    sql_time = [0.0]

    def timed_sql(execute, sql, params, many, context):
        # Wall time waiting for PostgreSQL (round trip included); CaptureQueriesContext rounds to 1 ms.
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_time[0] += time.perf_counter() - started

    original_commit = connection._commit

    def timed_commit():
        # COMMIT does not go through execute(); with fsync on it is a real share of the time.
        started = time.perf_counter()
        try:
            return original_commit()
        finally:
            sql_time[0] += time.perf_counter() - started

    def post(body: dict) -> tuple[float, float, int, float]:
        payload = json.dumps(body)
        headers = {"Idempotency-Key": f"bench-{uuid.uuid4().hex}"}
        sql_time[0] = 0.0
        connection.queries_log.clear()  # a full log (9000 entries) would make the count wrong
        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timed_sql):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.post(url, data=payload, content_type="application/json", headers=headers)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if response.status_code != 201:
            sys.exit(f"intake failed with {response.status_code}: {response.content[:500]!r}\nbody: {payload}")
        return elapsed, cpu, len(ctx.captured_queries), sql_time[0]

    connection._commit = timed_commit
    try:
        for _ in range(WARMUP):
            post(world.body(timezone.now()))
        times, cpu_times, queries, sql_times = [], [], [], []
        for _ in range(requests):
            elapsed, cpu, count, db_time = post(world.body(timezone.now()))
            times.append(elapsed * 1000)
            cpu_times.append(cpu * 1000)
            queries.append(count)
            sql_times.append(db_time * 1000)
    finally:
        del connection._commit
    return {
        "median": statistics.median(times),
        "p95": percentile(times, 0.95),
        "max": max(times),
        "sql_median": statistics.median(sql_times),
        "cpu_median": statistics.median(cpu_times),
        "q_min": min(queries),
        "q_max": max(queries),
        "q_median": statistics.median(queries),
    }


def vacuum_analyze() -> None:
    """What autovacuum would have done by now on a table that grew this much."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE issues_problem")
        cur.execute("VACUUM ANALYZE issues_failuremode")
        cur.execute("VACUUM ANALYZE issues_problemcounter")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        help="existing problems before each measurement (ascending)",
    )
    parser.add_argument("--requests", type=int, default=300, help="timed requests per size")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    sizes = sorted(args.sizes)

    db = database_from_env("intake.py", "qrqc_bench")
    ensure_database(db)
    run_started = time.perf_counter()
    setup_django(db)

    from django.utils import timezone

    from issues.models import Problem

    rng = random.Random(args.seed)
    world = World(rng)
    world.reset()
    print(
        f"plant {world.plant.code}: {len(world.lines)} lines, {len(world.modes)} failure modes,"
        f" threshold table v{world.table.version} ({world.table.rules.count()} rules)"
    )

    rows = []
    for size in sizes:
        now = timezone.now()
        have = Problem.objects.count()
        started = time.perf_counter()
        if size > have:
            world.fill(size - have, now)
        vacuum_analyze()
        existing = Problem.objects.count()
        print(
            f"filled to {existing} problems in {time.perf_counter() - started:.1f} s; measuring"
            f" {WARMUP} warm-up + {args.requests} requests ...",
            flush=True,
        )
        result = measure(world, args.requests)
        result["load"] = os.getloadavg()[0]
        rows.append((existing, result))

    print()
    print("POST /api/v1/problems/ (token auth, Idempotency-Key, graded intake), server time in-process")
    header = (
        f"{'existing':>9} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'DB ms med':>10} {'CPU ms med':>11}"
        f" {'queries/request':>17} {'load 1m':>8}"
    )
    print(header)
    print("-" * len(header))
    for existing, r in rows:
        queries = f"{r['q_min']}–{r['q_max']} (med {r['q_median']:g})"
        print(
            f"{existing:>9} {r['median']:>10.1f} {r['p95']:>8.1f} {r['max']:>8.1f} {r['sql_median']:>10.1f} {r['cpu_median']:>11.1f}"
            f" {queries:>17} {r['load']:>8.2f}"
        )
    print(
        f"\nDB ms = wall time waiting on PostgreSQL incl. COMMIT · CPU ms = this Python process's CPU time"
        f"\nload 1m = machine load average after the run (2 cores: above ~2 the timings include waiting for a CPU)"
        f"\ntarget: flat in N, p95 < 25 ms · {args.requests} timed requests per size · "
        f"whole run {time.perf_counter() - run_started:.0f} s"
    )


if __name__ == "__main__":
    main()
