"""The 8D flow (issues.eightd.solving): starting a report under the plant's deadlines, every move of a
section's state machine, four eyes, returns and their alarm, the problem moved on by accepted
answers, the team kept in step with D1, and copying an earlier 8D."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from escalation.models import EscalationEvent
from issues.eightd import rules as eightd
from issues.eightd import solving
from issues.models import EightDReport, Problem, Role, Section, SectionDeadline
from issues.problems.lifecycle import TransitionRefused, close_problem, reopen
from tests.concurrency import run_together
from tests.conftest import make_person
from tests.issues.eightd_factory import OCCURRED, clean_answer, complete_report, graded_problem, valid_content

pytestmark = pytest.mark.django_db

State = Section.State
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
NOW = OCCURRED + 2 * HOUR
SOON = dt.timedelta(hours=12)


@pytest.fixture
def author(quality_engineer):
    return quality_engineer


@pytest.fixture
def reviewer(world):
    return make_person("reviewer", Role.QUALITY_MANAGER, plant=world.plant)


@pytest.fixture
def problem(world, team_leader) -> Problem:
    return graded_problem(world.line_a1, team_leader, "A")


@pytest.fixture
def report(problem, author) -> EightDReport:
    return solving.start_report(problem, user=author, now=NOW)


def section(report: EightDReport, code: str) -> Section:
    return report.sections.get(code=code)


def row(report: EightDReport, code: str) -> dict:
    """Every column of the section, its notice schedule and updated_at included."""
    return report.sections.filter(code=code).values().get()


def fresh(problem: Problem) -> Problem:
    return Problem.objects.get(pk=problem.pk)


def answer(report: EightDReport, code: str, author) -> dict:
    return clean_answer(report.problem, code, valid_content(code, [author]))


def submitted(report: EightDReport, code: str, author) -> Section:
    return solving.submit(section(report, code), user=author, content=answer(report, code, author), now=NOW)


def accepted(report: EightDReport, code: str, author, reviewer) -> Section:
    return solving.accept(submitted(report, code, author), user=reviewer, now=NOW)


# Starting a report -------------------------------------------------------------------------


def test_a_report_starts_with_nine_sections_due_by_the_plants_deadlines(problem, author, report):
    sections = list(report.sections.order_by("code"))

    assert [item.code for item in sections] == list(eightd.SECTIONS)
    assert {item.state for item in sections} == {State.TODO}
    for item in sections:
        due = OCCURRED + eightd.DEFAULT_SECTION_DAYS[item.code] * DAY
        assert (item.code, item.due_at, item.notice_at) == (item.code, due, due - SOON)
    assert (report.leader, list(report.members.all()), report.created_by) == (author, [author], author)


def test_an_edited_deadline_applies_to_reports_started_afterwards(world, team_leader, problem, author, report):
    SectionDeadline.objects.filter(policy__plant=world.plant, section="D3").update(days=2)
    later = solving.start_report(graded_problem(world.line_a1, team_leader, "A"), user=author, now=NOW)

    assert section(later, "D3").due_at == OCCURRED + 2 * DAY
    assert section(report, "D3").due_at == OCCURRED + DAY


def test_the_owner_leads_the_report_when_there_is_one(problem, author, team_leader):
    Problem.objects.filter(pk=problem.pk).update(owner=team_leader)

    report = solving.start_report(problem, user=author, now=NOW)

    assert (report.leader, set(report.members.all())) == (team_leader, {team_leader})


def test_starting_a_report_twice_gives_the_first_one(problem, author, reviewer, report):
    again = solving.start_report(problem, user=reviewer, now=NOW + HOUR)

    assert again.pk == report.pk
    assert Section.objects.filter(report__problem=problem).count() == 9


def test_a_closed_problem_gets_no_report(problem, author):
    Problem.objects.filter(pk=problem.pk).update(status=Problem.Status.CLOSED)

    with pytest.raises(TransitionRefused):
        solving.start_report(problem, user=author, now=NOW)
    assert not EightDReport.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_people_starting_the_report_at_the_same_moment_make_one(postgresql_only, problem, author):
    reports = run_together(3, lambda: solving.start_report(problem, user=author).pk)

    assert len(set(reports)) == 1
    assert (EightDReport.objects.count(), Section.objects.count()) == (1, 9)


# The state machine of a section ------------------------------------------------------------

OPEN_STATES = (State.TODO, State.DRAFT, State.RETURNED)

# verb: (states it is allowed from, the state it leads to, who does it, the history reason)
MOVES = {
    "save_answer": (OPEN_STATES, State.DRAFT, "author", "answer saved"),
    "submit": (OPEN_STATES, State.SUBMITTED, "author", "submitted for review"),
    "accept": ((State.SUBMITTED,), State.ACCEPTED, "reviewer", "accepted"),
    "return_answer": ((State.SUBMITTED,), State.RETURNED, "reviewer", "returned: No data"),
    "reopen_section": ((State.ACCEPTED, State.NOT_APPLICABLE), State.DRAFT, "reviewer", "reopened: Recheck"),
    "mark_not_applicable": (OPEN_STATES, State.NOT_APPLICABLE, "author", "not applicable: Tool only"),
}


def call(verb: str, item: Section, user, content: dict) -> Section:
    arguments = {
        "save_answer": {"content": content},
        "submit": {"content": content, "now": NOW},
        "accept": {"now": NOW},
        "return_answer": {"reason": "No data", "now": NOW},
        "reopen_section": {"reason": "Recheck"},
        "mark_not_applicable": {"reason": "Tool only", "now": NOW},
    }[verb]
    return getattr(solving, verb)(item, user=user, **arguments)


@pytest.mark.parametrize("state", State.values)
@pytest.mark.parametrize("verb", MOVES)
def test_each_section_verb_moves_only_from_its_states_and_a_refused_one_changes_nothing(
    verb, state, report, author, reviewer
):
    # An UPDATE puts the section straight into the starting state (the verbs would need a
    # different path to each); the author submitted it, so the reviewer may review it.
    Section.objects.filter(report=report, code="D5").update(state=state, submitted_by=author)
    item = section(report, "D5")
    before, history = row(report, "D5"), item.history.count()
    sources, target, who, reason = MOVES[verb]
    user = {"author": author, "reviewer": reviewer}[who]

    if state in sources:
        call(verb, item, user, answer(report, "D5", author))
        record = item.history.first()
        assert (section(report, "D5").state, record.history_user, record.history_change_reason) == (
            target,
            user,
            reason,
        )
    else:
        with pytest.raises(TransitionRefused):
            call(verb, item, user, answer(report, "D5", author))
        assert row(report, "D5") == before
        assert item.history.count() == history


@pytest.mark.parametrize("verb", ["accept", "return_answer"])
def test_the_author_of_an_answer_cannot_review_it(verb, report, author):
    item = submitted(report, "D4", author)

    with pytest.raises(TransitionRefused, match="Someone other than the author"):
        call(verb, item, author, {})
    assert section(report, "D4").state == State.SUBMITTED


def test_an_accepted_answer_is_locked_until_reopened_with_a_reason(report, author, reviewer):
    item = accepted(report, "D4", author, reviewer)

    with pytest.raises(TransitionRefused):
        solving.save_answer(item, user=author, content={"occurrence_cause": "Changed my mind"})
    with pytest.raises(TransitionRefused):
        solving.reopen_section(item, user=reviewer, reason=" ")
    solving.reopen_section(item, user=reviewer, reason="Evidence is a photo of the wrong tool")
    solving.save_answer(item, user=author, content={"occurrence_cause": "Changed my mind"})

    reopened = section(report, "D4")
    assert (reopened.state, reopened.done_at, reopened.review_note) == (
        State.DRAFT,
        None,
        "Evidence is a photo of the wrong tool",
    )
    assert reopened.content == {"occurrence_cause": "Changed my mind"}


def test_a_section_of_a_closed_problem_is_not_reopened(problem, report, author, reviewer):
    item = accepted(report, "D4", author, reviewer)
    Problem.objects.filter(pk=problem.pk).update(status=Problem.Status.CLOSED)

    with pytest.raises(TransitionRefused, match="reopen it first"):
        solving.reopen_section(item, user=reviewer, reason="Recheck")
    assert section(report, "D4").state == State.ACCEPTED


@pytest.mark.parametrize("status", [Problem.Status.CLOSED, Problem.Status.CANCELLED])
def test_a_finished_problems_8d_takes_no_more_answers(status, problem, report, author):
    Problem.objects.filter(pk=problem.pk).update(status=status)

    with pytest.raises(TransitionRefused, match="reopen it first"):
        solving.save_answer(section(report, "D2"), user=author, content={"what": "late edit"})
    assert section(report, "D2").content == {}


def test_reopening_a_closed_problem_brings_back_the_notices_of_its_open_sections(problem, report, author):
    Section.objects.filter(report=report).update(notice_at=None)  # what the sweep does at closure
    Problem.objects.filter(pk=problem.pk).update(status=Problem.Status.CLOSED, closed_at=NOW)

    reopen(fresh(problem), user=author, reason="Customer found more", now=NOW)

    assert section(report, "D4").notice_at == section(report, "D4").due_at - dt.timedelta(hours=12)


@pytest.mark.parametrize("code", eightd.SECTIONS)
def test_only_some_sections_may_be_declared_not_applicable_and_only_with_a_reason(code, report, author):
    item = section(report, code)

    with pytest.raises(TransitionRefused):
        solving.mark_not_applicable(item, user=author, reason="  ", now=NOW)
    if code in eightd.MAY_BE_NOT_APPLICABLE:
        solving.mark_not_applicable(item, user=author, reason="No customer stock", now=NOW)
        assert (section(report, code).state, section(report, code).na_reason) == (
            State.NOT_APPLICABLE,
            "No customer stock",
        )
    else:
        with pytest.raises(TransitionRefused, match="part of every 8D"):
            solving.mark_not_applicable(item, user=author, reason="No customer stock", now=NOW)
        assert section(report, code).state == State.TODO


# Returns -----------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_return_needs_a_reason(reason, report, author, reviewer):
    item = submitted(report, "D4", author)

    with pytest.raises(TransitionRefused, match="Say why"):
        solving.return_answer(item, user=reviewer, reason=reason, now=NOW)
    assert (section(report, "D4").state, EightDReport.objects.get().returns) == (State.SUBMITTED, 0)


RETURNS = {
    # section, returned when, due afterwards
    "late: three days from the return": ("D4", OCCURRED + 3 * DAY + HOUR, OCCURRED + 6 * DAY + HOUR),
    "early: the original deadline stays": ("D6", OCCURRED + DAY, OCCURRED + 14 * DAY),
}


@pytest.mark.parametrize(("code", "returned_at", "due"), RETURNS.values(), ids=RETURNS.keys())
def test_a_returned_answer_is_counted_and_gets_the_rework_deadline(code, returned_at, due, report, author, reviewer):
    item = submitted(report, code, author)

    solving.return_answer(item, user=reviewer, reason="  The 5 whys stop too early ", now=returned_at)

    returned = section(report, code)
    assert (returned.state, returned.returns, returned.review_note) == (
        State.RETURNED,
        1,
        "The 5 whys stop too early",
    )
    assert (returned.reviewed_by, returned.reviewed_at) == (reviewer, returned_at)
    assert (returned.due_at, returned.notice_at) == (due, due - SOON)
    assert EightDReport.objects.get().returns == 1


def rejected_twice(problem: Problem) -> int:
    return EscalationEvent.objects.filter(problem=problem, kind="rejected_twice").count()


def test_the_second_return_on_a_report_raises_the_alarm_once(problem, report, author, reviewer):
    counts = []
    for code in ("D4", "D5", "D4"):
        solving.return_answer(submitted(report, code, author), user=reviewer, reason="Not effective", now=NOW)
        counts.append(rejected_twice(problem))

    assert counts == [0, 1, 1]
    assert EightDReport.objects.get().returns == 3
    assert section(report, "D4").returns == 2


# The problem moved on by its answers -------------------------------------------------------

PROGRESS = [
    ("D0", Problem.Status.OPEN),
    ("D1", Problem.Status.OPEN),
    ("D2", Problem.Status.OPEN),
    ("D3", Problem.Status.CONTAINED),
    ("D4", Problem.Status.ANALYSED),
    ("D5", Problem.Status.ACTING),
    ("D6", Problem.Status.VERIFYING),
    ("D7", Problem.Status.VERIFYING),
    ("D8", Problem.Status.VERIFYING),
]


def test_accepted_answers_move_the_problem_on_stage_by_stage(problem, report, author, reviewer):
    statuses = []
    for code, _status in PROGRESS:
        accepted(report, code, author, reviewer)
        statuses.append(fresh(problem).status)

    assert statuses == [status for _code, status in PROGRESS]


def test_accepting_the_containment_stops_the_escalation_clock(problem, report, author, reviewer):
    for code in ("D0", "D1", "D2"):
        accepted(report, code, author, reviewer)
    still_open = fresh(problem)
    accepted(report, "D3", author, reviewer)

    contained = fresh(problem)
    assert (still_open.contained_at, still_open.escalate_at) == (None, OCCURRED + dt.timedelta(minutes=5))
    assert (contained.status, contained.contained_at, contained.escalate_at) == (Problem.Status.CONTAINED, NOW, None)
    record = contained.history.first()
    assert (record.history_user, record.history_change_reason) == (reviewer, "8D: Open → Contained")


def test_the_move_is_recorded_in_english_whatever_the_reviewers_language(problem, report, author, reviewer):
    for code in ("D0", "D1", "D2"):
        accepted(report, code, author, reviewer)

    with translation.override("zh-hans"):
        accepted(report, "D3", author, reviewer)

    assert fresh(problem).history.first().history_change_reason == "8D: Open → Contained"


def test_a_section_declared_not_applicable_counts_as_done(problem, report, author, reviewer):
    for code in ("D0", "D1", "D2", "D3", "D4"):
        accepted(report, code, author, reviewer)

    solving.mark_not_applicable(section(report, "D5"), user=author, reason="Long-term action only", now=NOW)

    assert fresh(problem).status == Problem.Status.ACTING


def test_reopening_an_accepted_answer_does_not_move_the_problem_back(problem, report, author, reviewer):
    for code in ("D0", "D1", "D2", "D3", "D4"):
        accepted(report, code, author, reviewer)

    solving.reopen_section(section(report, "D4"), user=reviewer, reason="Recheck")

    assert fresh(problem).status == Problem.Status.ANALYSED


# The team ----------------------------------------------------------------------------------


def test_the_d1_answer_names_the_reports_leader_and_members(report, author, team_leader, general_manager):
    draft = {"leader": team_leader.pk, "members": [{"person": general_manager.pk}]}
    solving.save_answer(section(report, "D1"), user=author, content=draft)
    after_draft = (EightDReport.objects.get().leader, set(report.members.all()))

    content = clean_answer(report.problem, "D1", valid_content("D1", [author, general_manager]))
    solving.submit(section(report, "D1"), user=author, content=content, now=NOW)

    assert after_draft == (team_leader, {team_leader, general_manager})
    assert (EightDReport.objects.get().leader, set(report.members.all())) == (author, {author, general_manager})


# Copying an earlier 8D ---------------------------------------------------------------------


@pytest.fixture
def earlier(world, team_leader, author, reviewer) -> EightDReport:
    earlier = graded_problem(world.line_a1, team_leader, "A", occurred_at=OCCURRED - 30 * DAY)
    report = complete_report(earlier, author, reviewer, now=OCCURRED - 20 * DAY)
    close_problem(earlier, user=reviewer, now=OCCURRED - 20 * DAY)
    return report


def test_copying_an_earlier_8d_fills_the_open_analysis_and_action_sections(earlier, report, author, reviewer):
    solving.save_answer(section(report, "D4"), user=author, content={"occurrence_cause": "Unsure"})
    submitted(report, "D5", author)
    d5 = section(report, "D5").content

    copied = solving.copy_from(report, source=earlier, user=author)

    assert copied == ["D4", "D6", "D7"]
    now = {item.code: item for item in report.sections.all()}
    source = {item.code: item.content for item in earlier.sections.all()}
    assert {code: now[code].state for code in ("D3", "D4", "D5", "D6", "D7")} == {
        "D3": State.TODO,
        "D4": State.DRAFT,
        "D5": State.SUBMITTED,
        "D6": State.DRAFT,
        "D7": State.DRAFT,
    }
    assert (now["D4"].content, now["D5"].content, now["D7"].content) == (source["D4"], d5, source["D7"])
    assert now["D3"].content == {}
    (action,) = now["D6"].content["actions"]
    assert action == {
        **source["D6"]["actions"][0],
        "status": "planned",
        "done_on": None,
        "evidence": "",
        "validation": "",
    }
    assert now["D6"].content["validation_summary"] == source["D6"]["validation_summary"]
    assert EightDReport.objects.get(pk=report.pk).copied_from == earlier
    assert now["D4"].history.first().history_change_reason == f"copied from {earlier.problem.number}"


def test_a_report_is_not_copied_from_another_plant_or_from_itself(report, author, other_world, outsider):
    foreign_problem = graded_problem(other_world.line_a1, outsider, "A")
    foreign = solving.start_report(foreign_problem, user=outsider, now=NOW)

    for source in (foreign, report):
        with pytest.raises(TransitionRefused):
            solving.copy_from(report, source=source, user=author)
    assert EightDReport.objects.get(pk=report.pk).copied_from is None
    assert set(report.sections.values_list("state", flat=True)) == {State.TODO}


def test_reopening_a_not_applicable_section_drops_its_reason_from_the_answer(report, author, reviewer):
    item = solving.mark_not_applicable(section(report, "D0"), user=author, reason="No customer impact", now=NOW)

    solving.reopen_section(item, user=reviewer, reason="The customer called after all")

    reopened = section(report, "D0")
    assert (reopened.state, reopened.na_reason) == (State.DRAFT, "")
    assert reopened.history.filter(na_reason="No customer impact").exists()
