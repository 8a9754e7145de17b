"""What a new plant gets from every feature, so that it grades, escalates and solves problems from
its first minute: a copy of the default threshold table, the default escalation policies and
alarms, and the default problem-solving policy with its 8D deadlines. Called where a plant is
created (the admin, the demo seed, the tests' and benchmarks' set-ups)."""

from __future__ import annotations

from escalation.policies import seed_plant_policies
from issues.eightd.rules import seed_solving_policy
from issues.grading.thresholds import copy_default_table
from issues.models import Plant, SectionDeadline, SolvingPolicy, ThresholdTable


def set_up_plant(plant: Plant) -> None:
    """Safe to call again: it adds only what the plant is missing."""
    if not ThresholdTable.objects.filter(plant=plant).exists():
        copy_default_table(plant)
    seed_plant_policies(plant)
    seed_solving_policy(plant, SolvingPolicy, SectionDeadline)
