"""The ladder as pure functions (docs/escalation.md §The rules), with a hand-made plan and an explicit `now`.

No database: the plan is the plain data a problem carries once graded.
"""

from __future__ import annotations

import datetime as dt

import pytest

from escalation import ladder

OCCURRED = dt.datetime(2025, 6, 2, 1, 0, tzinfo=dt.UTC)

# Deliberately listed out of order: the ladder must sort by level, not trust the input.
PLAN = {
    "category": "quality",
    "ceilings": {"A": 1, "B": 3, "C": 4},
    "tiers": [
        {"level": 2, "after_minutes": 60, "roles": ["production_manager"], "channels": ["phone", "sms"]},
        {"level": 4, "after_minutes": 5, "roles": ["team_leader", "quality_engineer"], "channels": ["phone"]},
        {"level": 1, "after_minutes": 120, "roles": ["general_manager"], "channels": ["phone", "sms"]},
        {"level": 3, "after_minutes": 30, "roles": ["workshop_director"], "channels": ["phone"]},
    ],
    "alarms": [
        {
            "kind": "unresolved_week",
            "after_minutes": 7 * 24 * 60,
            "roles": ["inspection_section_chief"],
            "channels": ["sms"],
        },
        {"kind": "rejected_twice", "after_minutes": None, "roles": ["deputy_general_manager"], "channels": ["sms"]},
        {
            "kind": "no_owner",
            "after_minutes": 2 * 24 * 60,
            "roles": ["inspection_section_chief"],
            "channels": ["inapp"],
        },
    ],
}


def at(minutes: float = 0, *, seconds: int = 0) -> dt.datetime:
    return OCCURRED + dt.timedelta(minutes=minutes, seconds=seconds)


def levels(steps) -> list[int]:
    return [step.level for step in steps]


def kinds(steps) -> list[str]:
    return [step.kind for step in steps]


# (minutes:seconds after occurrence, tiers due for an A problem nobody has heard of yet)
BOUNDARIES = [
    ((4, 59), []),
    ((5, 0), [4]),
    ((29, 59), [4]),
    ((30, 0), [4, 3]),
    ((59, 59), [4, 3]),
    ((60, 0), [4, 3, 2]),
    ((119, 59), [4, 3, 2]),
    ((120, 0), [4, 3, 2, 1]),
]


@pytest.mark.parametrize(
    ("elapsed", "expected"), BOUNDARIES, ids=[f"at {m}:{s:02d} the due tiers are {e}" for (m, s), e in BOUNDARIES]
)
def test_each_tier_falls_due_exactly_at_its_offset_and_not_a_second_before(elapsed, expected):
    minutes, seconds = elapsed
    assert (
        levels(ladder.due_tiers(PLAN, "A", OCCURRED, ladder.INITIATOR_LEVEL, at(minutes, seconds=seconds))) == expected
    )


# (level already reached, the tier just above it, its offset in minutes)
NEXT_UP = [(5, 4, 5), (4, 3, 30), (3, 2, 60), (2, 1, 120)]


@pytest.mark.parametrize(
    ("reached", "tier", "offset"), NEXT_UP, ids=[f"level {t} after reaching {r}" for r, t, _ in NEXT_UP]
)
def test_the_next_tier_is_not_due_a_second_before_its_offset_but_is_at_it(reached, tier, offset):
    assert ladder.due_tiers(PLAN, "A", OCCURRED, reached, at(offset, seconds=-1)) == []
    assert levels(ladder.due_tiers(PLAN, "A", OCCURRED, reached, at(offset))) == [tier]


CEILINGS = [("C", 4, [4]), ("B", 3, [4, 3]), ("A", 1, [4, 3, 2, 1])]


@pytest.mark.parametrize(
    ("grade", "top", "climb"), CEILINGS, ids=[f"grade {g} climbs to level {t}" for g, t, _ in CEILINGS]
)
def test_the_grade_sets_the_ceiling_of_the_climb(grade, top, climb):
    a_day_later = at(24 * 60)

    assert ladder.ceiling(PLAN, grade) == top
    assert levels(ladder.tiers(PLAN, grade)) == climb
    assert levels(ladder.due_tiers(PLAN, grade, OCCURRED, ladder.INITIATOR_LEVEL, a_day_later)) == climb
    assert ladder.due_tiers(PLAN, grade, OCCURRED, top, a_day_later) == []
    assert ladder.next_escalation_at(PLAN, grade, OCCURRED, top) is None


def test_a_grade_the_plan_does_not_know_never_climbs_past_the_initiator():
    assert ladder.ceiling(PLAN, "X") == ladder.INITIATOR_LEVEL
    assert ladder.tiers(PLAN, "X") == []
    assert ladder.next_escalation_at({}, "A", OCCURRED, ladder.INITIATOR_LEVEL) is None


def test_a_problem_logged_65_minutes_late_owes_levels_4_3_and_2_at_once_in_that_order():
    due = ladder.due_tiers(PLAN, "A", OCCURRED, ladder.INITIATOR_LEVEL, at(65))

    assert levels(due) == [4, 3, 2]
    assert [step.due_at(OCCURRED) for step in due] == [at(5), at(30), at(60)]
    assert ladder.next_escalation_at(PLAN, "A", OCCURRED, 2) == at(120)


