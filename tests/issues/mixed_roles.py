"""Two plants and people holding roles in both, as the rights-per-scope tests need them: a right
comes from a role and holds only within that role's scope.

    sz1, xa2 = two_plants()
    dual = qe_of_xa2_leading_sz1_a1(sz1, xa2)   # quality engineer of XA2, team leader of SZ1 a1
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Group, Permission

from issues.common.scope import assign_role
from issues.eightd.rules import CHECKLIST
from issues.models import Problem, Role
from issues.problems import lifecycle
from tests.conftest import Plantworld, build_plant, make_person
from tests.issues.eightd_factory import OCCURRED, graded_problem

SZ1_NAMES = ("Suzhou Plant 1", "苏州一厂")


def two_plants() -> tuple[Plantworld, Plantworld]:
    return build_plant("sz1", *SZ1_NAMES), build_plant("xa2", "Xian Plant 2", "西安二厂")


def staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def qe_of_xa2_leading_sz1_a1(sz1: Plantworld, xa2: Plantworld):
    """The issue's person: quality engineer of plant XA2, team leader of SZ1's line a1, on the staff."""
    user = make_person("dual", Role.QUALITY_ENGINEER, plant=xa2.plant)
    assign_role(user, Role.TEAM_LEADER, plant=sz1.plant, line=sz1.line_a1)
    return staff(user)


def take_from_role(role: str, *codenames: str) -> None:
    """An admin's edit of a role's group: the role no longer carries these permissions."""
    Group.objects.get(name=role).permissions.remove(*Permission.objects.filter(codename__in=codenames))


def give_to_role(role: str, *codenames: str) -> None:
    Group.objects.get(name=role).permissions.add(*Permission.objects.filter(codename__in=codenames))


def contained(line, reporter, grade: str = "C", *, occurred_at: dt.datetime = OCCURRED) -> Problem:
    """A problem on `line` whose containment is recorded: it may be closed, cancelled, moved on."""
    problem = graded_problem(line, reporter, grade, occurred_at=occurred_at)
    lifecycle.contain(problem, action="Sorted the batch", done_by="line", quantity_secured=20, user=reporter)
    return Problem.objects.get(pk=problem.pk)


def checklist_post() -> dict:
    """The close form's D7 checklist, every document not applicable with a reason."""
    data = {}
    for item in CHECKLIST:
        data[f"close-{item}_status"] = "na"
        data[f"close-{item}_reason"] = "no such document for this part"
    return data
