"""The daily QRQC meeting's verbs (issues/meetings/meeting.py): starting once a day, the agenda built from
the plant's problems, the chair's decisions and their history, the sign-in sheet, ending."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalation.models import EscalationEvent
from issues.eightd import solving
from issues.meetings import meeting as verbs
from issues.meetings.meeting import MeetingRefused, NotChair
from issues.models import AgendaItem, Attendance, Meeting, Problem, Role, Source
from tests.concurrency import run_together
from tests.conftest import close_without_eightd, make_person
from tests.issues.eightd_factory import complete_report, graded_problem

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai, 2026-11-20
TODAY = dt.date(2026, 11, 20)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
Status = Problem.Status
State = Attendance.State


def problem_at(world, reporter, grade="B", *, ago=HOUR, line=None, **fields) -> Problem:
    """A problem graded as intake grades it, `ago` before NOW, then given `fields`."""
    problem = graded_problem(line or world.line_a1, reporter, grade, occurred_at=NOW - ago)
    if fields:
        Problem.objects.filter(pk=problem.pk).update(**fields)
    return Problem.objects.get(pk=problem.pk)


def fired(problem, at: dt.datetime, level: int = 4) -> EscalationEvent:
    return EscalationEvent.objects.create(
        problem=problem, kind=EscalationEvent.TIER, level=level, due_at=at, fired_at=at
    )


def agenda_of(meeting) -> list[tuple[str, str]]:
    return [(item.problem.title, item.group) for item in meeting.items.select_related("problem").order_by("position")]


def sheet_of(meeting) -> dict[str, tuple[str, str, str]]:
    return {
        row.person.username: (row.role, row.department, row.state)
        for row in meeting.attendances.select_related("person")
    }


@pytest.fixture
def chair(quality_engineer):
    """The plant's quality engineer chairs (plant level, and may close problems)."""
    return quality_engineer


@pytest.fixture
def meeting(world, chair, team_leader, workshop_director):
    """Today's assembly meeting: the director and the team leader expected, one new problem."""
    problem_at(world, team_leader, "B", title="On today's agenda")
    return verbs.start_meeting(chair, world.plant, world.assembly, now=NOW)


def item_of(meeting, title="On today's agenda") -> AgendaItem:
    return meeting.items.select_related("meeting", "problem").get(problem__title=title)


# --- starting ----------------------------------------------------------------------------------


def test_starting_twice_gives_the_same_meeting(world, chair, workshop_director):
    first = verbs.start_meeting(chair, world.plant, world.assembly, now=NOW)
    again = verbs.start_meeting(chair, world.plant, world.assembly, now=NOW + 2 * dt.timedelta(seconds=1))
    other_chair = verbs.start_meeting(workshop_director, world.plant, world.assembly, now=NOW + HOUR)

    assert first.pk == again.pk == other_chair.pk
    assert Meeting.objects.count() == 1
    assert first.day == TODAY and first.chair == chair and first.state == Meeting.State.RUNNING


def test_the_plant_and_each_workshop_have_their_own_meeting_each_local_day(world, chair):
    plant = verbs.start_meeting(chair, world.plant, now=NOW)
    assembly = verbs.start_meeting(chair, world.plant, world.assembly, now=NOW)
    machining = verbs.start_meeting(chair, world.plant, world.machining, now=NOW)
    # 16:30 UTC is already the next day in Shanghai.
    tomorrow = verbs.start_meeting(chair, world.plant, world.assembly, now=NOW + 15 * HOUR)

    assert len({plant.pk, assembly.pk, machining.pk, tomorrow.pk}) == 4
    assert tomorrow.day == TODAY + DAY


@pytest.mark.django_db(transaction=True)
def test_two_chairs_starting_at_the_same_instant_make_one_meeting(postgresql_only, world, chair, general_manager):
    for number in range(5):
        problem_at(world, chair, "C", title=f"Problem {number}")
    people = iter([chair, general_manager, chair, general_manager])

    def start():
        return verbs.start_meeting(next(people), world.plant, world.assembly, now=NOW).pk

    results = run_together(4, start)

    assert len(set(results)) == 1
    assert Meeting.objects.count() == 1
    assert AgendaItem.objects.count() == 5  # the agenda was built once