def test_a_tier_carries_the_roles_and_channels_of_the_plan():
    step = ladder.tier(PLAN, 4)

    assert step == ladder.Step(
        after_minutes=5, roles=("team_leader", "quality_engineer"), channels=("phone",), level=4, kind="tier"
    )
    assert ladder.tier(PLAN, 0) is None


NEXT_ESCALATION = [
    ("A", 5, 5),
    ("A", 4, 30),
    ("A", 3, 60),
    ("A", 2, 120),
    ("A", 1, None),
    ("B", 5, 5),
    ("B", 4, 30),
    ("B", 3, None),
    ("C", 5, 5),
    ("C", 4, None),
]


@pytest.mark.parametrize(
    ("grade", "reached", "minutes"),
    NEXT_ESCALATION,
    ids=[f"grade {g} at level {r} next escalates at {m}" for g, r, m in NEXT_ESCALATION],
)
def test_next_escalation_is_the_deadline_of_the_next_tier_under_the_ceiling(grade, reached, minutes):
    expected = None if minutes is None else at(minutes)
    assert ladder.next_escalation_at(PLAN, grade, OCCURRED, reached) == expected


def test_a_policy_edited_out_of_order_never_skips_a_tier():
    """Level 3 edited to come before level 4: when level 3 is due, level 4 goes with it, first."""
    muddled = {
        "ceilings": {"B": 3},
        "tiers": [
            {"level": 4, "after_minutes": 15, "roles": ["team_leader"], "channels": ["phone"]},
            {"level": 3, "after_minutes": 10, "roles": ["workshop_director"], "channels": ["phone"]},
        ],
    }

    assert ladder.next_escalation_at(muddled, "B", OCCURRED, ladder.INITIATOR_LEVEL) == at(10)
    assert ladder.due_tiers(muddled, "B", OCCURRED, ladder.INITIATOR_LEVEL, at(10, seconds=-1)) == []
    assert levels(ladder.due_tiers(muddled, "B", OCCURRED, ladder.INITIATOR_LEVEL, at(10))) == [4, 3]


def test_timed_alarms_are_the_alarms_with_an_offset_soonest_first():
    assert kinds(ladder.timed_alarms(PLAN)) == ["no_owner", "unresolved_week"]
    assert all(step.level == 0 for step in ladder.timed_alarms(PLAN))


ALARMS_DUE = [
    ("2 days less a second, nothing done", 2 * 24 * 60, -1, [], []),
    ("2 days, nothing done", 2 * 24 * 60, 0, [], ["no_owner"]),
    ("a week less a second, no owner done", 7 * 24 * 60, -1, ["no_owner"], []),
    ("a week, no owner done", 7 * 24 * 60, 0, ["no_owner"], ["unresolved_week"]),
    ("a week, nothing done", 7 * 24 * 60, 0, [], ["no_owner", "unresolved_week"]),
    ("a month, both done", 30 * 24 * 60, 0, ["no_owner", "unresolved_week"], []),
]


@pytest.mark.parametrize(
    ("minutes", "seconds", "done", "expected"),
    [case[1:] for case in ALARMS_DUE],
    ids=[f"at {case[0]} the due alarms are {case[4]}" for case in ALARMS_DUE],
)
def test_timed_alarms_fall_due_at_their_offset_and_alarms_done_are_skipped(minutes, seconds, done, expected):
    assert kinds(ladder.due_alarms(PLAN, OCCURRED, done, at(minutes, seconds=seconds))) == expected


NEXT_ALARM = [
    ([], 2 * 24 * 60),
    (["no_owner"], 7 * 24 * 60),
    (["unresolved_week"], 2 * 24 * 60),
    (["no_owner", "unresolved_week"], None),
]


@pytest.mark.parametrize(
    ("done", "minutes"), NEXT_ALARM, ids=[f"with {d} done the next alarm is at {m} min" for d, m in NEXT_ALARM]
)
def test_next_alarm_is_the_earliest_alarm_not_yet_done(done, minutes):
    expected = None if minutes is None else at(minutes)
    assert ladder.next_alarm_at(PLAN, OCCURRED, done) == expected


def test_an_alarm_raised_by_an_event_has_no_offset_and_is_never_timed():
    step = ladder.alarm(PLAN, "rejected_twice")

    assert (step.kind, step.level, step.roles) == ("rejected_twice", 0, ("deputy_general_manager",))
    assert "rejected_twice" not in kinds(ladder.due_alarms(PLAN, OCCURRED, [], at(365 * 24 * 60)))
    assert ladder.alarm(PLAN, "no_such_alarm") is None


@pytest.mark.parametrize(
    ("elapsed", "minutes"),
    [
        (dt.timedelta(seconds=-30), 0),
        (dt.timedelta(seconds=59), 0),
        (dt.timedelta(minutes=5), 5),
        (dt.timedelta(hours=2, seconds=59), 120),
    ],
    ids=["a clock slightly behind counts as 0", "59 seconds is 0", "5 minutes is 5", "2 hours 59 seconds is 120"],
)
def test_minutes_open_counts_whole_minutes_and_never_goes_negative(elapsed, minutes):
    assert ladder.minutes_open(OCCURRED, OCCURRED + elapsed) == minutes
