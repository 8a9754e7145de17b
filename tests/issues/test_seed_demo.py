"""`make run` seeds the demo plant: people, three weeks of graded problems and their 8D work."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from escalation.models import EscalationEvent, Notification
from issues.common.people import people_of
from issues.eightd import sections
from issues.eightd.rules import SECTIONS, Timing, timing
from issues.models import EightDReport, Lesson, Line, Plant, Problem, Role, RoleAssignment, Section, Shift
from tests.issues.eightd_factory import as_post

# Enough history for every 8D state the demo shows (the oldest placed problem is 200 hours old).
EIGHTD_DAYS = 9


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """One demo plant for the whole module (seeding takes seconds), rolled back at its end;
    each test's own transaction nests inside, so nothing a test writes outlives it."""
    fast_hashing = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast_hashing, transaction.atomic():
        call_command("seed_demo", days=EIGHTD_DAYS)
        yield timezone.now()
        transaction.set_rollback(True)


@pytest.fixture
def demo(seeded, db):
    return seeded


def test_seed_demo_builds_a_realistic_plant_with_graded_history(demo):
    plant = Plant.objects.get(code="sz1")
    assert plant.name_zh == "苏州一厂"
    assert plant.workshops.count() == 2
    assert Line.objects.filter(workshop__plant=plant).count() == 6
    assert all(line.name_zh for line in Line.objects.filter(workshop__plant=plant))
    shifts = Shift.objects.filter(plant=plant)
    assert shifts.count() == 3
    assert any(shift.crosses_midnight for shift in shifts)
    held = set(RoleAssignment.objects.filter(plant=plant).values_list("role", flat=True))
    assert held == set(Role.values)
    problems = Problem.objects.filter(plant=plant)
    assert problems.count() >= EIGHTD_DAYS
    assert set(problems.values_list("grade", flat=True)) <= {"A", "B", "C"}
    assert problems.exclude(threshold_table__plant=plant).count() == 0
    assert problems.exclude(failure_mode__plant=plant).count() == 0
    assert get_user_model().objects.get(username="leader.a1").check_password("qrqc-demo")
    assert get_user_model().objects.get(username="gm").check_password("qrqc-demo")


def test_seed_demo_twice_adds_nothing(demo):
    def counts():
        return [
            model.objects.count()
            for model in (Problem, EightDReport, Section, Lesson, EscalationEvent, Section.history.model)
        ]

    before = counts()
    call_command("seed_demo", days=EIGHTD_DAYS)
    assert counts() == before


def test_the_demo_history_has_a_ledger_and_three_problems_climb_live(demo):
    climbing = Problem.objects.filter(escalate_at__isnull=False)
    assert climbing.count() == 3
    assert set(climbing.values_list("status", flat=True)) == {"open"}
    past = Problem.objects.exclude(pk__in=climbing)
    assert past.filter(contained_at__isnull=True).count() == 0
    assert EscalationEvent.objects.filter(problem__in=past).exists()
    assert not EscalationEvent.objects.filter(expanded_at__isnull=True).exists()  # history is not re-sent
    assert not Notification.objects.exists()


def states(report: EightDReport) -> dict[str, str]:
    return dict(report.sections.values_list("code", "state"))


def test_older_a_and_b_problems_were_solved_by_8d_and_closed_into_lessons(demo):
    old_ab = Problem.objects.filter(grade__in=["A", "B"], occurred_at__lt=demo - dt.timedelta(days=5))
    author, reviewer = (get_user_model().objects.get(username=name) for name in ("engineer.quality", "manager.quality"))

    assert old_ab.count() >= 3
    assert set(old_ab.values_list("status", flat=True)) == {"closed"}
    for problem in old_ab:
        assert states(problem.eightd) == dict.fromkeys(SECTIONS, "accepted")
        assert problem.lesson.lesson and problem.lesson.root_cause and problem.lesson.actions
    assert Lesson.objects.count() == old_ab.count()
    accepted = Section.objects.filter(state="accepted")
    assert set(accepted.values_list("submitted_by", "reviewed_by").distinct()) == {(author.pk, reviewer.pk)}
    assert not accepted.filter(reviewed_at__gt=demo - dt.timedelta(hours=4)).exists()  # the work is in the past
    returned_once = EightDReport.objects.get(problem__status="closed", returns__gte=1)
    d4 = returned_once.sections.get(code="D4")
    assert (d4.state, d4.returns) == ("accepted", 1)
    assert [record.history_change_reason.split(":")[0] for record in d4.history.order_by("history_date")][-4:] == [
        "submitted for review",
        "returned",
        "submitted for review",
        "accepted",
    ]
    assert d4.history.order_by("history_date").last().history_date == d4.reviewed_at  # dated as it happened
    # "Already known?": the problems climbing on a1 and a2 repeat a lesson of their line.
    live = Problem.objects.filter(status="open", line__code__in=["a1", "a2"])
    assert live.count() == 2
    for problem in live:
        assert Lesson.objects.filter(line=problem.line, failure_mode=problem.failure_mode).exists()


def test_recent_problems_show_8d_work_in_progress_and_one_without_owner(demo):
    policy = Plant.objects.get(code="sz1").solving_policy
    due_soon = dt.timedelta(hours=policy.due_soon_hours)
    in_progress = EightDReport.objects.exclude(problem__status="closed")

    def when(report: EightDReport, code: str) -> Timing:
        section = report.sections.get(code=code)
        return timing(section.state, section.due_at, demo, due_soon)

    waiting, reworked, started = (
        in_progress.get(sections__code="D4", sections__state=state) for state in ("submitted", "returned", "todo")
    )
    assert states(waiting) == {
        **dict.fromkeys(SECTIONS, "todo"),
        **dict.fromkeys(SECTIONS[:4], "accepted"),
        "D4": "submitted",
    }
    assert reworked.returns == 1 and states(reworked)["D3"] == "draft"
    assert when(reworked, "D3") in (Timing.OVERDUE, Timing.DUE_SOON)
    assert states(started) == dict.fromkeys(SECTIONS, "todo")
    assert when(started, "D0") == Timing.OVERDUE
    recent_ab = Problem.objects.filter(grade__in=["A", "B"], status__in=["contained", "analysed"])
    unowned = recent_ab.filter(owner__isnull=True)
    assert unowned.count() == 1
    assert demo - unowned.get().occurred_at > dt.timedelta(days=2)
    assert set(EscalationEvent.objects.filter(kind="no_owner").values_list("problem", flat=True)) == {unowned.get().pk}
    assert not recent_ab.exclude(pk__in=unowned).filter(due_date__isnull=True).exists()
    assert Problem.objects.filter(grade="C", status="closed").exclude(cause_note="").exists()
    assert not Problem.objects.filter(grade="C", status="closed", cause_note="").exists()


def test_every_seeded_answer_is_what_the_section_editor_would_store(demo):
    people = people_of(Plant.objects.get(code="sz1").pk)
    answered = Section.objects.exclude(state="todo")

    assert answered.count() > 9 * 3
    for section in answered:
        complete = section.state != "draft"
        cleaned, form, formsets = sections.clean_section(
            section.code, as_post(section.code, section.content), people=people, complete=complete
        )
        errors = [form.errors, *(formset.errors for formset in formsets.values())]
        assert cleaned == section.content, f"{section} ({section.state}): {errors}"
