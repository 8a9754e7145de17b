"""The rules of problem solving as pure functions (issues.eightd.rules): board colours, deadlines and
their boundaries, notices, the stage an 8D has reached, and what stops a closure. No database;
every clock reading is passed in."""

from __future__ import annotations

import datetime as dt

import pytest

from issues.eightd import rules as eightd
from issues.eightd.rules import Colour, Timing
from issues.models import Section

DUE = dt.datetime(2025, 3, 5, 1, 0, tzinfo=dt.UTC)
SOON = dt.timedelta(hours=12)
SECOND = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)

COLOURS = {
    "todo": Colour.RED,
    "draft": Colour.YELLOW,
    "submitted": Colour.YELLOW,
    "returned": Colour.YELLOW,
    "accepted": Colour.GREEN,
    "na": Colour.WHITE,
}


def test_the_colour_table_covers_every_section_state():
    assert set(COLOURS) == set(Section.State.values)


@pytest.mark.parametrize(("state", "colour"), COLOURS.items())
def test_each_state_has_its_board_colour(state, colour):
    assert eightd.board_colour(state) == colour


TIMINGS = {
    "a second before the due-soon window": ("draft", DUE - SOON - SECOND, Timing.ON_TIME),
    "the due-soon window opens": ("draft", DUE - SOON, Timing.DUE_SOON),
    "a second before the deadline": ("todo", DUE - SECOND, Timing.DUE_SOON),
    "at the deadline": ("todo", DUE, Timing.OVERDUE),
    "a returned answer past its deadline": ("returned", DUE + DAY, Timing.OVERDUE),
    "a returned answer well before it": ("returned", DUE - 2 * DAY, Timing.ON_TIME),
    "submitted, late as it is": ("submitted", DUE + DAY, Timing.ANSWERED),
    "accepted, late as it is": ("accepted", DUE + DAY, Timing.ANSWERED),
    "not applicable": ("na", DUE + DAY, Timing.NOT_APPLICABLE),
}


@pytest.mark.parametrize(("state", "now", "expected"), TIMINGS.values(), ids=TIMINGS.keys())
def test_a_section_is_on_time_due_soon_or_overdue_by_its_deadline(state, now, expected):
    assert eightd.timing(state, DUE, now, SOON) == expected


OCCURRED = dt.datetime(2025, 3, 4, 1, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("code", "due"), [("D3", OCCURRED + DAY), ("D4", OCCURRED + 3 * DAY), ("D6", OCCURRED + 14 * DAY)]
)
def test_the_first_deadline_counts_the_section_days_from_the_occurrence(code, due):
    assert eightd.first_due(OCCURRED, eightd.DEFAULT_SECTION_DAYS[code]) == due


REWORK = {
    "returned early keeps the later original deadline": (DUE - 5 * DAY, DUE),
    "returned three days before it keeps it": (DUE - 3 * DAY, DUE),
    "returned late gets three days from the return": (DUE + DAY, DUE + 4 * DAY),
    "returned the day before gets three days from the return": (DUE - DAY, DUE + 2 * DAY),
}


@pytest.mark.parametrize(("returned_at", "due"), REWORK.values(), ids=REWORK.keys())
def test_a_returned_answer_gets_at_most_the_rework_days_more(returned_at, due):
    assert eightd.rework_due(DUE, returned_at, 3) == due


def test_notices_come_due_soon_then_overdue_then_stop():
    sent = []
    assert eightd.next_notice("todo", DUE, 0, sent, SOON) == ("due_soon", DUE - SOON)
    assert eightd.notices_due("todo", DUE, 0, sent, SOON, DUE - SOON - SECOND) == []
    assert eightd.notices_due("todo", DUE, 0, sent, SOON, DUE - SOON) == ["due_soon"]

    sent.append(eightd.notice_key("due_soon", 0))
    assert eightd.next_notice("draft", DUE, 0, sent, SOON) == ("overdue", DUE)
    assert eightd.notices_due("draft", DUE, 0, sent, SOON, DUE - SECOND) == []
    assert eightd.notices_due("draft", DUE, 0, sent, SOON, DUE) == ["overdue"]

    sent.append(eightd.notice_key("overdue", 0))
    assert eightd.next_notice("draft", DUE, 0, sent, SOON) is None
    assert eightd.notices_due("draft", DUE, 0, sent, SOON, DUE + 5 * DAY) == []


