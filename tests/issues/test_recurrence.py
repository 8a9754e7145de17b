"""Recurrence (docs/grading.md §Recurrence) through the real intake: issues.problems.intake.report_problem.

Same failure mode + same line + same cause family inside the plant's recurrence window
(30 days by default) is a repeat; a failure mode seen 3 times within 90 days anywhere in
the plant calls for a special problem-solving team.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from issues.models import FailureMode, Problem
from issues.problems.intake import Report, report_problem

C_FACTS: dict = {}
B_FACTS = {"zero_tolerance_count": 1}
A_FACTS = {"customer_complaint": True}


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def log(world, team_leader, failure_mode, now):
    """Log a quality problem `days_ago` days before `now`; by default the same failure mode,
    line and cause family every time."""

    def log(days_ago=0, *, facts=C_FACTS, line=None, cause="machine", mode=failure_mode, status=None) -> Problem:
        report = Report(
            line=line or world.line_a1,
            category="quality",
            title="Burr on the housing",
            occurred_at=now - dt.timedelta(days=days_ago),
            facts=dict(facts),
            cause_family=cause,
            failure_mode=mode,
        )
        problem, created = report_problem(report, reporter=team_leader)
        assert created
        if status:
            Problem.objects.filter(pk=problem.pk).update(status=status)
        return problem

    return log


@pytest.fixture
def other_mode(world):
    return FailureMode.objects.create(plant=world.plant, category="quality", name_en="Crack", name_zh="裂纹")


def test_a_first_c_problem_is_c_with_no_earlier_occurrence(log):
    problem = log()

    assert (problem.grade, problem.base_grade, problem.prior_occurrences) == ("C", "C", 0)


def test_a_c_problem_the_second_time_within_the_window_is_b(log):
    log(days_ago=10)

    second = log()

    assert (second.grade, second.base_grade, second.prior_occurrences) == ("B", "C", 1)
    assert [rule["code"] for rule in second.fired_rules] == ["recurrence-c-second-time"]
    assert second.explanation("en").startswith("B: C problem occurring again: 1 earlier occurrence")


def test_a_c_problem_the_third_time_is_a(log):
    log(days_ago=20)
    log(days_ago=10)

    third = log()

    assert (third.grade, third.base_grade, third.prior_occurrences) == ("A", "C", 2)
    assert [rule["code"] for rule in third.fired_rules] == ["recurrence-c-keeps-recurring"]


@pytest.mark.parametrize(
    ("first", "again"),
    [
        pytest.param(B_FACTS, B_FACTS, id="a B problem repeated"),
        pytest.param(A_FACTS, A_FACTS, id="an A problem repeated"),
        pytest.param(C_FACTS, B_FACTS, id="a B problem after a C one"),
    ],
)
def test_a_repeated_a_or_b_problem_is_a(log, first, again):
    log(days_ago=5, facts=first)

    repeat = log(facts=again)

    assert repeat.grade == "A"
    assert repeat.prior_occurrences == 1
    assert "recurrence-ab-repeated" in [rule["code"] for rule in repeat.fired_rules]


@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [
        pytest.param(29, "B", id="29 days earlier is a repeat"),
        pytest.param(30, "B", id="30 days earlier is still a repeat"),
        pytest.param(31, "C", id="31 days earlier is outside the window"),
        pytest.param(60, "C", id="60 days earlier is outside the window"),
    ],
)
def test_only_earlier_problems_inside_the_30_day_window_count(log, days_ago, expected):
    log(days_ago=days_ago)

    assert log().grade == expected


def test_a_problem_outside_the_window_is_not_counted_next_to_one_inside(log):
    log(days_ago=45)
    log(days_ago=10)

    problem = log()

    assert (problem.grade, problem.prior_occurrences) == ("B", 1)


@pytest.mark.parametrize(
    "difference",
    [
        pytest.param("line", id="on another line of the same workshop"),
        pytest.param("cause", id="with another cause family"),
        pytest.param("mode", id="with another failure mode"),
        pytest.param("no cause", id="without a cause family"),
        pytest.param("no mode", id="without a failure mode"),
    ],
)
def test_an_earlier_problem_that_differs_is_no_recurrence(world, log, other_mode, difference):
    earlier = {
        "line": {"line": world.line_a2},
        "cause": {"cause": "material"},
        "mode": {"mode": other_mode},
        "no cause": {"cause": ""},
        "no mode": {"mode": None},
    }[difference]
    log(days_ago=3, **earlier)
    log(days_ago=2, **earlier)

    again = log(**(earlier if difference.startswith("no ") else {}))

    assert (again.grade, again.prior_occurrences) == ("C", 0)


def test_cancelled_problems_do_not_count_as_earlier_occurrences(log):
    log(days_ago=3, status=Problem.Status.CANCELLED)

    assert (log().grade, Problem.objects.count()) == ("C", 2)


def test_closed_problems_still_count_as_earlier_occurrences(log):
    log(days_ago=3, status=Problem.Status.CLOSED)

    assert log().grade == "B"


def test_a_problem_logged_later_for_an_earlier_time_counts_only_what_came_before_it(log):
    log(days_ago=1)

    backdated = log(days_ago=2)

    assert (backdated.grade, backdated.prior_occurrences) == ("C", 0)


@pytest.mark.parametrize(
    ("window_days", "days_ago", "expected"),
    [
        pytest.param(45, 40, "B", id="a 45-day window reaches 40 days back"),
        pytest.param(45, 46, "C", id="a 45-day window does not reach 46 days back"),
        pytest.param(7, 7, "B", id="a 7-day window reaches 7 days back"),
        pytest.param(7, 10, "C", id="a 7-day window does not reach 10 days back"),
    ],
)
def test_the_plant_recurrence_window_can_be_edited(world, log, window_days, days_ago, expected):
    world.plant.recurrence_window_days = window_days
    world.plant.save()
    log(days_ago=days_ago)

    assert log().grade == expected


# --- special problem-solving team (docs/grading.md §Special team) ---------------------------------------


def test_the_third_occurrence_of_a_failure_mode_within_90_days_calls_for_a_special_team(world, log):
    first = log(days_ago=80, line=world.line_m1, cause="method")
    second = log(days_ago=40, line=world.line_a2, cause="man")

    third = log()

    assert (first.special_team_required, second.special_team_required, third.special_team_required) == (
        False,
        False,
        True,
    )


def test_a_fourth_occurrence_still_calls_for_a_special_team(log):
    log(days_ago=3)
    log(days_ago=2)
    log(days_ago=1)

    assert log().special_team_required


@pytest.mark.parametrize(
    ("earlier_days_ago", "expected"),
    [
        pytest.param((89, 1), True, id="both earlier ones inside 90 days"),
        pytest.param((90, 1), True, id="the first earlier one exactly 90 days back"),
        pytest.param((91, 1), False, id="one earlier one 91 days back"),
        pytest.param((120, 100), False, id="both earlier ones older than 90 days"),
    ],
)
def test_only_occurrences_within_90_days_count_toward_a_special_team(world, log, earlier_days_ago, expected):
    for days_ago in earlier_days_ago:
        log(days_ago=days_ago, line=world.line_a2)

    assert log().special_team_required is expected


def test_occurrences_of_another_failure_mode_do_not_count_toward_a_special_team(log, other_mode):
    log(days_ago=2, mode=other_mode)
    log(days_ago=1, mode=other_mode)

    assert log().special_team_required is False


def test_cancelled_occurrences_do_not_count_toward_a_special_team(log):
    log(days_ago=2)
    log(days_ago=1, status=Problem.Status.CANCELLED)

    assert log().special_team_required is False


def test_a_problem_without_a_failure_mode_never_calls_for_a_special_team(log):
    for days_ago in (3, 2, 1, 0):
        problem = log(days_ago=days_ago, mode=None)

    assert problem.special_team_required is False


def test_the_special_team_threshold_and_window_are_the_plant_s_settings(world, log):
    world.plant.special_team_occurrences = 2
    world.plant.special_team_window_days = 10
    world.plant.save()
    log(days_ago=11)

    assert log().special_team_required is False
    assert log().special_team_required is True
