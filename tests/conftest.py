"""Shared fixtures: a small plant and named personas (docs/architecture.md §Tests and benches)."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCacheClient
from django.db import connection
from django.db.models.signals import post_migrate
from django.utils import translation

from issues.common.scope import assign_role
from issues.eightd.rules import CHECKLIST
from issues.models import FailureMode, Line, Plant, Profile, Role, Shift, SolvingPolicy, Workshop
from issues.plant_setup import set_up_plant
from issues.problems.lifecycle import close_problem, contain

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_sessionstart(session):
    """Under CI the suite must run on the real servers: fail at once rather than pass on SQLite."""
    if not IN_CI:
        return
    problems = []
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        problems.append("DATABASE_URL must point at PostgreSQL under CI")
    if not os.environ.get("REDIS_URL", "").startswith("redis://"):
        problems.append("REDIS_URL must point at Redis under CI")
    if not os.path.exists(os.environ.get("QRQC_CHROMIUM", "/usr/bin/chromium")):
        problems.append("Chromium is not installed (/usr/bin/chromium)")
    if problems:
        pytest.exit("CI=true but " + "; ".join(problems), returncode=3)


# --- in parallel: `make test` runs pytest-xdist workers, `--dist loadfile --no-loadscope-reorder` --
# Each worker has a test database of its own (pytest-django adds the worker's id to its name) and
# cache keys of its own (KEY_PREFIX in the settings). A test module runs on one worker: its
# module-scoped fixtures are built once, and the reliability tests (each runs redis-server, Celery
# workers and beat, and asserts delivery within a sweep period or two) run one after another.
# Modules are handed out longest first, so that none starts near the end and keeps the whole run
# waiting for it: the soak (minutes), the reliability tests, the browser tests, the modules that
# start processes of their own (mostly waiting on them), then the others by their number of tests.
FIRST = ("soak", "reliability", "browser")


def pytest_collection_modifyitems(config, items):
    if not hasattr(config, "workerinput"):  # a serial run keeps the order of the files
        return
    per_module = Counter(item.module.__name__ for item in items)

    def longest_first(item) -> tuple[int, int]:
        marked = next((n for n, marker in enumerate(FIRST) if item.get_closest_marker(marker)), None)
        if marked is not None:
            return (marked, 0)
        starts_processes = "subprocess" in vars(item.module)
        return (len(FIRST) if starts_processes else len(FIRST) + 1, -per_module[item.module.__name__])

    items.sort(key=longest_first)  # stable, and the same in every worker, as xdist requires


# --- every test starts from the database as `migrate` left it ----------------------------------
# A transactional test (live server, real processes) ends with a flush, which also deletes the rows
# the data migrations wrote (the default threshold template). pytest-django runs those tests after
# the others for that reason, but xdist hands each worker one module after another, so any test may
# follow one. Those rows are kept from the new test database and written back after each flush
# (post_migrate writes content types, permissions and role groups again itself).
class MigratedRows:
    """The rows of the new test database that a flush deletes and post_migrate does not write again."""

    def __init__(self) -> None:
        self.serialized: dict[str, str] = {}  # model label -> its rows, as JSON
        self.blocker = None
        self.flushed = False

    def keep(self, blocker) -> None:
        self.blocker = blocker
        with blocker.unblock():
            for model in apps.get_models():
                if model._default_manager.exists():
                    self.serialized[model._meta.label] = serializers.serialize("json", model._default_manager.all())
        post_migrate.connect(self.note_flush, weak=False, dispatch_uid="tests-migrated-rows")

    def note_flush(self, **kwargs) -> None:
        self.flushed = True

    def restore_if_flushed(self) -> None:
        if not self.flushed:
            return
        self.flushed = False
        with self.blocker.unblock():
            emptied = [label for label in self.serialized if not apps.get_model(label)._default_manager.exists()]
            rows = [row for label in emptied for row in json.loads(self.serialized[label])]
            if rows:
                connection.creation.deserialize_db_from_string(json.dumps(rows))


MIGRATED = MigratedRows()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    MIGRATED.keep(django_db_blocker)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    try:
        return (yield)
    finally:
        if nextitem is not None:  # after the last test the test database itself is gone
            MIGRATED.restore_if_flushed()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Creating personas with the real hasher costs ~0.3 s each; tests do not test hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_sweep_kick(settings):
    """Intake enqueues a sweep and a Q chart drawing on the broker; tests that run a real worker
    turn them back on."""
    settings.QRQC_KICK_SWEEP = False
    settings.QRQC_DRAW_QCHARTS_AHEAD = False


@pytest.fixture(autouse=True)
def fresh_api_throttles():
    """The API's request counts (DRF throttles) live in the cache, which outlives a test: in local
    memory for the whole run, in Redis even across runs. Forget them, so one test's requests do
    not throttle the next one's user with the same id. Only the throttle keys: in Redis the
    cache shares its database with Celery's queues."""
    pattern = cache.make_key("throttle_*")
    if isinstance(getattr(cache, "_cache", None), RedisCacheClient):  # Django's RedisCache offers no pattern delete
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=pattern))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def english_by_default():
    """A request in Chinese leaves Chinese active in the thread; each test starts in English."""
    translation.activate("en")
    yield
    translation.deactivate()


