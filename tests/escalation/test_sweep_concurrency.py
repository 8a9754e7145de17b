"""Two beat processes at once (issue #3, faults): sweeps racing on the same due problems on
PostgreSQL write each (problem, tier) exactly once. Runs in CI on PostgreSQL; skipped on SQLite,
which serialises all writers and so proves nothing here."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

import pytest

from escalation.models import EscalationEvent
from escalation.sweep import sweep
from issues.models import Problem, Role
from issues.problems.intake import Report, report_problem
from tests.concurrency import run_together
from tests.conftest import make_person

pytestmark = pytest.mark.django_db(transaction=True)

OCCURRED = dt.datetime(2025, 6, 2, 1, 0, tzinfo=dt.UTC)
PROBLEMS = 6


def at(minutes: float) -> dt.datetime:
    return OCCURRED + dt.timedelta(minutes=minutes)


@pytest.fixture
def due_problems(world, operator):
    for role in (Role.TEAM_LEADER, Role.QUALITY_ENGINEER):
        make_person(role, role, plant=world.plant, line=world.line_a1)
    make_person("director", Role.WORKSHOP_DIRECTOR, plant=world.plant, workshop=world.assembly)
    for role in (Role.INSPECTION_SECTION_CHIEF, Role.PRODUCTION_MANAGER, Role.GENERAL_MANAGER):
        make_person(role, role, plant=world.plant)
    problems = []
    for index in range(PROBLEMS):
        report = Report(
            line=world.line_a1,
            category="quality",
            title=f"Burr {index}",
            occurred_at=OCCURRED,
            facts={"defect_class": "A", "defect_count": 25},
        )
        problems.append(report_problem(report, reporter=operator)[0])
    assert {problem.grade for problem in problems} == {"A"}
    return problems


def ledger() -> Counter:
    return Counter(EscalationEvent.objects.values_list("problem_id", "kind", "level"))


@pytest.mark.parametrize("sweepers", [2, 4], ids=["two sweeps at once", "four sweeps at once"])
def test_sweeps_racing_on_the_same_due_problems_write_each_tier_exactly_once(
    postgresql_only, due_problems, sweepers, caplog
):
    expected = Counter()
    # Each round every sweeper starts at the same instant with the same `now`.
    rounds = [(5, [4]), (65, [3, 2]), (120, [1]), (8 * 24 * 60, [])]
    with caplog.at_level(logging.WARNING, logger="escalation.sweep"):
        for minutes, new_levels in rounds:
            results = run_together(sweepers, lambda minutes=minutes: sweep(now=at(minutes)))

            returned = [(event.problem_id, event.kind, event.level) for events in results for event in events]
            fresh = Counter((problem.pk, "tier", level) for problem in due_problems for level in new_levels)
            if minutes >= 7 * 24 * 60:
                fresh += Counter(
                    (problem.pk, kind, 0) for problem in due_problems for kind in ("no_owner", "unresolved_week")
                )
            expected += fresh
            assert Counter(returned) == fresh  # every new event reported by exactly one sweeper
            assert ledger() == expected  # and stored exactly once

    assert set(ledger().values()) == {1}
    assert len(ledger()) == PROBLEMS * 6
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    for problem in Problem.objects.filter(pk__in=[problem.pk for problem in due_problems]):
        assert (problem.escalation_level, problem.escalate_at, problem.alarm_at) == (1, None, None)
        assert problem.alarms_fired == ["no_owner", "unresolved_week"]


def test_sweeps_racing_on_a_problem_logged_late_fire_its_overdue_tiers_once_in_order(postgresql_only, due_problems):
    results = run_together(4, lambda: sweep(now=at(125)))

    winners = [events for events in results if events]
    assert len(winners) >= 1
    per_problem: dict[int, list[int]] = {}
    for events in results:
        for event in events:
            per_problem.setdefault(event.problem_id, []).append(event.level)
    assert per_problem == {problem.pk: [4, 3, 2, 1] for problem in due_problems}
    assert EscalationEvent.objects.count() == PROBLEMS * 4