@pytest.mark.parametrize("persona", ["team_leader", "operator", "outsider"])
def test_only_a_chair_of_the_place_may_start_it(request, world, persona):
    person = request.getfixturevalue(persona)
    with pytest.raises(NotChair):
        verbs.start_meeting(person, world.plant, world.assembly, now=NOW)
    assert not Meeting.objects.exists()


def test_a_workshop_director_chairs_their_workshop_only(world, workshop_director):
    assert verbs.start_meeting(workshop_director, world.plant, world.assembly, now=NOW)
    with pytest.raises(NotChair):
        verbs.start_meeting(workshop_director, world.plant, world.machining, now=NOW)
    with pytest.raises(NotChair):
        verbs.start_meeting(workshop_director, world.plant, now=NOW)


def test_a_workshop_of_another_plant_is_refused(world, other_world, chair):
    with pytest.raises(MeetingRefused):
        verbs.start_meeting(chair, world.plant, other_world.assembly, now=NOW)


# --- the agenda --------------------------------------------------------------------------------


def test_the_agenda_lists_new_problems_by_group_then_the_follow_ups(world, chair, team_leader):
    make = lambda title, grade="B", **fields: problem_at(world, team_leader, grade, title=title, **fields)  # noqa: E731
    make("new other C", "C")
    make("new other A", "A", ago=3 * HOUR)
    make("new customer", "C", source=Source.CUSTOMER)
    make("new line stop", facts={"line_stop_minutes": 30})
    make("new repeat", prior_occurrences=2)
    make("new audit", source=Source.LAYERED_AUDIT)
    overdue = make("old with overdue 8D", ago=10 * DAY)
    solving.start_report(overdue, user=chair, now=NOW - 9 * DAY)
    make("old due today", ago=10 * DAY, due_date=TODAY)
    escalated = make("old escalated", ago=10 * DAY)
    fired(escalated, NOW - 2 * HOUR)
    make("old special team", ago=20 * DAY, special_team_required=True)
    # Not on the agenda:
    make("old quiet", ago=10 * DAY, due_date=TODAY + DAY)
    make("old closed due today", ago=10 * DAY, due_date=TODAY, status=Status.CLOSED)
    make("new cancelled", status=Status.CANCELLED)
    make("other workshop", line=world.line_m1)
    make("old escalated long ago", ago=10 * DAY)
    fired(Problem.objects.get(title="old escalated long ago"), NOW - 3 * DAY)

    meeting = verbs.start_meeting(chair, world.plant, world.assembly, now=NOW)

    assert agenda_of(meeting) == [
        ("new customer", "customer"),
        ("new line stop", "line_stop"),
        ("new repeat", "repeat"),
        ("new audit", "layered_audit"),
        ("new other A", "other"),
        ("new other C", "other"),
        ("old with overdue 8D", "overdue_8d"),
        ("old due today", "due_today"),
        ("old escalated", "escalated"),
        ("old special team", "special_team"),
    ]
    assert meeting.escalations_since == NOW - 24 * HOUR


def test_a_new_problem_keeps_its_follow_up_reasons(world, chair, team_leader):
    problem_at(world, team_leader, "A", title="new and special", source=Source.CUSTOMER, special_team_required=True)

    item = verbs.start_meeting(chair, world.plant, now=NOW).items.get()

    assert item.group == "customer"
    assert item.reasons == ["customer", "special_team"]


def test_the_plant_meeting_covers_every_workshop(world, chair, team_leader):
    problem_at(world, team_leader, title="assembly")
    problem_at(world, team_leader, title="machining", line=world.line_m1)

    meeting = verbs.start_meeting(chair, world.plant, now=NOW)

    assert {title for title, _group in agenda_of(meeting)} == {"assembly", "machining"}


