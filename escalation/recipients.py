"""Who holds a role for a problem: the team leader of its line, the director of its workshop,
the plant's managers. A tier nobody holds falls through to the next tier up. An 8D notice
reaches the problem's owner and 8D team, and the holders of its rule's roles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from escalation import ladder
from issues.common.people import person_name
from issues.models import RoleAssignment

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from issues.models import EightDReport, Problem

# The "role" recorded for people told of an 8D notice because of the problem, not a role held.
OWNER, EIGHTD_LEADER, EIGHTD_MEMBER = "problem_owner", "eightd_leader", "eightd_member"
TEAM_ROLES = {OWNER: _("Problem owner"), EIGHTD_LEADER: _("8D team leader"), EIGHTD_MEMBER: _("8D team member")}


def holders(problem: Problem, roles: Sequence[str]) -> list[dict]:
    return _holders(problem, roles)[0]


def _holders(problem: Problem, roles: Sequence[str]) -> tuple[list[dict], set[str]]:
    """(people, one entry each, under the first of `roles` they hold; every role somebody holds)."""
    line = problem.line
    covering = (
        Q(line=line) | Q(workshop_id=line.workshop_id, line__isnull=True) | Q(workshop__isnull=True, line__isnull=True)
    )
    found, seen, held = [], set(), set()
    assignments = (
        RoleAssignment.objects.filter(covering, plant_id=problem.plant_id, role__in=roles, user__is_active=True)
        .select_related("user__profile")
        .order_by("user_id")
    )
    for assignment in sorted(assignments, key=lambda item: list(roles).index(item.role)):
        held.add(assignment.role)
        if assignment.user_id in seen:
            continue
        seen.add(assignment.user_id)
        found.append(_entry(assignment.user, assignment.role))
    return found, held


def _entry(user: User, role: str) -> dict:
    return {
        "user": user.pk,
        "username": user.get_username(),
        "name": person_name(user),
        "role": role,
    }


def team(problem: Problem, report: EightDReport) -> list[dict]:
    """The problem's owner, the 8D leader and members, once each, active people only."""
    people = [(problem.owner, OWNER), (report.leader, EIGHTD_LEADER)]
    people += [(member, EIGHTD_MEMBER) for member in report.members.select_related("profile").order_by("pk")]
    found, seen = [], set()
    for user, role in people:
        if user is not None and user.is_active and user.pk not in seen:
            seen.add(user.pk)
            found.append(_entry(user, role))
    return found


def resolve(problem: Problem, step: ladder.Step, plan: dict) -> tuple[list[dict], list[str], bool]:
    """(recipients, roles nobody holds, fell through). An empty tier goes to the next one up;
    an alarm nobody holds goes to the managers' tier, then the general manager's."""
    recipients, held = _holders(problem, step.roles)
    missing = [role for role in step.roles if role not in held]
    if recipients:
        return recipients, missing, False
    return _fall_through(problem, step, plan), missing, True


def resolve_notice(
    problem: Problem, report: EightDReport, step: ladder.Step, plan: dict
) -> tuple[list[dict], list[str], bool]:
    """(recipients, roles nobody holds, fell through) of an 8D notice: the team first, then
    the rule's role holders; with nobody at all it falls through as an alarm does."""
    people = team(problem, report)
    extra, held = _holders(problem, step.roles) if step.roles else ([], set())
    known = {person["user"] for person in people}
    people += [person for person in extra if person["user"] not in known]
    missing = [role for role in step.roles if role not in held]
    if people:
        return people, missing, False
    return _fall_through(problem, step, plan), missing, True


def _fall_through(problem: Problem, step: ladder.Step, plan: dict) -> list[dict]:
    """An empty tier goes to the next one up; an alarm or notice to the managers' tier, then
    the general manager's."""
    for level in range(step.level - 1, 0, -1) if step.kind == "tier" else (2, 1):
        higher = ladder.tier(plan, level)
        if higher and (recipients := holders(problem, higher.roles)):
            return recipients
    return []
