"""The problem lifecycle (issues.problems.lifecycle): every move between the seven statuses, made by
its verb or refused without a trace; history; owner assignment; the escalation clock across
reopen and cancel; what a grade needs to close; the lesson a closed 8D leaves."""

from __future__ import annotations

import datetime as dt

import pytest

from issues.eightd.rules import checklist_from
from issues.eightd.solving import reopen_section, save_answer, start_report
from issues.models import Containment, Lesson, Problem, SolvingPolicy
from issues.problems import lifecycle
from issues.problems.lifecycle import TRANSITIONS, TransitionRefused
from tests.conftest import NOT_APPLICABLE_CHECKLIST, close_without_eightd
from tests.issues.eightd_factory import OCCURRED, complete_report, graded_problem, valid_content

pytestmark = pytest.mark.django_db

Status = Problem.Status
NOW = OCCURRED + dt.timedelta(hours=2)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def problem(world, team_leader) -> Problem:
    return graded_problem(world.line_a1, team_leader, "A")


@pytest.fixture
def kept(world, team_leader) -> Problem:
    """The problem a duplicate is cancelled in favour of."""
    return graded_problem(world.line_a1, team_leader, "A")


def fresh(problem: Problem) -> Problem:
    return Problem.objects.get(pk=problem.pk)


def row(problem: Problem) -> dict:
    """Every column, the clock fields (escalate_at, alarm_at) included."""
    return Problem.objects.filter(pk=problem.pk).values().get()


def put_in(problem: Problem, status: str) -> Problem:
    """Give the problem `status` directly: an UPDATE skips the verbs and their history on
    purpose, so each status can be a starting point without driving the problem (and an 8D)
    all the way there. The timestamps a status implies come with it."""
    contained = None if status == Status.OPEN else NOW - HOUR
    closed = NOW - HOUR if status == Status.CLOSED else None
    Problem.objects.filter(pk=problem.pk).update(status=status, contained_at=contained, closed_at=closed)
    return fresh(problem)


# Each verb: the status it leads to, how it is called, and the history reason it leaves.
VERBS = {
    "contain": (
        Status.CONTAINED,
        lambda problem, user, kept: lifecycle.contain(
            problem, action="Sort stock", done_by="line", quantity_secured=40, user=user, now=NOW
        ),
        "containment recorded",
    ),
    "record_cause": (
        Status.ANALYSED,
        lambda problem, user, kept: lifecycle.record_cause(problem, user=user, note="Worn tool"),
        "cause found",
    ),
    "start_actions": (
        Status.ACTING,
        lambda problem, user, kept: lifecycle.start_actions(problem, user=user),
        "actions started",
    ),
    "start_verification": (
        Status.VERIFYING,
        lambda problem, user, kept: lifecycle.start_verification(problem, user=user),
        "verifying",
    ),
    "verification_failed": (
        Status.ACTING,
        lambda problem, user, kept: lifecycle.verification_failed(problem, user=user, reason="Burrs again"),
        "verification failed: Burrs again",
    ),
    "close_problem": (
        Status.CLOSED,
        lambda problem, user, kept: lifecycle.close_problem(
            problem, user=user, checklist=NOT_APPLICABLE_CHECKLIST, cause_note="Worn tool", now=NOW
        ),
        "closed",
    ),
    "reopen": (
        Status.OPEN,
        lambda problem, user, kept: lifecycle.reopen(problem, user=user, reason="Complaint", now=NOW),
        "reopened: Complaint",
    ),
    "cancel_as_duplicate": (
        Status.CANCELLED,
        lambda problem, user, kept: lifecycle.cancel_as_duplicate(
            problem, user=user, duplicate_of=kept, reason="same burr"
        ),
        "duplicate of {kept}: same burr",
    ),
}

# Two verbs lead to "acting": each from its own status (a failed verification needs a reason).
ONLY_FROM = {"start_actions": Status.ANALYSED, "verification_failed": Status.VERIFYING}