def test_escalations_count_from_the_previous_meetings_start(world, chair, team_leader):
    yesterday = verbs.start_meeting(chair, world.plant, world.assembly, now=NOW - DAY + HOUR)
    before = problem_at(world, team_leader, title="escalated before yesterday's meeting", ago=10 * DAY)
    fired(before, yesterday.started_at - dt.timedelta(minutes=5))
    after = problem_at(world, team_leader, title="escalated after it", ago=10 * DAY)
    fired(after, yesterday.started_at + dt.timedelta(minutes=5))

    today = verbs.start_meeting(chair, world.plant, world.assembly, now=NOW)

    assert today.escalations_since == yesterday.started_at
    assert agenda_of(today) == [("escalated after it", "escalated")]


def test_finding_the_candidates_is_one_query_whatever_their_number(world, chair, team_leader):
    for number in range(3):
        problem_at(world, team_leader, title=f"p{number}", special_team_required=True, ago=5 * DAY)

    with CaptureQueriesContext(connection) as queries:
        found = verbs.candidates(world.plant, None, escalations_since=NOW - DAY, now=NOW)

    assert len(found) == 3
    assert len(queries) == 1


def test_refreshing_adds_what_qualifies_now_at_the_end_once(world, chair, team_leader, meeting):
    later = NOW + 10 * dt.timedelta(minutes=1)
    problem_at(world, team_leader, "A", title="logged during the meeting", ago=-9 * dt.timedelta(minutes=1))

    added = verbs.refresh_agenda(meeting, user=chair, now=later)
    again = verbs.refresh_agenda(meeting, user=chair, now=later)

    assert [item.problem.title for item in added] == ["logged during the meeting"]
    assert again == []
    assert [title for title, _group in agenda_of(meeting)] == ["On today's agenda", "logged during the meeting"]
    assert list(meeting.items.order_by("position").values_list("position", flat=True)) == [1, 2]


# --- the sign-in sheet ---------------------------------------------------------------------------


def test_the_workshop_meeting_expects_the_workshops_people_and_the_plant_wide_ones(
    world, chair, workshop_director, team_leader, operator
):
    make_person("m_director", Role.WORKSHOP_DIRECTOR, plant=world.plant, workshop=world.machining)
    make_person("m_leader", Role.TEAM_LEADER, plant=world.plant, line=world.line_m1)
    make_person("gm", Role.GENERAL_MANAGER, plant=world.plant)
    equipment = make_person("equipment", Role.EQUIPMENT_ENGINEER, plant=world.plant, workshop=world.assembly)

    meeting = verbs.start_meeting(workshop_director, world.plant, world.assembly, now=NOW)

    assert sheet_of(meeting) == {
        "director": (Role.WORKSHOP_DIRECTOR, "production", State.PRESENT),  # started it: at the board
        "leader": (Role.TEAM_LEADER, "production", State.UNKNOWN),
        "qe": (Role.QUALITY_ENGINEER, "quality", State.UNKNOWN),
        "equipment": (Role.EQUIPMENT_ENGINEER, "maintenance", State.UNKNOWN),
    }
    assert meeting.attendances.get(person=equipment).expected


def test_the_plant_meeting_expects_managers_and_workshop_directors(world, chair, workshop_director, team_leader):
    gm = make_person("gm", Role.GENERAL_MANAGER, plant=world.plant)
    make_person("finance_free", None)
    make_person("engineering", Role.ENGINEERING_MANAGER, plant=world.plant)

    meeting = verbs.start_meeting(gm, world.plant, now=NOW)

    assert sheet_of(meeting) == {
        "gm": (Role.GENERAL_MANAGER, "management", State.PRESENT),
        "director": (Role.WORKSHOP_DIRECTOR, "production", State.UNKNOWN),
        "engineering": (Role.ENGINEERING_MANAGER, "engineering", State.UNKNOWN),
        # The quality engineer chairs many meetings but is not expected at the plant's: a guest when they come.
    }
    verbs.sign_in(meeting, user=chair, now=NOW)
    assert meeting.attendances.get(person=chair).expected is False