@dataclass
class Plantworld:
    plant: Plant
    assembly: Workshop
    machining: Workshop
    line_a1: Line
    line_a2: Line
    line_m1: Line
    day: Shift
    night: Shift


def build_plant(code: str = "tp1", name_en: str = "Test Plant", name_zh: str = "测试工厂") -> Plantworld:
    plant = Plant.objects.create(code=code, name_en=name_en, name_zh=name_zh, timezone="Asia/Shanghai")
    set_up_plant(plant)
    assembly = Workshop.objects.create(plant=plant, code="assembly", name_en="Assembly", name_zh="总装车间")
    machining = Workshop.objects.create(plant=plant, code="machining", name_en="Machining", name_zh="机加车间")
    return Plantworld(
        plant=plant,
        assembly=assembly,
        machining=machining,
        line_a1=Line.objects.create(workshop=assembly, code="a1", name_en="Assembly 1", name_zh="总装一线"),
        line_a2=Line.objects.create(workshop=assembly, code="a2", name_en="Assembly 2", name_zh="总装二线"),
        line_m1=Line.objects.create(workshop=machining, code="m1", name_en="Machining 1", name_zh="机加一线"),
        day=Shift.objects.create(
            plant=plant, code="day", name_en="Day", name_zh="白班", starts=dt.time(8), ends=dt.time(20)
        ),
        night=Shift.objects.create(
            plant=plant, code="night", name_en="Night", name_zh="夜班", starts=dt.time(20), ends=dt.time(8)
        ),
    )


def make_person(username: str, role: str | None, *, plant=None, workshop=None, line=None, language: str = ""):
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-only")
    Profile.objects.create(user=user, display_name=username.title(), language=language, home_line=line)
    if role:
        assign_role(user, role, plant=plant, workshop=workshop, line=line)
    return user


@pytest.fixture
def world(db) -> Plantworld:
    return build_plant()


@pytest.fixture
def other_world(db) -> Plantworld:
    return build_plant(code="op2", name_en="Other Plant", name_zh="其他工厂")


@pytest.fixture
def operator(world):
    return make_person("operator", Role.OPERATOR, plant=world.plant, line=world.line_a1)


@pytest.fixture
def team_leader(world):
    return make_person("leader", Role.TEAM_LEADER, plant=world.plant, line=world.line_a1)


@pytest.fixture
def workshop_director(world):
    return make_person("director", Role.WORKSHOP_DIRECTOR, plant=world.plant, workshop=world.assembly)


@pytest.fixture
def quality_engineer(world):
    return make_person("qe", Role.QUALITY_ENGINEER, plant=world.plant)


@pytest.fixture
def general_manager(world):
    return make_person("gm", Role.GENERAL_MANAGER, plant=world.plant)


@pytest.fixture
def outsider(other_world):
    return make_person("outsider", Role.QUALITY_MANAGER, plant=other_world.plant)


@pytest.fixture
def failure_mode(world):
    return FailureMode.objects.create(plant=world.plant, category="quality", name_en="Burr", name_zh="毛刺")


@pytest.fixture
def postgresql_only(db):
    """For race tests: row locks and unique-index waits exist on PostgreSQL (as in CI)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and unique-index waits are what this tests; SQLite serialises all writers")


NOT_APPLICABLE_CHECKLIST = {item: {"status": "na", "reason": "no document covers this"} for item in CHECKLIST}


def close_without_eightd(problem, *, user, now: dt.datetime | None = None):
    """Close as a plant whose rules need no 8D for the problem's grade: contain it if nobody
    did, then close with a cause note and a D7 checklist of N/A entries."""
    SolvingPolicy.objects.filter(plant_id=problem.plant_id).update(eightd_grades="")
    if problem.contained_at is None:
        contain(problem, action="sorted", done_by="line", quantity_secured=0, user=user, now=now)
    return close_problem(problem, user=user, checklist=NOT_APPLICABLE_CHECKLIST, cause_note="worn tool", now=now)
