"""Concurrent intake on PostgreSQL: simultaneous double submits and simultaneous reports."""

import pytest
from django.utils import timezone

from issues.models import Problem
from issues.problems.intake import Report, report_problem
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def a_report(world) -> Report:
    return Report(
        line=world.line_a1,
        category="quality",
        title="Burr",
        occurred_at=timezone.now(),
        facts={"defect_class": "A", "defect_count": 15},
    )


def test_a_double_submit_racing_itself_makes_one_problem(postgresql_only, world, team_leader):
    report = a_report(world)  # one report sent four times: the same time, so the same fingerprint
    results = run_together(4, lambda: report_problem(report, reporter=team_leader, idempotency_key="tap-1"))

    assert Problem.objects.count() == 1
    assert {problem.pk for problem, _ in results} == {Problem.objects.get().pk}
    assert sorted(created for _, created in results) == [False, False, False, True]


def test_reports_at_the_same_moment_get_distinct_consecutive_numbers(postgresql_only, world, team_leader):
    results = run_together(6, lambda: report_problem(a_report(world), reporter=team_leader)[0])

    serials = sorted(int(problem.number.rsplit("-", 1)[1]) for problem in results)
    assert serials == [1, 2, 3, 4, 5, 6]