def test_a_person_with_two_expected_roles_signs_once_under_the_senior_one(world, workshop_director):
    from issues.common.scope import assign_role

    assign_role(workshop_director, Role.INSPECTION_SECTION_CHIEF, plant=world.plant)
    assign_role(workshop_director, Role.TEAM_LEADER, plant=world.plant, line=world.line_a2)

    meeting = verbs.start_meeting(workshop_director, world.plant, world.assembly, now=NOW)

    row = meeting.attendances.get(person=workshop_director)
    assert (row.role, row.department) == (Role.INSPECTION_SECTION_CHIEF, "quality")
    assert meeting.attendances.filter(person=workshop_director).count() == 1


def test_an_inactive_person_is_not_expected(world, chair, team_leader):
    team_leader.is_active = False
    team_leader.save()
    meeting = verbs.start_meeting(chair, world.plant, world.assembly, now=NOW)
    assert not meeting.attendances.filter(person=team_leader).exists()


def test_the_chair_records_presence_stand_ins_and_absences(world, chair, meeting, team_leader, workshop_director):
    equipment = make_person("equipment", Role.EQUIPMENT_ENGINEER, plant=world.plant, workshop=world.assembly)
    rows = {row.person_id: row for row in Attendance.objects.filter(meeting=meeting)}
    rows[equipment.pk] = Attendance.objects.create(meeting=meeting, person=equipment, role=Role.EQUIPMENT_ENGINEER)

    verbs.set_attendance(rows[team_leader.pk], user=chair, state=State.STAND_IN, stand_in=equipment, now=NOW)
    verbs.set_attendance(rows[workshop_director.pk], user=chair, state=State.STAND_IN, stand_in_name="Li Lei", now=NOW)
    verbs.set_attendance(rows[equipment.pk], user=chair, state=State.ABSENT, note="on leave", now=NOW)

    leader, director, absent = (
        Attendance.objects.get(pk=rows[pk].pk) for pk in (team_leader.pk, workshop_director.pk, equipment.pk)
    )
    assert (leader.state, leader.stand_in, leader.stand_in_name) == (State.STAND_IN, equipment, "")
    assert (director.state, director.stand_in, director.stand_in_name) == (State.STAND_IN, None, "Li Lei")
    assert (absent.state, absent.note, absent.signed_at) == (State.ABSENT, "on leave", NOW)
    assert leader.history.first().history_user == chair


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"state": State.STAND_IN}, "Name the stand-in"),
        ({"state": State.STAND_IN, "stand_in_name": "   "}, "Name the stand-in"),
        ({"state": "asleep"}, "Choose present"),
        ({"state": State.UNKNOWN}, "Choose present"),
    ],
)
def test_a_wrong_attendance_is_refused_and_changes_nothing(world, chair, meeting, team_leader, changes, message):
    row = meeting.attendances.get(person=team_leader)
    with pytest.raises(MeetingRefused, match=message):
        verbs.set_attendance(row, user=chair, now=NOW, **changes)
    assert Attendance.objects.get(pk=row.pk).state == State.UNKNOWN


def test_a_stand_in_is_one_of_the_plants_people_and_not_the_person_themselves(
    world, chair, meeting, team_leader, outsider
):
    row = meeting.attendances.get(person=team_leader)
    with pytest.raises(MeetingRefused, match="among the plant's people"):
        verbs.set_attendance(row, user=chair, state=State.STAND_IN, stand_in=outsider, now=NOW)
    with pytest.raises(MeetingRefused, match="themselves"):
        verbs.set_attendance(row, user=chair, state=State.STAND_IN, stand_in=team_leader, now=NOW)


def test_people_sign_themselves_in_but_only_the_chair_records_the_others(
    world, chair, meeting, team_leader, workshop_director
):
    mine = meeting.attendances.get(person=team_leader)

    verbs.sign_in(meeting, user=team_leader, now=NOW)

    assert Attendance.objects.get(pk=mine.pk).state == State.PRESENT
    director = meeting.attendances.get(person=workshop_director)
    with pytest.raises(NotChair):
        verbs.set_attendance(director, user=team_leader, state=State.PRESENT, now=NOW)
    with pytest.raises(NotChair):
        verbs.set_attendance(mine, user=team_leader, state=State.ABSENT, now=NOW)
    assert Attendance.objects.get(pk=director.pk).state == State.UNKNOWN


