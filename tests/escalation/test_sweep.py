"""The sweep end to end (docs/escalation.md §Sweep (level-triggered), issue #3): problems logged
through intake, the clock driven by an explicit `now`, the ledger (EscalationEvent) read back."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from escalation import ladder
from escalation.models import EscalationEvent, EscalationPolicy, SweepRun
from escalation.policies import plan_for
from escalation.sweep import escalate_one, raise_alarm, sweep
from issues.models import Problem, Role
from issues.problems.intake import Report, report_problem
from issues.problems.lifecycle import contain, reopen
from tests.conftest import close_without_eightd, make_person

OCCURRED = dt.datetime(2025, 6, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai, the day shift
DAY = 24 * 60

# A-class defects, intermittent: 10 stays C, 15 is in the B band, 21 is past the A limit
# (docs/grading.md §Default threshold table).
FACTS = {
    "C": {"defect_class": "A", "defect_count": 10},
    "B": {"defect_class": "A", "defect_count": 15},
    "A": {"defect_class": "A", "defect_count": 21},
}


def at(minutes: float = 0, *, seconds: int = 0) -> dt.datetime:
    return OCCURRED + dt.timedelta(minutes=minutes, seconds=seconds)


def log(world, reporter, grade: str = "A", *, line=None, occurred_at: dt.datetime = OCCURRED) -> Problem:
    report = Report(
        line=line or world.line_a1,
        category="quality",
        title=f"Burr on housing ({grade})",
        occurred_at=occurred_at,
        facts=dict(FACTS[grade]),
    )
    problem, created = report_problem(report, reporter=reporter)
    assert created and problem.grade == grade
    return problem


def tiers_fired(problem: Problem) -> list[int]:
    """Levels in the ledger for this problem, in the order they were written."""
    return list(problem.escalation_events.filter(kind="tier").order_by("pk").values_list("level", flat=True))


def levels(events) -> list[int]:
    return [event.level for event in events if event.kind == "tier"]


def told(event: EscalationEvent) -> set[str]:
    return {person["username"] for person in event.recipients}


def fresh(problem: Problem) -> Problem:
    return Problem.objects.get(pk=problem.pk)


def regraded(problem: Problem, grade: str) -> Problem:
    """The problem's grade changed after logging, its next tier rescheduled from the grade's ladder
    while it is still uncontained: the stored state the sweep then reads."""
    problem = fresh(problem)
    escalate_at = problem.escalate_at
    if problem.contained_at is None:
        escalate_at = ladder.next_escalation_at(
            problem.escalation_plan, grade, problem.occurred_at, problem.escalation_level
        )
    Problem.objects.filter(pk=problem.pk).update(grade=grade, escalate_at=escalate_at)
    return fresh(problem)


@pytest.fixture
def reporter(operator):
    return operator


@pytest.fixture
def chief(world):
    return make_person("chief", Role.INSPECTION_SECTION_CHIEF, plant=world.plant)


@pytest.fixture
def production_manager(world):
    return make_person("pm", Role.PRODUCTION_MANAGER, plant=world.plant)


@pytest.fixture
def staffed(team_leader, quality_engineer, workshop_director, chief, production_manager, general_manager):
    """Somebody holds every role of the quality ladder, so nothing falls through."""
    return {
        "leader": team_leader,
        "qe": quality_engineer,
        "director": workshop_director,
        "chief": chief,
        "pm": production_manager,
        "gm": general_manager,
    }


# The clock ------------------------------------------------------------------------------------


def test_level_4_fires_at_exactly_five_minutes_and_not_a_second_before(world, reporter, staffed):
    problem = log(world, reporter, "A")
    assert problem.escalate_at == at(5)
    assert problem.escalation_level == 5

    assert sweep(now=at(4, seconds=59)) == []
    assert tiers_fired(problem) == []

    events = sweep(now=at(5))

    assert levels(events) == [4]
    problem = fresh(problem)
    assert (problem.escalation_level, problem.escalate_at) == (4, at(30))
    assert (events[0].due_at, events[0].fired_at) == (at(5), at(5))
    assert events[0].channels == ["phone", "inapp", "webhook"]


def test_each_tier_fires_once_at_its_own_deadline_as_the_clock_runs(world, reporter, staffed):
    problem = log(world, reporter, "A")
    timeline = [(4, 59, []), (5, 0, [4]), (29, 59, []), (30, 0, [3]), (59, 59, []), (60, 0, [2])]
    timeline += [(119, 59, []), (120, 0, [1]), (DAY, 0, [])]

    fired = [(minutes, seconds, levels(sweep(now=at(minutes, seconds=seconds)))) for minutes, seconds, _ in timeline]

    assert fired == timeline
    assert tiers_fired(problem) == [4, 3, 2, 1]
    assert fresh(problem).escalate_at is None


CONTAINED = [(3, []), (20, [4]), (45, [4, 3])]


@pytest.mark.parametrize(
    ("minute", "reached"), CONTAINED, ids=[f"contained at {m} min the ledger holds {r}" for m, r in CONTAINED]
)
def test_containment_stops_the_climb_for_good(world, reporter, team_leader, staffed, minute, reached):
    problem = log(world, reporter, "A")
    sweep(now=at(minute, seconds=-1))

    contain(problem, action="Sorted the lot", done_by="Leader", quantity_secured=40, user=team_leader, now=at(minute))

    assert fresh(problem).escalate_at is None
    for later in (31, 61, 121, DAY):
        assert levels(sweep(now=at(later))) == []
    assert tiers_fired(problem) == reached


def test_containment_at_20_minutes_means_no_level_3_ever(world, reporter, team_leader, staffed):
    problem = log(world, reporter, "A")
    assert levels(sweep(now=at(5))) == [4]

    contain(
        problem, action="Quarantined 40 housings", done_by="Leader", quantity_secured=40, user=team_leader, now=at(20)
    )

    assert [levels(sweep(now=at(minutes))) for minutes in (31, 61, 121)] == [[], [], []]
    problem = fresh(problem)
    assert (problem.status, problem.escalate_at, problem.escalation_level) == (Problem.Status.CONTAINED, None, 4)
    assert tiers_fired(problem) == [4]


def test_a_problem_moved_past_open_by_other_means_is_not_escalated_and_its_clock_is_cleared(world, reporter, staffed):
    problem = log(world, reporter, "A")
    Problem.objects.filter(pk=problem.pk).update(status=Problem.Status.ANALYSED)

    assert sweep(now=at(5)) == []
    assert fresh(problem).escalate_at is None


def test_a_problem_logged_65_minutes_late_fires_levels_4_3_2_in_one_sweep(world, reporter, staffed):
    problem = log(world, reporter, "A")

    events = sweep(now=at(65))

    assert levels(events) == [4, 3, 2]
    assert [event.due_at for event in events] == [at(5), at(30), at(60)]
    assert {event.fired_at for event in events} == {at(65)}
    problem = fresh(problem)
    assert (problem.escalation_level, problem.escalate_at) == (2, at(120))
    assert sweep(now=at(65)) == []
    assert tiers_fired(problem) == [4, 3, 2]


CEILINGS = [("C", [4]), ("B", [4, 3]), ("A", [4, 3, 2, 1])]


@pytest.mark.parametrize(("grade", "climb"), CEILINGS, ids=[f"grade {g} climbs {c}" for g, c in CEILINGS])
def test_the_grade_caps_the_climb(world, reporter, staffed, grade, climb):
    problem = log(world, reporter, grade)

    for minutes in (5, 30, 60, 120, DAY, 3 * DAY):
        sweep(now=at(minutes))

    assert tiers_fired(problem) == climb
    problem = fresh(problem)
    assert (problem.escalation_level, problem.escalate_at) == (climb[-1], None)


def test_closing_stops_the_climb_and_reopening_restarts_it_from_where_it_stood(world, reporter, team_leader, staffed):
    problem = log(world, reporter, "A")
    assert levels(sweep(now=at(5))) == [4]

    close_without_eightd(problem, user=team_leader, now=at(10))
    assert [levels(sweep(now=at(minutes))) for minutes in (31, 35)] == [[], []]
    assert fresh(problem).escalate_at is None

    reopen(problem, user=team_leader, reason="came back on the next lot", now=at(40))
    problem = fresh(problem)
    assert (problem.status, problem.escalation_level, problem.escalate_at) == (Problem.Status.OPEN, 4, at(30))

    assert levels(sweep(now=at(40))) == [3]  # overdue: fires at the next sweep; level 4 is not sent again
    assert fresh(problem).escalate_at == at(60)
    assert levels(sweep(now=at(60))) == [2]
    assert tiers_fired(problem) == [4, 3, 2]


def test_a_regrade_to_a_higher_grade_raises_the_ceiling_without_resending_tiers(world, reporter, staffed):
    problem = log(world, reporter, "B")
    assert levels(sweep(now=at(31))) == [4, 3]
    assert fresh(problem).escalate_at is None  # B stops at the workshop

    problem = regraded(problem, "A")

    assert problem.grade == "A"
    assert fresh(problem).escalate_at == at(60)
    assert levels(sweep(now=at(45))) == []
    assert levels(sweep(now=at(125))) == [2, 1]
    assert tiers_fired(problem) == [4, 3, 2, 1]


def test_a_regrade_after_logging_adds_the_tiers_the_new_grade_is_owed_at_once(world, reporter, staffed):
    problem = log(world, reporter, "C")
    assert levels(sweep(now=at(5))) == [4]

    regraded(problem, "B")

    assert fresh(problem).escalate_at == at(30)
    assert levels(sweep(now=at(70))) == [3]
    assert tiers_fired(problem) == [4, 3]


def test_a_regrade_of_a_contained_problem_does_not_restart_its_clock(world, reporter, team_leader, staffed):
    problem = log(world, reporter, "B")
    sweep(now=at(5))
    contain(problem, action="Sorted", done_by="Leader", quantity_secured=5, user=team_leader, now=at(10))

    regraded(problem, "A")

    assert fresh(problem).escalate_at is None
    assert levels(sweep(now=at(DAY))) == []


def test_a_regrade_landing_between_the_sweeps_read_and_its_claim_is_not_lost(world, reporter, staffed, monkeypatch):
    """B at level 4 waits for level 3 at 30 min; regraded to A, its next deadline is still 30 min.
    A sweep that read the problem as B must not store "B is done at level 3" over the A grade."""
    from escalation import sweep as sweep_module

    problem = log(world, reporter, "B")
    sweep(now=at(5))
    real_due_tiers = sweep_module.ladder.due_tiers

    def regraded_meanwhile(*args, **kwargs):
        regraded(problem, "A")
        return real_due_tiers(*args, **kwargs)

    monkeypatch.setattr(sweep_module.ladder, "due_tiers", regraded_meanwhile)
    sweep(now=at(65))
    monkeypatch.setattr(sweep_module.ladder, "due_tiers", real_due_tiers)

    sweep(now=at(65))
    sweep(now=at(120))
    assert fresh(problem).grade == "A"
    assert tiers_fired(problem) == [4, 3, 2, 1]


# The policy snapshot ---------------------------------------------------------------------------


# (category, level 4 roles, level 3 roles, level 2 roles); level 1 is the general manager
# (docs/escalation.md §Policies, tiers and ceilings).
MATRIX = [
    (
        "quality",
        ["team_leader", "quality_engineer"],
        ["workshop_director", "inspection_section_chief"],
        ["production_manager", "quality_manager"],
    ),
    (
        "equipment",
        ["team_leader", "equipment_engineer"],
        ["workshop_director", "maintenance_section_chief"],
        ["production_manager", "engineering_manager"],
    ),
    (
        "utilities",
        ["team_leader", "utilities_engineer"],
        ["workshop_director", "maintenance_section_chief"],
        ["production_manager", "engineering_manager"],
    ),
    (
        "material",
        ["team_leader", "quality_engineer"],
        ["workshop_director", "inspection_section_chief"],
        ["production_manager", "quality_manager"],
    ),
    (
        "safety",
        ["team_leader", "quality_engineer"],
        ["workshop_director", "inspection_section_chief"],
        ["production_manager", "quality_manager"],
    ),
    (
        "people",
        ["team_leader", "quality_engineer"],
        ["workshop_director", "inspection_section_chief"],
        ["production_manager", "quality_manager"],
    ),
]


@pytest.mark.parametrize(("category", "level4", "level3", "level2"), MATRIX, ids=[row[0] for row in MATRIX])
def test_every_new_plant_gets_the_domain_matrix_as_its_policy(world, category, level4, level3, level2):
    plan = plan_for(world.plant, category)

    assert plan["ceilings"] == {"A": 1, "B": 3, "C": 4}
    assert [(tier["level"], tier["after_minutes"], tier["roles"]) for tier in plan["tiers"]] == [
        (4, 5, level4),
        (3, 30, level3),
        (2, 60, level2),
        (1, 120, ["general_manager"]),
    ]
    phoned = [tier["level"] for tier in plan["tiers"] if "phone" in tier["channels"]]
    texted = [tier["level"] for tier in plan["tiers"] if "sms" in tier["channels"]]
    assert (phoned, texted) == ([4, 3, 2, 1], [2, 1])
    assert {alarm["kind"]: (alarm["after_minutes"], alarm["roles"]) for alarm in plan["alarms"]} == {
        "no_owner": (2 * DAY, ["inspection_section_chief"]),
        "unresolved_week": (7 * DAY, ["inspection_section_chief", "production_manager"]),
        "rejected_twice": (None, ["deputy_general_manager"]),
        "section_due_soon": (None, []),
        "section_overdue": (None, ["inspection_section_chief"]),
    }


def test_editing_the_policy_never_changes_a_problem_already_climbing_but_new_problems_use_it(world, reporter, staffed):
    before = log(world, reporter, "B")
    policy = EscalationPolicy.objects.get(plant=world.plant, category="quality")
    policy.tiers.filter(level=4).update(after_minutes=10, roles=[Role.WORKSHOP_DIRECTOR])
    policy.ceiling_b = 1
    policy.save()
    after = log(world, reporter, "B")

    assert (before.escalate_at, after.escalate_at) == (at(5), at(10))
    first = sweep(now=at(5))
    assert [(event.problem_id, event.level) for event in first] == [(before.pk, 4)]
    assert told(first[0]) == {"leader", "qe"}

    second = sweep(now=at(10))
    assert [(event.problem_id, event.level) for event in second] == [(after.pk, 4)]
    assert told(second[0]) == {"director"}

    for minutes in (30, 60, 120):
        sweep(now=at(minutes))
    assert tiers_fired(before) == [4, 3]  # B still stops at level 3, as when it was graded
    assert tiers_fired(after) == [4, 3, 2, 1]  # the new problem took the edited ceiling


# Who is told -----------------------------------------------------------------------------------


def test_recipients_are_the_holders_for_that_line_workshop_and_plant_only(
    world, other_world, reporter, staffed, outsider
):
    make_person("leader_a2", Role.TEAM_LEADER, plant=world.plant, line=world.line_a2)
    make_person("leader_m1", Role.TEAM_LEADER, plant=world.plant, line=world.line_m1)
    make_person("qe_m1", Role.QUALITY_ENGINEER, plant=world.plant, line=world.line_m1)
    make_person("director_mach", Role.WORKSHOP_DIRECTOR, plant=world.plant, workshop=world.machining)
    make_person("gm_other", Role.GENERAL_MANAGER, plant=other_world.plant)
    make_person("pm_other", Role.PRODUCTION_MANAGER, plant=other_world.plant)
    make_person("qm", Role.QUALITY_MANAGER, plant=world.plant)
    problem = log(world, reporter, "A")

    events = sweep(now=at(120))

    assert {event.level: told(event) for event in events} == {
        4: {"leader", "qe"},
        3: {"director", "chief"},
        2: {"pm", "qm"},
        1: {"gm"},
    }
    assert all(not event.fell_through and event.missing_roles == [] for event in events)
    assert tiers_fired(problem) == [4, 3, 2, 1]


def test_a_tier_partly_held_reaches_who_holds_it_and_names_the_missing_role(
    world, reporter, team_leader, workshop_director
):
    log(world, reporter, "C")

    (event,) = sweep(now=at(5))

    assert told(event) == {"leader"}
    assert (event.missing_roles, event.fell_through) == (["quality_engineer"], False)


# (people present, who level 4 reaches, roles named missing)
FALL_THROUGH = [
    pytest.param(["director"], {"director"}, id="no line people: the workshop director is told"),
    pytest.param(["pm", "gm"], {"pm"}, id="nobody at line or workshop: the managers are told"),
    pytest.param(["gm"], {"gm"}, id="only the general manager: he is told"),
    pytest.param([], set(), id="nobody at all: the event records that nobody was reached"),
]


@pytest.mark.parametrize(("present", "reached"), FALL_THROUGH)
def test_a_tier_nobody_holds_falls_through_to_the_next_holder_up_and_says_so(world, reporter, present, reached):
    roles = {"director": Role.WORKSHOP_DIRECTOR, "pm": Role.PRODUCTION_MANAGER, "gm": Role.GENERAL_MANAGER}
    for name in present:
        workshop = world.assembly if name == "director" else None
        make_person(name, roles[name], plant=world.plant, workshop=workshop)
    make_person("leader_a2", Role.TEAM_LEADER, plant=world.plant, line=world.line_a2)  # wrong line: not a holder
    log(world, reporter, "C")

    (event,) = sweep(now=at(5))

    assert (event.level, told(event), event.fell_through) == (4, reached, True)
    assert event.missing_roles == ["team_leader", "quality_engineer"]


def test_a_deactivated_team_leader_is_not_told_and_the_tier_falls_through(
    world, reporter, team_leader, workshop_director
):
    team_leader.is_active = False
    team_leader.save()
    log(world, reporter, "C")

    (event,) = sweep(now=at(5))

    assert (told(event), event.fell_through) == ({"director"}, True)


def test_a_person_holding_two_roles_of_a_tier_is_told_once_and_no_role_is_missing(world, reporter, team_leader):
    from issues.common.scope import assign_role

    assign_role(team_leader, Role.QUALITY_ENGINEER, plant=world.plant, line=world.line_a1)
    log(world, reporter, "C")

    (event,) = sweep(now=at(5))

    assert [person["username"] for person in event.recipients] == ["leader"]
    assert (event.missing_roles, event.fell_through) == ([], False)


# The other alarms ------------------------------------------------------------------------------


def alarms(problem: Problem) -> list[str]:
    return list(problem.escalation_events.exclude(kind="tier").order_by("pk").values_list("kind", flat=True))


def test_no_owner_after_two_days_alarms_the_quality_section_chief(world, reporter, staffed):
    problem = log(world, reporter, "C")
    assert problem.alarm_at == at(2 * DAY)

    sweep(now=at(2 * DAY, seconds=-1))
    assert alarms(problem) == []

    events = [event for event in sweep(now=at(2 * DAY)) if event.kind != "tier"]

    assert [(event.kind, event.level, told(event)) for event in events] == [("no_owner", 0, {"chief"})]
    assert events[0].channels == ["inapp", "sms"]
    problem = fresh(problem)
    assert (problem.alarms_fired, problem.alarm_at) == (["no_owner"], at(7 * DAY))
    assert [event.kind for event in sweep(now=at(2 * DAY + 1))] == []


def test_an_alarm_nobody_holds_goes_to_the_managers_and_is_flagged(
    world, reporter, team_leader, production_manager, general_manager
):
    log(world, reporter, "C")

    events = [event for event in sweep(now=at(2 * DAY)) if event.kind != "tier"]

    assert [(event.kind, told(event), event.fell_through) for event in events] == [("no_owner", {"pm"}, True)]
    assert events[0].missing_roles == ["inspection_section_chief"]


def test_a_problem_with_an_owner_raises_no_no_owner_alarm(world, reporter, team_leader, staffed):
    problem = log(world, reporter, "C")
    problem.owner = team_leader
    problem.save()

    sweep(now=at(2 * DAY))

    assert alarms(problem) == []
    assert fresh(problem).alarm_at == at(7 * DAY)  # the week alarm is still to come


def test_a_problem_unresolved_after_a_week_is_reported_upward(world, reporter, team_leader, staffed):
    problem = log(world, reporter, "C")
    contain(problem, action="Sorted", done_by="Leader", quantity_secured=3, user=team_leader, now=at(2))

    sweep(now=at(7 * DAY, seconds=-1))
    assert alarms(problem) == ["no_owner"]  # containment does not answer "who owns this"

    events = sweep(now=at(7 * DAY))

    assert [(event.kind, told(event)) for event in events] == [("unresolved_week", {"chief", "pm"})]
    assert fresh(problem).alarm_at is None


def test_a_problem_logged_a_week_late_raises_both_timed_alarms_in_one_sweep(world, reporter, staffed):
    problem = log(world, reporter, "C")

    sweep(now=at(8 * DAY))

    assert alarms(problem) == ["no_owner", "unresolved_week"]


def test_a_closed_problem_raises_no_alarms_until_it_is_reopened(world, reporter, team_leader, staffed):
    problem = log(world, reporter, "C")
    close_without_eightd(problem, user=team_leader, now=at(60))

    sweep(now=at(3 * DAY))
    assert alarms(problem) == []

    reopen(problem, user=team_leader, reason="customer complaint", now=at(3 * DAY))
    assert fresh(problem).alarm_at == at(2 * DAY)
    sweep(now=at(3 * DAY))
    assert alarms(problem) == ["no_owner"]


def test_an_answer_rejected_twice_alarms_the_deputy_gm_once_however_often_it_is_raised(world, reporter, staffed):
    make_person("dgm", Role.DEPUTY_GENERAL_MANAGER, plant=world.plant)
    problem = log(world, reporter, "C")

    first = raise_alarm(problem, "rejected_twice", now=at(3 * 60))
    second = raise_alarm(problem, "rejected_twice", now=at(4 * 60))

    assert (first.kind, first.level, told(first), first.fired_at) == ("rejected_twice", 0, {"dgm"}, at(3 * 60))
    assert second is None
    assert alarms(problem) == ["rejected_twice"]


# Robustness and the ledger ---------------------------------------------------------------------


def test_a_row_that_raises_is_pushed_forward_a_minute_and_the_sweep_goes_on(world, reporter, staffed, caplog):
    broken = log(world, reporter, "A")
    healthy = log(world, reporter, "A")
    Problem.objects.filter(pk=broken.pk).update(escalation_plan={"ceilings": {"A": 1}, "tiers": [{"level": "four"}]})

    with caplog.at_level(logging.ERROR, logger="escalation.sweep"):
        events = sweep(now=at(5))

    assert [(event.problem_id, event.level) for event in events] == [(healthy.pk, 4)]
    broken = fresh(broken)
    assert (broken.escalation_level, broken.escalate_at) == (5, at(6))
    assert f"escalation of problem {broken.pk} failed" in caplog.text

    assert sweep(now=at(5, seconds=30)) == []  # not retried before its minute is up
    assert sweep(now=at(6)) == []
    assert fresh(broken).escalate_at == at(7)

    Problem.objects.filter(pk=broken.pk).update(escalation_plan=healthy.escalation_plan)  # repaired
    assert [(event.problem_id, event.level) for event in sweep(now=at(7))] == [(broken.pk, 4)]


def test_the_sweep_records_its_last_run(world, reporter, staffed):
    log(world, reporter, "A")
    log(world, reporter, "C")
    started = timezone.now()

    sweep(now=at(30))
    run = SweepRun.objects.get(name="sweep")
    assert run.fired == 3
    assert run.last_run_at >= started

    sweep(now=at(30))
    assert SweepRun.objects.count() == 1
    assert SweepRun.objects.get(name="sweep").fired == 0


def test_a_problem_not_yet_due_or_already_swept_is_left_alone(world, reporter, staffed):
    problem = log(world, reporter, "A")

    assert escalate_one(problem.pk, at(4)) == []
    assert levels(escalate_one(problem.pk, at(5))) == [4]
    assert escalate_one(problem.pk, at(5)) == []


def test_the_ledger_holds_one_event_per_problem_kind_and_level(world, reporter, staffed):
    problem = log(world, reporter, "A")
    sweep(now=at(5))

    with pytest.raises(IntegrityError), transaction.atomic():
        EscalationEvent.objects.create(problem=problem, kind="tier", level=4, due_at=at(5), fired_at=at(6))

    EscalationEvent.objects.create(problem=problem, kind="no_owner", level=4, due_at=at(5), fired_at=at(6))
    assert problem.escalation_events.count() == 2
