from django.contrib.auth import get_user_model
from django.core.management import call_command

from issues.models import Line, Plant, Problem, Role, RoleAssignment, Shift


def test_seed_demo_builds_a_realistic_plant_with_graded_history(db):
    call_command("seed_demo", days=7)
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
    assert problems.count() >= 7
    assert set(problems.values_list("grade", flat=True)) <= {"A", "B", "C"}
    assert problems.exclude(threshold_table__plant=plant).count() == 0
    assert get_user_model().objects.get(username="leader.a1").check_password("qrqc-demo")


def test_seed_demo_twice_adds_nothing(db):
    call_command("seed_demo", days=2)
    count = Problem.objects.count()
    call_command("seed_demo", days=2)
    assert Problem.objects.count() == count


def test_the_demo_history_has_a_ledger_and_three_problems_climb_live(db):
    from escalation.models import EscalationEvent, Notification

    call_command("seed_demo", days=3)

    climbing = Problem.objects.filter(escalate_at__isnull=False)
    assert climbing.count() == 3
    assert set(climbing.values_list("status", flat=True)) == {"open"}
    past = Problem.objects.exclude(pk__in=climbing)
    assert past.filter(contained_at__isnull=True).count() == 0
    assert EscalationEvent.objects.filter(problem__in=past).exists()
    assert not EscalationEvent.objects.filter(expanded_at__isnull=True).exists()  # history is not re-sent
    assert not Notification.objects.exists()