def test_a_guest_is_a_person_of_the_plant_added_once(world, chair, meeting, operator, outsider):
    first = verbs.add_guest(meeting, user=chair, person=operator, now=NOW)
    again = verbs.add_guest(meeting, user=chair, person=operator, now=NOW)

    assert first.pk == again.pk
    assert (first.expected, first.state) == (False, State.PRESENT)
    with pytest.raises(MeetingRefused):
        verbs.add_guest(meeting, user=chair, person=outsider, now=NOW)
    with pytest.raises(NotChair):
        verbs.add_guest(meeting, user=operator, person=chair, now=NOW)


def test_someone_from_another_plant_cannot_sign_in(world, meeting, outsider):
    with pytest.raises(NotChair):
        verbs.sign_in(meeting, user=outsider, now=NOW)
    assert not meeting.attendances.filter(person=outsider).exists()


# --- ending -------------------------------------------------------------------------------------


def test_ending_records_the_unsigned_as_absent_without_leave(
    world, chair, meeting, team_leader, workshop_director, operator
):
    verbs.set_attendance(meeting.attendances.get(person=workshop_director), user=chair, state=State.ABSENT, now=NOW)
    verbs.add_guest(meeting, user=chair, person=operator, now=NOW)

    ended = verbs.end_meeting(meeting, user=chair, notes="Short one", now=NOW + 12 * dt.timedelta(minutes=1))

    assert ended.state == Meeting.State.ENDED
    assert ended.duration == dt.timedelta(minutes=12)
    assert ended.notes == "Short one"
    assert {username: state for username, (_r, _d, state) in sheet_of(ended).items()} == {
        "qe": State.PRESENT,
        "leader": State.ABSENT_WITHOUT_LEAVE,
        "director": State.ABSENT,
        "operator": State.PRESENT,
    }
    assert verbs.end_meeting(ended, user=chair, now=NOW + DAY).ended_at == ended.ended_at  # a second click


def test_an_ended_meeting_refuses_every_change(world, chair, meeting, team_leader):
    verbs.end_meeting(meeting, user=chair, now=NOW + HOUR)
    item = item_of(meeting)
    row = meeting.attendances.get(person=team_leader)
    actions = [
        lambda: verbs.record_decision(item, user=chair, text="Too late", now=NOW),
        lambda: verbs.assign(item, user=chair, owner=team_leader, due_date=TODAY + DAY, now=NOW),
        lambda: verbs.set_board_status(item, user=chair, colours={"containment": "green"}, now=NOW),
        lambda: verbs.confirm_closure(item, user=chair, now=NOW),
        lambda: verbs.refresh_agenda(meeting, user=chair, now=NOW),
        lambda: verbs.set_attendance(row, user=chair, state=State.PRESENT, now=NOW),
        lambda: verbs.sign_in(meeting, user=team_leader, now=NOW),
        lambda: verbs.add_guest(meeting, user=chair, person=team_leader, now=NOW),
    ]
    for action in actions:
        with pytest.raises(MeetingRefused, match="has ended"):
            action()
    problem = item.problem
    problem.refresh_from_db()
    assert (problem.owner, problem.decision, problem.board_status) == (None, "", {})
    assert Attendance.objects.get(pk=row.pk).state == State.ABSENT_WITHOUT_LEAVE
    assert verbs.start_meeting(chair, world.plant, world.assembly, now=NOW + 2 * HOUR).pk == meeting.pk


def test_only_a_chair_ends_the_meeting(meeting, team_leader):
    with pytest.raises(NotChair):
        verbs.end_meeting(meeting, user=team_leader, now=NOW)
    assert Meeting.objects.get(pk=meeting.pk).state == Meeting.State.RUNNING


# --- decisions on an item ------------------------------------------------------------------------