def outcome(verb: str, current: str) -> str:
    target = VERBS[verb][0]
    if lifecycle.allowed(current, target) and ONLY_FROM.get(verb, current) == current:
        return "moves"
    if verb == "contain" and current not in (Status.CLOSED, Status.CANCELLED):
        return "adds a containment"  # more suspect stock found: the status stays
    return "refused"


def test_every_allowed_move_has_a_verb():
    pairs = {(current, target) for current, targets in TRANSITIONS.items() for target in targets}
    made = {(current, VERBS[verb][0]) for verb in VERBS for current in Status if outcome(verb, current) == "moves"}

    assert made == pairs
    assert set(TRANSITIONS) == set(Status)


@pytest.mark.parametrize("current", Status.values)
@pytest.mark.parametrize("verb", VERBS)
def test_each_verb_makes_only_its_allowed_moves_and_leaves_a_refused_one_untouched(
    verb, current, problem, kept, quality_engineer
):
    SolvingPolicy.objects.filter(plant=problem.plant).update(eightd_grades="")  # no 8D: close on a cause note
    target, call, reason = VERBS[verb]
    problem = put_in(problem, current)
    before = row(problem)
    history = problem.history.count()
    expected = outcome(verb, current)

    if expected == "refused":
        with pytest.raises(TransitionRefused):
            call(problem, quality_engineer, kept)
        assert row(problem) == before
        assert problem.history.count() == history
        assert not Containment.objects.filter(problem=problem).exists()
    elif expected == "adds a containment":
        call(problem, quality_engineer, kept)
        assert (fresh(problem).status, problem.containments.count()) == (current, 1)
    else:
        call(problem, quality_engineer, kept)
        record = problem.history.first()
        assert fresh(problem).status == target
        assert (record.status, record.history_user, record.history_change_reason) == (
            target,
            quality_engineer,
            reason.format(kept=kept.number),
        )


def test_assigning_an_owner_records_when_only_when_the_owner_changes(problem, quality_engineer, team_leader):
    first, later, last = NOW, NOW + HOUR, NOW + 2 * HOUR
    lifecycle.assign_owner(problem, user=quality_engineer, owner=team_leader, due_date=dt.date(2025, 3, 20), now=first)
    lifecycle.assign_owner(problem, user=quality_engineer, owner=team_leader, due_date=dt.date(2025, 3, 25), now=later)
    assigned = fresh(problem)

    lifecycle.assign_owner(problem, user=quality_engineer, owner=quality_engineer, due_date=None, now=last)
    reassigned = fresh(problem)

    assert (assigned.owner, assigned.due_date, assigned.owner_assigned_at) == (team_leader, dt.date(2025, 3, 25), first)
    assert (reassigned.owner, reassigned.due_date, reassigned.owner_assigned_at) == (quality_engineer, None, last)
    record = reassigned.history.first()
    assert (record.history_user, record.history_change_reason) == (quality_engineer, "owner and due date assigned")


def test_a_closed_problem_gets_no_owner(problem, quality_engineer, team_leader):
    problem = put_in(problem, Status.CLOSED)

    with pytest.raises(TransitionRefused):
        lifecycle.assign_owner(problem, user=quality_engineer, owner=team_leader, due_date=None, now=NOW)
    assert fresh(problem).owner is None


def test_containment_stops_the_escalation_clock_and_reopening_restarts_it(problem, quality_engineer):
    assert problem.escalate_at == OCCURRED + dt.timedelta(minutes=5)
    close_without_eightd(problem, user=quality_engineer, now=NOW)
    closed = fresh(problem)

    lifecycle.reopen(closed, user=quality_engineer, reason="Complaint", now=NOW + 72 * HOUR)
    reopened = fresh(problem)

    assert (closed.escalate_at, closed.alarm_at, closed.contained_at) == (None, None, NOW)
    assert (reopened.status, reopened.closed_at, reopened.contained_at) == (Status.OPEN, None, None)
    assert reopened.escalate_at == OCCURRED + dt.timedelta(minutes=5)  # due at once: fired at the next sweep
    assert reopened.alarm_at == OCCURRED + dt.timedelta(days=2)  # "no owner after 2 days" comes back


