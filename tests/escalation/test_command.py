"""`manage.py escalation_sweep [--now ISO-8601]`: one sweep and one dispatch, one JSON line per
tier (or alarm) fired (issue #3)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from escalation.models import EscalationEvent
from issues.models import Role
from issues.problems.intake import Report, report_problem
from tests.conftest import make_person

OCCURRED = dt.datetime(2025, 6, 2, 1, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return OCCURRED + dt.timedelta(minutes=minutes)


def run(now: str) -> list[dict]:
    out = StringIO()
    call_command("escalation_sweep", "--now", now, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture(autouse=True)
def site_time_zone():
    """`manage.py` starts in the site's zone; an earlier request in this thread may have left a
    plant's zone active (PlantTimezoneMiddleware activates it and never resets it)."""
    timezone.deactivate()
    yield
    timezone.deactivate()


@pytest.fixture
def problem(world, operator, team_leader, quality_engineer, workshop_director, general_manager):
    make_person("chief", Role.INSPECTION_SECTION_CHIEF, plant=world.plant)
    make_person("pm", Role.PRODUCTION_MANAGER, plant=world.plant)
    report = Report(
        line=world.line_a1,
        category="quality",
        title="Burr on housing",
        occurred_at=OCCURRED,
        facts={"defect_class": "A", "defect_count": 25},
    )
    return report_problem(report, reporter=operator)[0]


def test_it_prints_one_json_line_per_tier_fired_in_the_order_they_fired(problem):
    lines = run(at(65).isoformat())

    assert [line["level"] for line in lines] == [4, 3, 2]
    assert {(line["problem"], line["number"], line["kind"]) for line in lines} == {(problem.pk, problem.number, "tier")}
    assert [sorted(line["recipients"]) for line in lines] == [["leader", "qe"], ["chief", "director"], ["pm"]]
    assert [line["due_at"] for line in lines] == [at(minutes).isoformat() for minutes in (5, 30, 60)]
    assert all("inapp" in line["channels"] for line in lines)  # the in-app channel delivers at once
    assert all(line["fell_through"] is False for line in lines)


def test_running_it_twice_at_the_same_now_prints_nothing_the_second_time(problem):
    now = at(65).isoformat()

    assert len(run(now)) == 3
    assert run(now) == []
    assert EscalationEvent.objects.filter(problem=problem).count() == 3


def test_nothing_due_prints_nothing(problem):
    assert run(at(4).isoformat()) == []


def test_alarms_are_printed_like_tiers_with_their_kind(problem):
    lines = run(at(2 * 24 * 60).isoformat())

    assert [(line["kind"], line["level"]) for line in lines] == [
        ("tier", 4),
        ("tier", 3),
        ("tier", 2),
        ("tier", 1),
        ("no_owner", 0),
    ]
    assert lines[-1]["recipients"] == ["chief"]


NOW_FORMATS = [
    pytest.param("2025-06-02T02:05:00+00:00", id="UTC offset"),
    pytest.param("2025-06-02T10:05:00+08:00", id="Shanghai offset"),
    pytest.param("2025-06-02 02:05:00", id="naive, read in the site time zone (UTC)"),
    pytest.param("2025-06-02T02:05Z", id="Z suffix"),
]


@pytest.mark.parametrize("now", NOW_FORMATS)
def test_now_is_read_as_iso_8601_in_any_offset(problem, now):
    assert [line["level"] for line in run(now)] == [4, 3, 2]  # 02:05 UTC is 65 minutes after 01:00 UTC


MALFORMED = [
    pytest.param("yesterday", id="a word"),
    pytest.param("02/06/2025 10:05", id="a local date format"),
    pytest.param("2025-13-45T10:00:00", id="a month and day that do not exist"),
    pytest.param("2025-02-30 10:00", id="the 30th of February"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("now", MALFORMED)
def test_a_malformed_now_is_a_clear_command_error_and_sweeps_nothing(problem, now):
    with pytest.raises(CommandError, match="--now must be an ISO 8601 date and time"):
        call_command("escalation_sweep", "--now", now, stdout=StringIO())

    assert EscalationEvent.objects.count() == 0
