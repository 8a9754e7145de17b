"""The daily QRQC board's query layer: which problems are on it, their order, and the colour
of each step (issues.board.queries)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from issues.board.queries import (
    BoardEntry,
    board_counts,
    board_entries,
    board_query,
    latest_problem,
    page_rows,
    rows_for,
)
from issues.eightd import solving
from issues.eightd.rules import Colour
from issues.eightd.steps import STEPS, step_colours
from issues.models import Problem, Role
from issues.problems import lifecycle
from issues.problems.flags import age_label, overdue_q
from tests.conftest import close_without_eightd, make_person
from tests.issues.eightd_factory import clean_answer, copied, graded_problem, valid_content

R, Y, G, W = Colour.RED, Colour.YELLOW, Colour.GREEN, Colour.WHITE
NOW = dt.datetime(2025, 3, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai


def board_rows(user, *, now: dt.datetime, **place) -> list:
    """Every row of the board as its pages read it: the entries of the query, then one page of all."""
    entries = board_entries(board_query(user, now=now, **place))
    return page_rows(entries, 0, len(entries), now=now)


def hours_ago(hours: float) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours)


def colours(*values: Colour) -> dict[str, Colour]:
    return dict(zip(STEPS, values, strict=True))


ALL_TODO = dict.fromkeys(("D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"), "todo")


@pytest.mark.parametrize(
    ("status", "contained", "states", "needs_eightd", "expected"),
    [
        # Without a report: the status says how far the problem got.
        ("open", False, None, True, colours(R, R, R, R, R)),
        ("contained", True, None, True, colours(G, R, R, R, R)),
        ("analysed", True, None, True, colours(G, G, R, R, R)),
        ("acting", True, None, True, colours(G, G, Y, R, R)),
        ("verifying", True, None, True, colours(G, G, G, Y, R)),
        ("closed", True, None, True, colours(G, G, G, G, G)),
        ("open", True, None, True, colours(G, R, R, R, R)),  # reopened: the containment holds
        # No 8D needed: the problem closes from contained or analysed, nothing to act on or verify.
        ("open", False, None, False, colours(R, R, W, W, R)),
        ("contained", True, None, False, colours(G, R, W, W, R)),
        ("closed", True, None, False, colours(G, G, W, W, G)),
        ("acting", True, None, False, colours(G, G, Y, R, R)),
        # With a report: the sections decide.
        ("open", False, ALL_TODO, True, colours(R, R, R, R, R)),
        ("open", False, ALL_TODO | {"D1": "draft"}, True, colours(Y, R, R, R, R)),
        (
            "contained",
            True,
            ALL_TODO | {"D0": "na", "D1": "accepted", "D2": "accepted", "D3": "accepted", "D4": "submitted"},
            True,
            colours(G, Y, R, R, R),
        ),
        (
            "acting",
            True,
            ALL_TODO | dict.fromkeys(("D0", "D1", "D2", "D3", "D4"), "accepted") | {"D5": "returned", "D6": "na"},
            True,
            colours(G, G, Y, W, R),
        ),
        ("verifying", True, dict.fromkeys(ALL_TODO, "accepted"), True, colours(G, G, G, G, Y)),
        ("closed", True, dict.fromkeys(ALL_TODO, "accepted"), True, colours(G, G, G, G, G)),
        ("verifying", True, dict.fromkeys(ALL_TODO, "accepted") | {"D8": "draft"}, True, colours(G, G, G, G, Y)),
    ],
)
def test_step_colours_follow_the_8d_sections_or_else_the_status(status, contained, states, needs_eightd, expected):
    assert step_colours(status, contained, states, needs_eightd) == expected


def test_a_cancelled_problem_has_no_colours():
    with pytest.raises(ValueError):
        step_colours("cancelled", False, None, True)


def numbers(rows) -> list[str]:
    return [row.problem.number for row in rows]


@pytest.fixture
def reviewer(world):
    return make_person("reviewer", Role.QUALITY_MANAGER, plant=world.plant)


def test_the_board_shows_the_past_day_and_every_open_older_problem_and_closures_of_the_past_day(
    world, quality_engineer
):
    recent = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(2))
    old_open = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(200))
    recent_closed = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(3))
    closed_on_the_boundary = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(30))
    closed_just_before = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(30))
    cancelled = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(1))
    close_without_eightd(recent_closed, user=quality_engineer, now=hours_ago(1))
    close_without_eightd(closed_on_the_boundary, user=quality_engineer, now=hours_ago(24))
    close_without_eightd(closed_just_before, user=quality_engineer, now=hours_ago(24.01))
    lifecycle.cancel_as_duplicate(cancelled, user=quality_engineer, duplicate_of=recent)

    shown = set(numbers(board_rows(quality_engineer, now=NOW)))

    assert shown == {p.number for p in (recent, old_open, recent_closed, closed_on_the_boundary)}
    closed_row = next(row for row in board_rows(quality_engineer, now=NOW) if row.problem.pk == recent_closed.pk)
    assert closed_row.colours == colours(G, G, W, W, G)


def test_the_board_keeps_to_the_viewers_scope_and_the_chosen_plant_workshop_or_line(
    world, other_world, quality_engineer, team_leader, outsider
):
    on_a1 = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(1))
    on_a2 = graded_problem(world.line_a2, quality_engineer, "C", occurred_at=hours_ago(2))
    on_m1 = graded_problem(world.line_m1, quality_engineer, "C", occurred_at=hours_ago(3))
    elsewhere = graded_problem(other_world.line_a1, outsider, "C", occurred_at=hours_ago(4))

    assert numbers(board_rows(quality_engineer, now=NOW)) == [on_m1.number, on_a2.number, on_a1.number]
    assert numbers(board_rows(team_leader, now=NOW)) == [on_a1.number]
    assert numbers(board_rows(outsider, now=NOW)) == [elsewhere.number]
    assert numbers(board_rows(outsider, plant=world.plant, now=NOW)) == []
    assert numbers(board_rows(quality_engineer, plant=other_world.plant, now=NOW)) == []
    assert numbers(board_rows(quality_engineer, plant=world.plant, now=NOW)) == [
        on_m1.number,
        on_a2.number,
        on_a1.number,
    ]
    assert numbers(board_rows(quality_engineer, workshop=world.assembly, now=NOW)) == [on_a2.number, on_a1.number]
    assert numbers(board_rows(quality_engineer, line=world.line_a2, now=NOW)) == [on_a2.number]


def test_rows_are_sorted_by_grade_then_oldest_first(world, quality_engineer):
    young_c = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(1))
    old_c = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(50))
    young_a = graded_problem(world.line_a2, quality_engineer, "A", occurred_at=hours_ago(2))
    b = graded_problem(world.line_m1, quality_engineer, "B", occurred_at=hours_ago(3))
    old_a = graded_problem(world.line_m1, quality_engineer, "A", occurred_at=hours_ago(40))

    rows = board_rows(quality_engineer, now=NOW)

    assert numbers(rows) == [p.number for p in (old_a, young_a, b, old_c, young_c)]
    assert rows[0].age == dt.timedelta(hours=40)


def test_a_row_carries_the_owner_due_date_overdue_flag_and_escalation_level(world, quality_engineer, team_leader):
    late = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(80))
    on_time = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(20))
    # Shanghai's date at NOW is 10 March: due the 9th is late, due today is not yet.
    lifecycle.assign_owner(late, user=quality_engineer, owner=team_leader, due_date=dt.date(2025, 3, 9), now=NOW)
    lifecycle.assign_owner(on_time, user=quality_engineer, owner=None, due_date=dt.date(2025, 3, 10), now=NOW)
    Problem.objects.filter(pk=late.pk).update(escalation_level=3)

    late_row, on_time_row = board_rows(quality_engineer, now=NOW)

    assert (late_row.owner_name, late_row.due_date, late_row.overdue) == ("Leader", dt.date(2025, 3, 9), True)
    assert late_row.escalation_level == 3
    assert (on_time_row.owner_name, on_time_row.overdue, on_time_row.escalation_level) == ("", False, 5)


def test_a_row_colours_its_steps_from_the_problems_8d(world, quality_engineer, reviewer):
    problem = graded_problem(world.line_a1, quality_engineer, "A", occurred_at=hours_ago(30))
    report = solving.start_report(problem, user=quality_engineer, now=hours_ago(29))
    sections = {section.code: section for section in report.sections.all()}
    for code in ("D0", "D1", "D2", "D3"):
        content = clean_answer(problem, code, valid_content(code, [quality_engineer, reviewer]))
        solving.submit(sections[code], user=quality_engineer, content=content, now=hours_ago(28))
        solving.accept(sections[code], user=reviewer, now=hours_ago(27))
    solving.save_answer(sections["D4"], user=quality_engineer, content={"occurrence_cause": "Worn tool"})
    solving.mark_not_applicable(sections["D6"], user=quality_engineer, reason="nothing to implement")

    (row,) = board_rows(quality_engineer, now=NOW)

    assert row.problem.status == Problem.Status.CONTAINED
    assert row.colours == colours(G, Y, R, W, R)


def _more_problems(template: Problem, count: int, batch: str) -> None:
    """Copies of a logged problem, stored in one go: the board only reads them."""
    Problem.objects.bulk_create(copied(template, f"{batch}{index}") for index in range(count))


def test_the_board_costs_the_same_queries_for_5_and_50_problems(world, quality_engineer, team_leader, reviewer):
    def queries_for_board() -> tuple[int, int]:
        viewer = type(quality_engineer).objects.get(pk=quality_engineer.pk)  # no scope cached
        with CaptureQueriesContext(connection) as queries:
            rows = board_rows(viewer, now=NOW)
        return len(rows), len(queries)

    with_8d = graded_problem(world.line_a1, quality_engineer, "A", occurred_at=hours_ago(5))
    solving.start_report(with_8d, user=quality_engineer, now=hours_ago(4))
    owned = graded_problem(world.line_m1, quality_engineer, "C", occurred_at=hours_ago(6))
    owned = lifecycle.assign_owner(
        owned, user=quality_engineer, owner=team_leader, due_date=dt.date(2025, 3, 9), now=NOW
    )
    _more_problems(owned, 3, "a")
    few = queries_for_board()

    second_8d = graded_problem(world.line_a2, quality_engineer, "B", occurred_at=hours_ago(7))
    solving.start_report(second_8d, user=quality_engineer, now=hours_ago(4))
    _more_problems(owned, 44, "b")
    many = queries_for_board()

    assert (few[0], many[0]) == (5, 50)
    assert few[1] == many[1]


# --- the board's header and page helpers (issue #5) -------------------------------------------
@pytest.mark.parametrize(
    ("age", "label"),
    [
        (dt.timedelta(seconds=-30), "0 min"),  # a clock a little ahead on the reporting tablet
        (dt.timedelta(seconds=59), "0 min"),
        (dt.timedelta(minutes=35), "35 min"),
        (dt.timedelta(minutes=59, seconds=59), "59 min"),
        (dt.timedelta(hours=1), "1 h"),
        (dt.timedelta(hours=3, minutes=50), "3 h"),
        (dt.timedelta(hours=47, minutes=59), "47 h"),
        (dt.timedelta(hours=48), "2 d"),
        (dt.timedelta(days=30, hours=23), "30 d"),
    ],
)
def test_an_age_reads_in_minutes_then_hours_then_days(age, label):
    assert age_label(age) == label


def test_the_header_counts_grades_open_overdue_and_unowned_problems_of_the_board(
    world, other_world, quality_engineer, team_leader, outsider
):
    late_a = graded_problem(world.line_a1, quality_engineer, "A", occurred_at=hours_ago(80))
    lifecycle.assign_owner(late_a, user=quality_engineer, owner=team_leader, due_date=dt.date(2025, 3, 9), now=NOW)
    due_today = graded_problem(world.line_a2, quality_engineer, "B", occurred_at=hours_ago(5))
    lifecycle.assign_owner(due_today, user=quality_engineer, owner=None, due_date=dt.date(2025, 3, 10), now=NOW)
    closed_late = graded_problem(world.line_m1, quality_engineer, "C", occurred_at=hours_ago(4))
    lifecycle.assign_owner(closed_late, user=quality_engineer, owner=None, due_date=dt.date(2025, 3, 1), now=NOW)
    close_without_eightd(closed_late, user=quality_engineer, now=hours_ago(1))
    graded_problem(other_world.line_a1, outsider, "A", occurred_at=hours_ago(1))

    counts = board_counts(board_entries(board_query(quality_engineer, now=NOW)), now=NOW)

    assert counts == {"total": 3, "a": 1, "b": 1, "c": 1, "open": 2, "overdue": 1, "no_owner": 1}
    assert board_counts([], now=NOW)["total"] == 0


def entry(grade="C", status="open", owner_id=7, due_date=None, zone="Asia/Shanghai", pk=1, reported_at=NOW):
    return BoardEntry(pk, f"N{pk}", "title", grade, status, owner_id, due_date, zone, reported_at)


MARCH = {day: dt.date(2025, 3, day) for day in (8, 9, 10)}  # NOW is the 10th in Shanghai, the 9th in Chicago


@pytest.mark.parametrize(
    ("entry_", "counted"),
    [
        (entry(grade="A"), {"a": 1, "open": 1}),
        (entry(grade="B", owner_id=None), {"b": 1, "open": 1, "no_owner": 1}),
        (entry(status="closed", owner_id=None, due_date=MARCH[8]), {"c": 1}),  # closed: nothing is late any more
        (entry(status="acting", due_date=MARCH[9]), {"c": 1, "open": 1, "overdue": 1}),
        (entry(due_date=MARCH[10]), {"c": 1, "open": 1}),  # due today is not late yet
        (entry(due_date=MARCH[9], zone="America/Chicago"), {"c": 1, "open": 1}),  # still the 9th there
        (entry(due_date=MARCH[8], zone="America/Chicago"), {"c": 1, "open": 1, "overdue": 1}),
        (entry(grade=""), {"open": 1}),  # not graded (yet): counted in the total only
    ],
)
def test_the_header_counts_each_entry_once_by_grade_state_owner_and_its_plants_calendar(entry_, counted):
    expected = dict.fromkeys(("a", "b", "c", "open", "overdue", "no_owner"), 0) | counted | {"total": 1}
    assert board_counts([entry_], now=NOW) == expected


def test_the_latest_entry_is_the_one_logged_last_then_the_higher_id():
    first, same_time, later = entry(pk=1), entry(pk=2), entry(pk=3, reported_at=NOW + dt.timedelta(seconds=1))
    assert latest_problem([later, first, same_time]) == later
    assert latest_problem([first, same_time]) == same_time


def test_overdue_is_judged_by_the_calendar_of_the_problems_plant(world, other_world, quality_engineer, outsider):
    other_world.plant.timezone = "America/Chicago"  # 22:00 on 9 March when Shanghai is at noon on the 10th
    other_world.plant.save(update_fields=["timezone"])
    here = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(30))
    there = graded_problem(other_world.line_a1, outsider, "C", occurred_at=hours_ago(30))
    for problem in (here, there):
        lifecycle.assign_owner(problem, user=quality_engineer, owner=None, due_date=dt.date(2025, 3, 9), now=NOW)

    late = Problem.objects.filter(overdue_q(["Asia/Shanghai", "America/Chicago"], NOW))

    assert list(late) == [here]


def test_the_latest_problem_is_the_one_logged_last_whenever_it_occurred(world, quality_engineer):
    graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(2))
    logged_last = graded_problem(world.line_a2, quality_engineer, "C", occurred_at=hours_ago(20))

    assert latest_problem(board_entries(board_query(quality_engineer, now=NOW))).pk == logged_last.pk
    assert latest_problem([]) is None


def test_rows_for_a_page_of_the_board_match_the_whole_boards_rows(world, quality_engineer):
    for hours in (1, 2, 3, 4):
        graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(hours))
    everything = board_rows(quality_engineer, now=NOW)

    page = rows_for(board_query(quality_engineer, now=NOW)[1:3], now=NOW)

    assert page == everything[1:3]
    entries = board_entries(board_query(quality_engineer, now=NOW))
    assert [entry.pk for entry in entries] == [row.problem.pk for row in everything]
    assert page_rows(entries, 1, 3, now=NOW) == everything[1:3]
    assert page_rows(entries, 4, 8, now=NOW) == []


def test_a_row_knows_whether_it_was_logged_within_the_hour_is_escalated_or_needs_an_owner(
    world, quality_engineer, team_leader
):
    fresh = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(0.5))
    owned = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(1))
    lifecycle.assign_owner(owned, user=quality_engineer, owner=team_leader, due_date=None, now=NOW)
    closed = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=hours_ago(3))
    close_without_eightd(closed, user=quality_engineer, now=hours_ago(2))
    Problem.objects.filter(pk=owned.pk).update(escalation_level=4)
    late_report = graded_problem(world.line_a2, quality_engineer, "C", occurred_at=hours_ago(5))
    for problem, logged in ((fresh, 0.4), (owned, 1.01), (closed, 2.9), (late_report, 0.2)):
        Problem.objects.filter(pk=problem.pk).update(reported_at=hours_ago(logged))

    rows = {row.problem.pk: row for row in board_rows(quality_engineer, now=NOW)}

    assert (rows[fresh.pk].new, rows[fresh.pk].escalated, rows[fresh.pk].needs_owner) == (True, False, True)
    assert (rows[owned.pk].new, rows[owned.pk].escalated, rows[owned.pk].needs_owner) == (False, True, False)
    assert rows[closed.pk].needs_owner is False  # closed: nobody needs to take it any more
    assert rows[late_report.pk].new is True  # it occurred 5 hours ago but was logged just now