def test_cancelling_a_duplicate_stops_its_escalation(problem, kept, quality_engineer):
    lifecycle.cancel_as_duplicate(problem, user=quality_engineer, duplicate_of=kept)
    cancelled = fresh(problem)

    assert (cancelled.status, cancelled.duplicate_of, cancelled.escalate_at, cancelled.alarm_at) == (
        Status.CANCELLED,
        kept,
        None,
        None,
    )


@pytest.mark.parametrize("which", ["itself", "another plant's", "a cancelled one"])
def test_a_problem_is_cancelled_only_in_favour_of_a_live_problem_of_its_plant(
    which, problem, kept, quality_engineer, other_world, outsider
):
    other = {
        "itself": problem,
        "another plant's": lambda: graded_problem(other_world.line_a1, outsider, "A"),
        "a cancelled one": lambda: put_in(kept, Status.CANCELLED),
    }[which]
    other = other() if callable(other) else other

    with pytest.raises(TransitionRefused):
        lifecycle.cancel_as_duplicate(problem, user=quality_engineer, duplicate_of=other)
    assert fresh(problem).status == Status.OPEN


NEEDS_A_REASON = {
    "record_cause": (Status.CONTAINED, "note"),
    "verification_failed": (Status.VERIFYING, "reason"),
    "reopen": (Status.CLOSED, "reason"),
}


@pytest.mark.parametrize(("verb", "status", "argument"), [(verb, *row) for verb, row in NEEDS_A_REASON.items()])
def test_a_move_that_needs_a_reason_is_refused_without_one(verb, status, argument, problem, quality_engineer):
    problem = put_in(problem, status)

    with pytest.raises(TransitionRefused):
        getattr(lifecycle, verb)(problem, user=quality_engineer, **{argument: "  "})
    assert fresh(problem).status == status


def contained(problem: Problem, user) -> Problem:
    lifecycle.contain(problem, action="Sort", done_by="line", quantity_secured=5, user=user, now=NOW)
    return fresh(problem)


def close_with_cause_note(problem: Problem, user) -> Problem:
    return lifecycle.close_problem(
        problem, user=user, checklist=NOT_APPLICABLE_CHECKLIST, cause_note=" Worn tool ", now=NOW
    )


@pytest.mark.parametrize(("grade", "eightd_grades"), [("A", "AB"), ("B", "AB"), ("B", "ABC")])
def test_a_grade_that_needs_an_8d_cannot_close_on_a_cause_note(
    grade, eightd_grades, world, team_leader, quality_engineer
):
    problem = graded_problem(world.line_a1, team_leader, grade)
    SolvingPolicy.objects.filter(plant=world.plant).update(eightd_grades=eightd_grades)

    with pytest.raises(TransitionRefused, match="needs an 8D report"):
        close_with_cause_note(contained(problem, quality_engineer), quality_engineer)
    assert fresh(problem).status == Status.CONTAINED


@pytest.mark.parametrize(("grade", "eightd_grades"), [("C", "AB"), ("B", "A"), ("A", "")])
def test_a_grade_the_plant_does_not_8d_closes_on_containment_and_a_cause_note(
    grade, eightd_grades, world, team_leader, quality_engineer
):
    problem = graded_problem(world.line_a1, team_leader, grade)
    SolvingPolicy.objects.filter(plant=world.plant).update(eightd_grades=eightd_grades)

    close_with_cause_note(contained(problem, quality_engineer), quality_engineer)
    closed = fresh(problem)

    assert (closed.status, closed.closed_at, closed.cause_note) == (Status.CLOSED, NOW, "Worn tool")
    assert closed.closure_checklist == NOT_APPLICABLE_CHECKLIST
    assert not Lesson.objects.exists()


