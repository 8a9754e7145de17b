"""The covering rule on its own (issues.common.scope.Scope with issues.models.place): which objects a
plant-wide, a workshop and a line role cover, for things of each level. No database: the
objects are unsaved instances carrying their ids."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Q

from escalation.models import WebhookEndpoint
from issues.common.scope import EVERYTHING, NOTHING, Scope
from issues.models import EightDReport, FailureMode, Line, Meeting, Problem, Section, ThresholdTable, Workshop

PLANT, OTHER_PLANT, WORKSHOP, OTHER_WORKSHOP, LINE, SISTER_LINE = 1, 2, 10, 11, 100, 101


def scope(plants=(), workshops=(), lines=()) -> Scope:
    return Scope(frozenset(plants), frozenset(workshops), frozenset(lines))


SCOPES = {
    "plant": scope(plants=[PLANT]),
    "other plant": scope(plants=[OTHER_PLANT]),
    "workshop": scope(workshops=[WORKSHOP]),
    "other workshop": scope(workshops=[OTHER_WORKSHOP]),
    "line": scope(lines=[LINE]),
    "sister line": scope(lines=[SISTER_LINE]),
}


def line() -> Line:
    return Line(pk=LINE, workshop=Workshop(pk=WORKSHOP, plant_id=PLANT))


def problem() -> Problem:
    return Problem(plant_id=PLANT, line=line())


OBJECTS = {
    "problem on the line": problem,
    "section of its 8D": lambda: Section(report=EightDReport(problem=problem())),
    "the line itself": line,
    "workshop meeting": lambda: Meeting(plant_id=PLANT, workshop_id=WORKSHOP),
    "plant meeting": lambda: Meeting(plant_id=PLANT),
    "workshop's webhook": lambda: WebhookEndpoint(plant_id=PLANT, workshop_id=WORKSHOP),
    "plant's webhook": lambda: WebhookEndpoint(plant_id=PLANT),
    "failure mode": lambda: FailureMode(plant_id=PLANT),
    "threshold table": lambda: ThresholdTable(plant_id=PLANT),
}

# object → the scopes (of SCOPES) that cover it; every other scope does not
COVERED_BY = {
    "problem on the line": {"plant", "workshop", "line"},
    "section of its 8D": {"plant", "workshop", "line"},
    "the line itself": {"plant", "workshop", "line"},
    "workshop meeting": {"plant", "workshop"},
    "plant meeting": {"plant"},
    "workshop's webhook": {"plant", "workshop"},
    "plant's webhook": {"plant"},
    "failure mode": {"plant"},
    "threshold table": {"plant"},
}


@pytest.mark.parametrize("thing", OBJECTS)
@pytest.mark.parametrize("held", SCOPES)
def test_a_role_covers_what_lies_within_its_plant_workshop_or_line(thing, held):
    assert SCOPES[held].covers(OBJECTS[thing]()) == (held in COVERED_BY[thing])


@pytest.mark.parametrize("thing", OBJECTS)
def test_nothing_covers_nothing_and_everything_covers_all(thing):
    assert not NOTHING.covers(OBJECTS[thing]())
    assert EVERYTHING.covers(OBJECTS[thing]())


def test_the_default_template_and_things_of_no_plant_are_covered_by_no_role():
    every_place = scope(plants=[PLANT, OTHER_PLANT], workshops=[WORKSHOP], lines=[LINE])

    assert not every_place.covers(ThresholdTable(plant_id=None))
    assert not every_place.covers(get_user_model()(pk=PLANT))


@pytest.mark.parametrize(
    ("held", "rows"),
    [
        ("plant", Q(plant__in=[PLANT])),
        ("workshop", Q(line__workshop__in=[WORKSHOP])),
        ("line", Q(line__in=[LINE])),
    ],
)
def test_the_same_rule_selects_rows_in_one_query(held, rows):
    assert SCOPES[held].q(Problem.place_path) == rows


def test_a_workshop_or_line_role_selects_no_plant_level_row():
    assert scope(workshops=[WORKSHOP], lines=[LINE]).q(FailureMode.place_path) == Q(pk__in=[])
    assert scope(lines=[LINE]).q(Meeting.place_path) == Q(pk__in=[])