def test_a_section_found_already_late_gets_only_the_overdue_notice():
    assert eightd.notices_due("todo", DUE, 0, [], SOON, DUE + DAY) == ["overdue"]
    after = [eightd.notice_key("overdue", 0)]
    assert eightd.next_notice("todo", DUE, 0, after, SOON) is None
    assert eightd.notices_due("todo", DUE, 0, after, SOON, DUE + 2 * DAY) == []


def test_a_rework_round_is_noticed_again_under_its_own_keys():
    first_round = [eightd.notice_key("due_soon", 0), eightd.notice_key("overdue", 0)]
    rework = DUE + 3 * DAY

    assert eightd.notice_key("overdue", 1) == "overdue/1"
    assert eightd.next_notice("returned", rework, 1, first_round, SOON) == ("due_soon", rework - SOON)
    assert eightd.notices_due("returned", rework, 1, first_round, SOON, rework - SOON) == ["due_soon"]
    assert eightd.notices_due("returned", rework, 1, first_round, SOON, rework) == ["overdue"]


@pytest.mark.parametrize("state", ["submitted", "accepted", "na"])
def test_an_answered_or_not_applicable_section_is_owed_no_notice(state):
    assert eightd.next_notice(state, DUE, 0, [], SOON) is None
    assert eightd.notices_due(state, DUE, 0, [], SOON, DUE + DAY) == []


def test_each_section_and_rework_round_has_its_own_notice_level():
    levels = [eightd.notice_level(code, returns) for code in eightd.SECTIONS for returns in range(5)]

    assert (eightd.notice_level("D4", 0), eightd.notice_level("D4", 1)) == (4, 14)
    assert len(set(levels)) == len(levels)
    assert [eightd.section_of_level(level) for level in levels] == [code for code in eightd.SECTIONS for _ in range(5)]


CONTAINMENT = ("D0", "D1", "D2", "D3")

STAGES = {
    "nothing done": ((), "open"),
    "D0 to D2 done": (("D0", "D1", "D2"), "open"),
    "D4 done before D3 leaves it open": (("D0", "D1", "D2", "D4"), "open"),
    "D0 to D3 done": (CONTAINMENT, "contained"),
    "D4 done": ((*CONTAINMENT, "D4"), "analysed"),
    "D5 done": ((*CONTAINMENT, "D4", "D5"), "acting"),
    "D6 done": ((*CONTAINMENT, "D4", "D5", "D6"), "verifying"),
    "D6 done before D5": ((*CONTAINMENT, "D4", "D6"), "analysed"),
    "everything done": (eightd.SECTIONS, "verifying"),
}


@pytest.mark.parametrize(("done", "stage"), STAGES.values(), ids=STAGES.keys())
def test_a_stage_is_reached_when_it_and_every_earlier_one_are_done(done, stage):
    assert eightd.stage_reached(done) == stage


MOVES = {
    "contained by D0 to D3": ("open", CONTAINMENT, "contained"),
    "jumping to analysed when D3 is accepted after D4": ("open", (*CONTAINMENT, "D4"), "analysed"),
    "never back when a section is reopened": ("acting", CONTAINMENT, "acting"),
    "staying where it is": ("analysed", (*CONTAINMENT, "D4"), "analysed"),
    "closed stays closed": ("closed", CONTAINMENT, "closed"),
    "cancelled stays cancelled": ("cancelled", eightd.SECTIONS, "cancelled"),
}