def test_an_uncontained_problem_does_not_close(world, team_leader, quality_engineer):
    problem = put_in(graded_problem(world.line_a1, team_leader, "C"), Status.CONTAINED)
    Problem.objects.filter(pk=problem.pk).update(contained_at=None)

    with pytest.raises(TransitionRefused, match="No containment"):
        close_with_cause_note(fresh(problem), quality_engineer)


def test_a_reopened_problem_closes_again_on_its_stored_checklist(world, team_leader, quality_engineer):
    problem = graded_problem(world.line_a1, team_leader, "C")
    close_with_cause_note(contained(problem, quality_engineer), quality_engineer)
    lifecycle.reopen(problem, user=quality_engineer, reason="Complaint", now=NOW + HOUR)

    lifecycle.close_problem(contained(problem, quality_engineer), user=quality_engineer, now=NOW + 2 * HOUR)

    closed = fresh(problem)
    assert (closed.status, closed.cause_note, closed.closure_checklist) == (
        Status.CLOSED,
        "Worn tool",
        NOT_APPLICABLE_CHECKLIST,
    )


def test_a_problem_with_an_8d_moves_on_by_its_answers_not_by_hand(problem, quality_engineer):
    problem = contained(problem, quality_engineer)
    start_report(problem, user=quality_engineer, now=NOW)

    with pytest.raises(TransitionRefused, match="8D answers"):
        lifecycle.record_cause(problem, user=quality_engineer, note="Worn tool")
    assert fresh(problem).status == Status.CONTAINED


def test_closing_an_8d_problem_keeps_its_d7_checklist_and_adds_the_lesson_to_the_library(
    problem, quality_engineer, general_manager
):
    complete_report(problem, quality_engineer, general_manager, now=NOW)
    assert fresh(problem).status == Status.VERIFYING

    lifecycle.close_problem(problem, user=general_manager, checklist=NOT_APPLICABLE_CHECKLIST, now=NOW)

    closed = fresh(problem)
    assert (closed.status, closed.closed_at) == (Status.CLOSED, NOW)
    assert closed.closure_checklist == checklist_from(valid_content("D7", [quality_engineer, general_manager]))
    lesson = Lesson.objects.get(problem=problem)
    assert (lesson.plant, lesson.line, lesson.title, lesson.product) == (
        problem.plant,
        problem.line,
        problem.title,
        "Housing 4711",
    )
    assert lesson.lesson == "Deburring tools need a life counter"
    assert lesson.root_cause == "Worn deburring tool\nNo edge check at final inspection"
    assert lesson.actions == "Tool life counter"
    assert lesson.learned_on == dt.date(2025, 3, 4)  # 11:00 in Shanghai


def test_an_8d_problem_with_a_section_still_open_does_not_close(problem, quality_engineer, general_manager):
    report = complete_report(problem, quality_engineer, general_manager, now=NOW)
    reopen_section(report.sections.get(code="D8"), user=general_manager, reason="Sign-off missing")

    with pytest.raises(TransitionRefused, match="D8"):
        lifecycle.close_problem(problem, user=general_manager, now=NOW)
    assert not Lesson.objects.exists()


def test_a_c_problem_closes_with_an_unfinished_8d_but_leaves_no_lesson(world, team_leader, quality_engineer):
    problem = graded_problem(world.line_a1, team_leader, "C")
    report = start_report(problem, user=quality_engineer, now=NOW)
    d7 = valid_content("D7", [quality_engineer])
    save_answer(report.sections.get(code="D7"), user=quality_engineer, content=d7)

    close_with_cause_note(contained(problem, quality_engineer), quality_engineer)

    closed = fresh(problem)
    assert (closed.status, closed.closure_checklist) == (Status.CLOSED, checklist_from(d7))
    assert not Lesson.objects.exists()