def test_the_chair_assigns_an_owner_and_a_closure_date(chair, meeting, team_leader):
    item = verbs.assign(item_of(meeting), user=chair, owner=team_leader, due_date=TODAY + 7 * DAY, now=NOW)

    problem = Problem.objects.get(pk=item.problem_id)
    assert (problem.owner, problem.due_date, problem.owner_assigned_at) == (team_leader, TODAY + 7 * DAY, NOW)
    record = problem.history.first()
    assert (record.history_user, record.owner_id) == (chair, team_leader.pk)
    assert record.history_change_reason == "QRQC meeting 2026-11-20: owner and due date assigned"
    assert AgendaItem.objects.get(pk=item.pk).discussed_at == NOW


@pytest.mark.parametrize(
    ("owner", "due", "message"),
    [
        ("outsider", TODAY + DAY, "among the plant's people"),
        (None, TODAY + DAY, "among the plant's people"),
        ("team_leader", None, "closure date"),
        ("team_leader", TODAY - DAY, "cannot be before today"),
    ],
)
def test_a_wrong_assignment_is_refused_and_changes_nothing(request, chair, meeting, owner, due, message):
    person = request.getfixturevalue(owner) if owner else None
    with pytest.raises(MeetingRefused, match=message):
        verbs.assign(item_of(meeting), user=chair, owner=person, due_date=due, now=NOW)
    problem = item_of(meeting).problem
    assert (problem.owner, problem.due_date) == (None, None)


@pytest.mark.parametrize("persona", ["team_leader", "operator", "outsider"])
def test_only_a_chair_acts_on_an_item(request, meeting, persona):
    person = request.getfixturevalue(persona)
    item = item_of(meeting)
    for action in (
        lambda: verbs.assign(item, user=person, owner=person, due_date=TODAY + DAY, now=NOW),
        lambda: verbs.record_decision(item, user=person, text="mine", now=NOW),
        lambda: verbs.set_board_status(item, user=person, colours={"containment": "green"}, now=NOW),
        lambda: verbs.confirm_closure(item, user=person, now=NOW),
        lambda: verbs.refresh_agenda(meeting, user=person, now=NOW),
    ):
        with pytest.raises(NotChair):
            action()
    assert not AgendaItem.objects.filter(pk=item.pk, discussed_at__isnull=False).exists()


def test_a_decision_is_kept_on_the_item_and_in_the_problems_history(chair, meeting):
    verbs.record_decision(item_of(meeting), user=chair, text="  Sort the warehouse stock today  ", now=NOW)

    item = item_of(meeting)
    assert (item.decision, item.discussed_at) == ("Sort the warehouse stock today", NOW)
    problem = item.problem
    assert problem.decision == "Sort the warehouse stock today"
    record = problem.history.first()
    assert record.history_user == chair
    assert record.history_change_reason == "QRQC meeting 2026-11-20: decision"
    assert record.decision == "Sort the warehouse stock today"


@pytest.mark.parametrize("text", ["", "   ", "x" * 2001])
def test_an_empty_or_endless_decision_is_refused(chair, meeting, text):
    with pytest.raises(MeetingRefused):
        verbs.record_decision(item_of(meeting), user=chair, text=text, now=NOW)
    assert item_of(meeting).decision == ""


def test_the_board_status_stores_only_what_differs_from_the_status(chair, meeting):
    item = item_of(meeting)  # an open B problem, not contained: every step red by its status

    verbs.set_board_status(
        item, user=chair, colours={"containment": "yellow", "root_cause": "red", "actions": "white"}, now=NOW
    )

    problem = item_of(meeting).problem
    assert problem.board_status == {"containment": "yellow", "actions": "white"}
    record = problem.history.first()
    assert (record.history_user, record.history_change_reason) == (chair, "QRQC meeting 2026-11-20: board status")

    verbs.set_board_status(item, user=chair, colours={"containment": "red"}, now=NOW)
    assert item_of(meeting).problem.board_status == {"actions": "white"}


@pytest.mark.parametrize(
    ("colours", "message"),
    [
        ({"containment": "purple"}, "Choose red"),
        ({"lunch": "red"}, "Choose red"),
        ({"closure": "green"}, "Closure turns green"),
    ],
)
def test_a_wrong_board_status_is_refused(chair, meeting, colours, message):
    with pytest.raises(MeetingRefused, match=message):
        verbs.set_board_status(item_of(meeting), user=chair, colours=colours, now=NOW)
    assert item_of(meeting).problem.board_status == {}