@pytest.mark.parametrize(("current", "done", "after"), MOVES.values(), ids=MOVES.keys())
def test_answers_move_a_problem_forward_only(current, done, after):
    assert eightd.status_after(current, done) == after


COMPLETE = {
    "pfmea": {"status": "updated", "reference": "PFMEA-12 rev C"},
    "dfmea": {"status": "na", "reason": "no design responsibility"},
    "control_plan": {"status": "updated", "reference": "CP-7"},
    "work_instruction": {"status": "updated", "reference": "WI-33"},
}

CHECKLIST_GAPS = {
    "updated without a reference": ("pfmea", {"status": "updated", "reference": "  "}, "Give the reference"),
    "not applicable without a reason": ("dfmea", {"status": "na", "reason": ""}, "Say why it does not apply"),
    "not answered": ("control_plan", {"status": ""}, "Updated or not applicable?"),
    "missing": ("work_instruction", None, "Updated or not applicable?"),
}


def test_a_complete_checklist_has_no_errors():
    assert eightd.checklist_errors(COMPLETE) == {}


@pytest.mark.parametrize(("item", "entry", "message"), CHECKLIST_GAPS.values(), ids=CHECKLIST_GAPS.keys())
def test_each_checklist_document_is_updated_with_a_reference_or_not_applicable_with_a_reason(item, entry, message):
    checklist = {**COMPLETE, item: entry}
    if entry is None:
        del checklist[item]

    errors = eightd.checklist_errors(checklist)

    assert list(errors) == [item]
    assert errors[item].startswith(message)


ALL_ACCEPTED = dict.fromkeys(eightd.SECTIONS, "accepted")


def blockers(**facts) -> list[str]:
    given = {
        "status": "verifying",
        "contained": True,
        "needs_eightd": True,
        "section_states": ALL_ACCEPTED,
        "cause_note": "",
        "checklist": COMPLETE,
    }
    return eightd.closure_blockers(**(given | facts))


CLOSURES = {
    "an A/B problem with its 8D accepted": ({}, []),
    "an A/B problem with sections not applicable": ({"section_states": {**ALL_ACCEPTED, "D5": "na"}}, []),
    "a C problem with a cause note": ({"needs_eightd": False, "section_states": {}, "cause_note": "Tool"}, []),
    "a C problem without a cause note": (
        {"needs_eightd": False, "section_states": {}, "cause_note": "  "},
        ["Write a short cause note."],
    ),
    "an A/B problem without an 8D": ({"section_states": {}, "cause_note": "Tool"}, ["This grade needs an 8D report."]),
    "an A/B problem with sections open": (
        {"section_states": {**ALL_ACCEPTED, "D4": "submitted", "D8": "draft"}},
        ["8D sections not accepted yet: D4, D8."],
    ),
    "not contained": ({"contained": False}, ["No containment is recorded."]),
    "an incomplete checklist": (
        {"checklist": {**COMPLETE, "pfmea": {"status": ""}}},
        ["The D7 checklist (PFMEA/DFMEA, control plan, work instruction) is not complete."],
    ),
    "already closed": ({"status": "closed"}, ["The problem is already closed or cancelled."]),
    "cancelled": ({"status": "cancelled"}, ["The problem is already closed or cancelled."]),
}


@pytest.mark.parametrize(("facts", "expected"), CLOSURES.values(), ids=CLOSURES.keys())
def test_closure_needs_containment_the_answer_its_grade_requires_and_the_checklist(facts, expected):
    assert blockers(**facts) == expected


def test_every_reason_not_to_close_is_given_at_once():
    assert len(blockers(contained=False, section_states={}, checklist={})) == 3


@pytest.mark.parametrize(("returns", "alarm"), [(0, False), (1, False), (2, True), (3, True)])
def test_the_second_return_on_a_report_is_the_alarm(returns, alarm):
    assert eightd.returns_alarm(returns) is alarm
