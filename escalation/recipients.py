"""Who holds a role for a problem: the team leader of its line, the director of its workshop,
the plant's managers. A tier nobody holds falls through to the next tier up."""

from __future__ import annotations

from django.db.models import Q

from escalation import ladder
from issues.models import RoleAssignment


def holders(problem, roles) -> list[dict]:
    line = problem.line
    covering = (
        Q(line=line) | Q(workshop_id=line.workshop_id, line__isnull=True) | Q(workshop__isnull=True, line__isnull=True)
    )
    found, seen = [], set()
    assignments = (
        RoleAssignment.objects.filter(covering, plant_id=problem.plant_id, role__in=roles, user__is_active=True)
        .select_related("user__profile")
        .order_by("user_id")
    )
    for assignment in sorted(assignments, key=lambda item: list(roles).index(item.role)):
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
    return found


def resolve(problem, step: ladder.Step, plan: dict) -> tuple[list[dict], list[str], bool]:
    """(recipients, roles nobody holds, fell through). An empty tier goes to the next one up."""
    recipients = holders(problem, step.roles)
    missing = [role for role in step.roles if role not in {person["role"] for person in recipients}]
    if recipients:
        return recipients, missing, False
    for level in range(step.level - 1, 0, -1) if step.kind == "tier" else ():
        higher = ladder.tier(plan, level)
        if higher and (recipients := holders(problem, higher.roles)):
            return recipients, missing, True
    return [], missing, True
