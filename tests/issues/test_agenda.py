"""The daily meeting's pure rules (issues/meetings/agenda.py): the group of a new problem, the follow-up
groups, the agenda's order, who is expected and in which department, and the timer."""

from __future__ import annotations

import datetime as dt

import pytest

from issues.meetings import agenda
from issues.meetings.agenda import Candidate, Entry
from issues.models import Role, Source

T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("source", "facts", "prior", "groups"),
    [
        (Source.LINE, {}, 0, ["other"]),
        (Source.OTHER, {"defect_count": 5}, 0, ["other"]),
        (Source.CUSTOMER, {}, 0, ["customer"]),
        (Source.SUPPLIER, {}, 0, ["supplier"]),
        (Source.SCRAP_REVIEW, {}, 0, ["scrap"]),
        (Source.VERIFICATION_STATION, {}, 0, ["verification_station"]),
        (Source.LAYERED_AUDIT, {}, 0, ["layered_audit"]),
        (Source.LINE, {"customer_complaint": True}, 0, ["customer"]),
        (Source.LINE, {"customer_return_count": 3}, 0, ["customer"]),
        (Source.LINE, {"incoming_abnormal": True}, 0, ["supplier"]),
        (Source.LINE, {"line_stop_minutes": 20}, 0, ["line_stop"]),
        (Source.LINE, {"downtime_minutes": 45}, 0, ["line_stop"]),
        (Source.LINE, {"interruption_minutes": 5}, 0, ["line_stop"]),
        (Source.LINE, {"poka_yoke_failure": True}, 0, ["verification_station"]),
        (Source.LINE, {}, 2, ["repeat"]),
        # Every group it falls in, in the quality department's order, whatever the order found.
        (
            Source.LAYERED_AUDIT,
            {"line_stop_minutes": 10, "customer_complaint": True},
            1,
            [
                "customer",
                "line_stop",
                "repeat",
                "layered_audit",
            ],
        ),
        (Source.CUSTOMER, {"customer_complaint": True}, 0, ["customer"]),
        # A zero, a false or a count stored as text "0" is no stop and no complaint.
        (Source.LINE, {"line_stop_minutes": 0, "customer_complaint": False}, 0, ["other"]),
        (Source.LINE, {"line_stop_minutes": "0", "customer_return_count": "0"}, 0, ["other"]),
        (Source.LINE, {"line_stop_minutes": "15"}, 0, ["line_stop"]),
        (Source.LINE, {"customer_complaint": None, "poka_yoke_failure": "no"}, 0, ["other"]),
    ],
)
def test_a_new_problem_falls_in_the_groups_of_the_quality_departments_list(source, facts, prior, groups):
    assert agenda.new_problem_groups(source, facts, prior) == groups


FOLLOW_UP = dict(overdue_8d=False, due_today=False, escalated=False, special_team=False)


@pytest.mark.parametrize(
    ("is_open", "flags", "groups"),
    [
        (True, {}, []),
        (True, {"overdue_8d": True}, ["overdue_8d"]),
        (True, {"due_today": True}, ["due_today"]),
        (True, {"escalated": True}, ["escalated"]),
        (True, {"special_team": True}, ["special_team"]),
        (
            True,
            {"special_team": True, "overdue_8d": True, "escalated": True},
            ["overdue_8d", "escalated", "special_team"],
        ),
        (False, {"overdue_8d": True, "due_today": True, "escalated": True, "special_team": True}, []),
    ],
)
def test_only_an_open_problem_comes_back_for_follow_up(is_open, flags, groups):
    assert agenda.follow_up_groups(is_open=is_open, **{**FOLLOW_UP, **flags}) == groups


def test_the_agenda_lists_groups_in_order_then_grade_a_first_then_the_oldest():
    candidates = [
        Candidate(1, "C", T0, ("special_team",)),
        Candidate(2, "B", T0, ("escalated",)),
        Candidate(3, "A", T0 + HOUR, ("due_today",)),
        Candidate(4, "C", T0, ("overdue_8d",)),
        Candidate(5, "B", T0 + HOUR, ("other",)),
        Candidate(6, "B", T0, ("other",)),
        Candidate(7, "A", T0 + 2 * HOUR, ("other",)),
        Candidate(8, "C", T0, ("customer",)),
        Candidate(9, "B", T0, ("line_stop",)),
    ]

    entries = agenda.agenda(candidates)

    assert [entry.problem_id for entry in entries] == [8, 9, 7, 6, 5, 4, 3, 2, 1]
    assert [entry.position for entry in entries] == list(range(1, 10))


