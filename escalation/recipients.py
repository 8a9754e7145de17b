"""Who holds a role for a problem: the team leader of its line, the director of its workshop,
the plant's managers. A tier nobody holds falls through to the next tier up."""

from __future__ import annotations

from django.db.models import Q

from escalation import ladder
from issues.models import RoleAssignment


def holders(problem, roles) -> list[dict]:
    return _holders(problem, roles)[0]


def _holders(problem, roles) -> tuple[list[dict], set[str]]:
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
        profile = getattr(assignment.user, "profile", None)
        found.append(
            {
                "user": assignment.user_id,
                "username": assignment.user.get_username(),
                "name": (profile.display_name if profile else "") or assignment.user.get_username(),
                "role": assignment.role,
            }
        )
    return found, held


def resolve(problem, step: ladder.Step, plan: dict) -> tuple[list[dict], list[str], bool]:
    """(recipients, roles nobody holds, fell through). An empty tier goes to the next one up;
    an alarm nobody holds goes to the managers' tier, then the general manager's."""
    recipients, held = _holders(problem, step.roles)
    missing = [role for role in step.roles if role not in held]
    if recipients:
        return recipients, missing, False
    for level in range(step.level - 1, 0, -1) if step.kind == "tier" else (2, 1):
        higher = ladder.tier(plan, level)
        if higher and (recipients := holders(problem, higher.roles)):
            return recipients, missing, True
    return [], missing, True
