"""Who sees what: a user's role assignments give a set of plants, workshops and lines.

Every view and API endpoint narrows its querysets through `scope_filter`, so a person from
another plant (or another line, for a line-scoped role) sees nothing outside their scope.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db.models import Q

from issues.models import Line, Plant, Role, RoleAssignment

# Permissions each role's group carries (app_label.codename). Everyone in the plant may
# report and read problems; the quality department curates the plant's lists and tables.
EVERYONE = {"issues.view_problem", "issues.add_problem", "issues.view_eightdreport", "issues.view_meeting"}
ROLE_PERMISSIONS: dict[str, set[str]] = {role: set(EVERYONE) for role in Role.values}
for curator in (Role.QUALITY_MANAGER, Role.QUALITY_ENGINEER, Role.INSPECTION_SECTION_CHIEF):
    ROLE_PERMISSIONS[curator] |= {
        "issues.view_thresholdtable",
        "issues.add_thresholdtable",
        "issues.change_thresholdtable",
        "issues.view_thresholdrule",
        "issues.add_thresholdrule",
        "issues.change_thresholdrule",
        "issues.delete_thresholdrule",
        "issues.view_failuremode",
        "issues.add_failuremode",
        "issues.change_failuremode",
        "issues.review_eightdreport",
        "issues.close_problem",
        "issues.view_lesson",
        "issues.change_lesson",
        "issues.view_solvingpolicy",
        "issues.change_solvingpolicy",
        "issues.view_sectiondeadline",
        "issues.change_sectiondeadline",
        # Corrections to a meeting's sign-in sheet (admin; each one kept in its history).
        "issues.change_meeting",
    }
# The chair of a QRQC meeting (DOMAIN.md §1, §5) assigns owners and closure dates.
for chair in (
    Role.QUALITY_MANAGER,
    Role.QUALITY_ENGINEER,
    Role.INSPECTION_SECTION_CHIEF,
    Role.WORKSHOP_DIRECTOR,
    Role.PRODUCTION_MANAGER,
    Role.DEPUTY_GENERAL_MANAGER,
    Role.GENERAL_MANAGER,
):
    ROLE_PERMISSIONS[chair] |= {"issues.assign_problem", "issues.run_meeting"}


@dataclass(frozen=True)
class Scope:
    plant_ids: frozenset[int]
    workshop_ids: frozenset[int]
    line_ids: frozenset[int]
    everything: bool = False

    @property
    def empty(self) -> bool:
        return not (self.everything or self.plant_ids or self.workshop_ids or self.line_ids)


def scope_of(user) -> Scope:
    if not user.is_authenticated or not user.is_active:
        return Scope(frozenset(), frozenset(), frozenset())
    cached = getattr(user, "_qrqc_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = Scope(frozenset(), frozenset(), frozenset(), everything=True)
    else:
        plants, workshops, lines = set(), set(), set()
        for plant_id, workshop_id, line_id in RoleAssignment.objects.filter(user=user).values_list(
            "plant_id", "workshop_id", "line_id"
        ):
            if line_id:
                lines.add(line_id)
            elif workshop_id:
                workshops.add(workshop_id)
            else:
                plants.add(plant_id)
        scope = Scope(frozenset(plants), frozenset(workshops), frozenset(lines))
    user._qrqc_scope = scope
    return scope


def scope_filter(user, *, line_path: str = "line", plant_path: str = "") -> Q:
    """A Q object that keeps rows whose line (reached through `line_path`) is in the scope.
    `plant_path` names the row's own plant where it has one (Problem.plant): a plant-wide role
    then needs no join through the line and its workshop."""
    scope = scope_of(user)
    if scope.everything:
        return Q()
    if scope.empty:
        return Q(pk__in=[])
    prefix = f"{line_path}__" if line_path else ""
    branches = (
        (f"{line_path or 'pk'}__in", scope.line_ids),
        (f"{prefix}workshop__in", scope.workshop_ids),
        (f"{plant_path}__in" if plant_path else f"{prefix}workshop__plant__in", scope.plant_ids),
    )
    # Only the kinds of place the user has: an empty IN still costs every query its compilation
    # (and a join) for a branch that can never match.
    return functools.reduce(operator.or_, (Q(**{lookup: sorted(ids)}) for lookup, ids in branches if ids))


def visible_lines(user):
    return Line.objects.filter(scope_filter(user, line_path="")).select_related("workshop__plant")


def visible_plants(user):
    scope = scope_of(user)
    if scope.everything:
        return Plant.objects.all()
    return Plant.objects.filter(
        Q(pk__in=scope.plant_ids) | Q(workshops__in=scope.workshop_ids) | Q(workshops__lines__in=scope.line_ids)
    ).distinct()


def can_see_line(user, line: Line) -> bool:
    scope = scope_of(user)
    return scope.everything or (
        line.pk in scope.line_ids or line.workshop_id in scope.workshop_ids or line.workshop.plant_id in scope.plant_ids
    )


def can_see_plant(user, plant: Plant) -> bool:
    return visible_plants(user).filter(pk=plant.pk).exists()


def assign_role(user, role: str, *, plant: Plant, workshop=None, line=None) -> RoleAssignment:
    if line is not None:
        workshop = line.workshop
    assignment, _ = RoleAssignment.objects.get_or_create(
        user=user, role=role, plant=plant, workshop=workshop, line=line
    )
    sync_user_groups(user)
    return assignment


def sync_user_groups(user) -> None:
    """A user is in exactly the role groups of the roles they hold somewhere."""
    held = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
    role_groups = Group.objects.filter(name__in=Role.values)
    user.groups.remove(*[group for group in role_groups if group.name not in held])
    user.groups.add(*[Group.objects.get_or_create(name=role)[0] for role in held])
    for cached in ("_qrqc_scope", "_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cached, None)


def sync_role_groups(**_kwargs) -> None:
    """One Django group per role, carrying ROLE_PERMISSIONS (run after every migrate)."""
    from django.contrib.auth.models import Permission

    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = Q(pk__in=[])
        for code in codes:
            app_label, codename = code.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.filter(wanted))