def test_a_problem_is_discussed_once_under_its_first_group_with_every_reason():
    candidates = [
        Candidate(1, "A", T0, ("escalated",)),
        Candidate(1, "A", T0, ("repeat", "overdue_8d")),
        Candidate(2, "B", T0, ("special_team", "due_today")),
    ]

    entries = agenda.agenda(candidates)

    assert entries == [
        Entry(1, "repeat", ("repeat", "overdue_8d", "escalated"), 1),
        Entry(2, "due_today", ("due_today", "special_team"), 2),
    ]


def test_a_candidate_without_a_known_group_is_not_on_the_agenda():
    assert agenda.agenda([Candidate(1, "A", T0, ()), Candidate(2, "A", T0, ("gossip",))]) == []


def test_equal_problems_keep_a_stable_order_by_id():
    entries = agenda.agenda([Candidate(9, "B", T0, ("other",)), Candidate(3, "B", T0, ("other",))])
    assert [entry.problem_id for entry in entries] == [3, 9]


def test_every_group_has_a_label():
    assert set(agenda.GROUP_LABELS) == set(agenda.GROUPS)
    assert agenda.GROUPS[: len(agenda.NEW_GROUPS)] == agenda.NEW_GROUPS


# --- sign-in sheet ---------------------------------------------------------------------------


def test_every_role_belongs_to_a_department_and_none_to_finance():
    assert {agenda.department_of(role) for role in Role.values} <= set(agenda.DEPARTMENTS)
    assert all(agenda.department_of(role) for role in Role.values)
    assert "finance" not in agenda.DEPARTMENTS
    assert agenda.department_of("cashier") == ""


@pytest.mark.parametrize(
    ("role", "department"),
    [
        (Role.TEAM_LEADER, agenda.PRODUCTION),
        (Role.WORKSHOP_DIRECTOR, agenda.PRODUCTION),
        (Role.QUALITY_ENGINEER, agenda.QUALITY),
        (Role.INSPECTION_SECTION_CHIEF, agenda.QUALITY),
        (Role.EQUIPMENT_ENGINEER, agenda.MAINTENANCE),
        (Role.ENGINEERING_MANAGER, agenda.ENGINEERING),
        (Role.GENERAL_MANAGER, agenda.MANAGEMENT),
    ],
)
def test_a_role_signs_under_its_department(role, department):
    assert agenda.department_of(role) == department


def test_the_workshop_meeting_expects_the_shop_floor_and_the_plant_meeting_the_managers():
    workshop, plant = agenda.expected_roles(True), agenda.expected_roles(False)

    assert Role.TEAM_LEADER in workshop and Role.TEAM_LEADER not in plant
    assert Role.GENERAL_MANAGER in plant and Role.GENERAL_MANAGER not in workshop
    assert Role.WORKSHOP_DIRECTOR in workshop and Role.WORKSHOP_DIRECTOR in plant
    assert Role.OPERATOR not in workshop + plant
    # All departments but finance come to each level's meeting.
    assert {agenda.department_of(role) for role in workshop} >= {agenda.PRODUCTION, agenda.QUALITY, agenda.MAINTENANCE}
    assert {agenda.department_of(role) for role in plant} == set(agenda.DEPARTMENTS)


@pytest.mark.parametrize(
    ("roles", "senior"),
    [
        ([], ""),
        ([Role.TEAM_LEADER], Role.TEAM_LEADER),
        ([Role.TEAM_LEADER, Role.WORKSHOP_DIRECTOR], Role.WORKSHOP_DIRECTOR),
        ([Role.GENERAL_MANAGER, Role.QUALITY_ENGINEER], Role.GENERAL_MANAGER),
        ([Role.INSPECTION_SECTION_CHIEF, Role.QUALITY_ENGINEER], Role.INSPECTION_SECTION_CHIEF),
        (["unknown_role", Role.OPERATOR], Role.OPERATOR),
    ],
)
def test_a_person_with_two_roles_signs_under_the_senior_one(roles, senior):
    assert agenda.senior_role(roles) == senior


# --- timer -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "state"),
    [
        (dt.timedelta(0), "ok"),
        (dt.timedelta(minutes=9, seconds=59), "ok"),
        (dt.timedelta(minutes=10), "closing"),
        (dt.timedelta(minutes=15), "closing"),
        (dt.timedelta(minutes=15, seconds=1), "over"),
        (dt.timedelta(hours=2), "over"),
    ],
)
def test_the_timer_turns_amber_at_10_minutes_and_red_after_15(elapsed, state):
    assert agenda.timer_state(elapsed) == state