def test_a_problem_with_an_8d_takes_its_board_status_from_the_sections(chair, meeting):
    item = item_of(meeting)
    solving.start_report(item.problem, user=chair, now=NOW)
    with pytest.raises(MeetingRefused, match="8D sections"):
        verbs.set_board_status(item, user=chair, colours={"containment": "green"}, now=NOW)


def test_confirming_the_closure_of_a_closed_problem(world, chair, team_leader):
    problem = problem_at(world, team_leader, "C", title="closed yesterday", ago=2 * HOUR)
    close_without_eightd(problem, user=chair, now=NOW - HOUR)
    meeting = verbs.start_meeting(chair, world.plant, world.assembly, now=NOW)

    verbs.confirm_closure(item_of(meeting, "closed yesterday"), user=chair, now=NOW)

    assert item_of(meeting, "closed yesterday").closure_confirmed_at == NOW


def test_the_quality_department_closes_and_confirms_a_problem_ready_to_close(world, chair, team_leader):
    reviewer = make_person("qm", Role.QUALITY_MANAGER, plant=world.plant)
    problem = problem_at(world, team_leader, "A", title="8D done", ago=3 * HOUR)
    complete_report(problem, author=chair, reviewer=reviewer, now=NOW - 2 * HOUR)
    meeting = verbs.start_meeting(chair, world.plant, world.assembly, now=NOW)

    verbs.confirm_closure(item_of(meeting, "8D done"), user=chair, now=NOW)

    item = item_of(meeting, "8D done")
    assert item.closure_confirmed_at == NOW
    assert (item.problem.status, item.problem.closed_at) == (Status.CLOSED, NOW)
    assert item.problem.history.first().history_user == chair


def test_a_closure_that_is_blocked_says_what_is_missing_and_changes_nothing(chair, meeting):
    with pytest.raises(MeetingRefused) as refusal:
        verbs.confirm_closure(item_of(meeting), user=chair, now=NOW)

    assert "No containment is recorded." in refusal.value.details
    item = item_of(meeting)
    assert (item.closure_confirmed_at, item.problem.status) == (None, Status.OPEN)


def test_a_chair_outside_the_quality_department_cannot_close(world, workshop_director, chair, team_leader):
    reviewer = make_person("qm", Role.QUALITY_MANAGER, plant=world.plant)
    problem = problem_at(world, team_leader, "A", title="8D done", ago=3 * HOUR)
    complete_report(problem, author=chair, reviewer=reviewer, now=NOW - 2 * HOUR)
    meeting = verbs.start_meeting(workshop_director, world.plant, world.assembly, now=NOW)

    with pytest.raises(MeetingRefused, match="only the quality department closes"):
        verbs.confirm_closure(item_of(meeting, "8D done"), user=workshop_director, now=NOW)
    assert Problem.objects.get(pk=problem.pk).status == Status.VERIFYING


# --- who sees which meeting -------------------------------------------------------------------


def test_a_meeting_is_seen_within_its_scope_and_its_items_within_the_readers(world, chair, team_leader, outsider):
    problem_at(world, team_leader, title="on a1")
    problem_at(world, team_leader, title="on m1", line=world.line_m1)
    plant = verbs.start_meeting(chair, world.plant, now=NOW)
    assembly = verbs.start_meeting(chair, world.plant, world.assembly, now=NOW)
    machining = verbs.start_meeting(chair, world.plant, world.machining, now=NOW)

    assert set(verbs.visible_meetings(chair)) == {plant, assembly, machining}
    assert set(verbs.visible_meetings(team_leader)) == {plant, assembly}  # a line of assembly
    assert set(verbs.visible_meetings(outsider)) == set()
    assert {item.problem.title for item in verbs.items_for(team_leader, plant)} == {"on a1"}
    assert {item.problem.title for item in verbs.items_for(chair, plant)} == {"on a1", "on m1"}
