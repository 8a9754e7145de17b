"""Who sees and does what: a user's role assignments give a set of plants, workshops and lines.

Every view and API endpoint narrows its querysets through `scope_filter`, so a person from
another plant (or another line, for a line-scoped role) sees nothing outside their scope.

A right is a permission of a role's Django group (ROLE_PERMISSIONS seeds them; an edit of the
group in the admin counts) and holds only within that role's own scope: `holds(user, perm, obj)`
asks whether some assignment of a role carrying `perm` covers the object's place
(issues.models.place). A quality engineer of one plant who is a team leader of a line of
another closes problems in the first plant only. The authentication backend
(issues.common.backends) answers `user.has_perm(perm, obj)` the same way.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db.models import Q, QuerySet

from issues.models import Lesson, Line, Plant, Problem, Role, RoleAssignment, Workshop
from issues.models.place import PlacePath, id_at, place_path_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.db.models import Model

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
# The chair of a QRQC meeting (docs/people-and-rights.md §Rights) assigns owners and closure dates.
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
    """Places: whole plants, workshops (with their lines) and single lines."""

    plant_ids: frozenset[int]
    workshop_ids: frozenset[int]
    line_ids: frozenset[int]
    everything: bool = False

    @property
    def empty(self) -> bool:
        return not (self.everything or self.plant_ids or self.workshop_ids or self.line_ids)

    def covers(self, obj: Model) -> bool:
        """Whether `obj` lies in the scope, by its model's place (issues.models.place): a plant
        covers everything in it, a workshop its own things and its lines', a line its own.
        The ids the row holds itself are compared first: a match there needs no query."""
        if self.everything:
            return True
        path = place_path_of(obj)
        if path is None or self.empty:
            return False
        held = {"plant": self.plant_ids, "workshop": self.workshop_ids, "line": self.line_ids}
        return any(held[level] and id_at(obj, lookup) in held[level] for level, lookup in path.by_hops())

    def q(self, path: PlacePath) -> Q:
        """The rows (reached through `path`) that lie in the scope."""
        if self.everything:
            return Q()
        branches = (
            (path.line, self.line_ids),
            (path.workshop, self.workshop_ids),
            (path.plant, self.plant_ids),
        )
        # Only the kinds of place the user has: an empty IN still costs every query its compilation
        # (and a join) for a branch that can never match.
        wanted = [Q(**{f"{lookup}__in": sorted(ids)}) for lookup, ids in branches if lookup and ids]
        return functools.reduce(operator.or_, wanted) if wanted else Q(pk__in=[])


NOTHING = Scope(frozenset(), frozenset(), frozenset())
EVERYTHING = Scope(frozenset(), frozenset(), frozenset(), everything=True)


def _scope(places) -> Scope:
    plants, workshops, lines = set(), set(), set()
    for plant_id, workshop_id, line_id in places:
        if line_id:
            lines.add(line_id)
        elif workshop_id:
            workshops.add(workshop_id)
        else:
            plants.add(plant_id)
    return Scope(frozenset(plants), frozenset(workshops), frozenset(lines))


class Grants:
    """A user's role assignments and what each role's group carries, read once per request
    (two queries: the assignments, then the roles' permissions when one is first asked)."""

    def __init__(self, user: User) -> None:
        self.assignments = list(
            RoleAssignment.objects.filter(user=user).values_list("role", "plant_id", "workshop_id", "line_id")
        )
        self._permissions: dict[str, frozenset[str]] | None = None
        self._scopes: dict[str | None, Scope] = {}

    def permissions(self) -> dict[str, frozenset[str]]:
        """role → "app_label.codename" its group carries. Permissions over models that belong to
        no plant (users, groups, tokens) are left out: a role cannot hold them within a scope."""
        if self._permissions is None:
            held: dict[str, set[str]] = {role: set() for role, *_place in self.assignments}
            rows = (
                Permission.objects.filter(group__name__in=list(held)).values_list(
                    "group__name", "content_type__app_label", "content_type__model", "codename"
                )
                if held
                else []
            )
            for role, app_label, model_name, codename in rows:
                try:
                    model = apps.get_model(app_label, model_name)
                except LookupError:
                    continue
                if place_path_of(model) is not None:
                    held[role].add(f"{app_label}.{codename}")
            self._permissions = {role: frozenset(codes) for role, codes in held.items()}
        return self._permissions

    def scope(self, perm: str | None) -> Scope:
        if perm not in self._scopes:
            if perm is None:
                places = [place for _role, *place in self.assignments]
            else:
                carried = self.permissions()
                places = [place for role, *place in self.assignments if perm in carried[role]]
            self._scopes[perm] = _scope(places)
        return self._scopes[perm]


def _grants(user: User) -> Grants:
    grants = getattr(user, "_qrqc_grants", None)
    if grants is None:
        # Kept on the user object for the request; through its __dict__, as User declares no such attribute.
        grants = vars(user)["_qrqc_grants"] = Grants(user)
    return grants


def scope_of(user: User | AnonymousUser, perm: str | None = None) -> Scope:
    """Where the user holds a role: any role (what they see), or, given a permission
    ("issues.close_problem"), a role whose group carries it (where they may do it)."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if user.is_superuser:
        return EVERYTHING
    return _grants(user).scope(perm)


def holds(user: User | AnonymousUser, perm: str, obj: Model) -> bool:
    """Whether the user holds, over `obj`'s place, a role whose group carries `perm`."""
    return scope_of(user, perm).covers(obj)


def held_permissions(user: User | AnonymousUser) -> set[str]:
    """Every permission the user holds somewhere (menus and the admin index, never the last
    word on an object)."""
    if not user.is_authenticated or not user.is_active:
        return set()
    grants = _grants(user)
    return set().union(*(grants.permissions()[role] for role, *_place in grants.assignments))


def scope_filter(
    user: User | AnonymousUser, *, line_path: str = "line", plant_path: str = "", perm: str | None = None
) -> Q:
    """A Q object that keeps rows whose line (reached through `line_path`) is in the scope.
    `plant_path` names the row's own plant where it has one (Problem.plant): a plant-wide role
    then needs no join through the line and its workshop."""
    prefix = f"{line_path}__" if line_path else ""
    path = PlacePath(
        plant=plant_path or f"{prefix}workshop__plant", workshop=f"{prefix}workshop", line=line_path or "pk"
    )
    return scope_of(user, perm).q(path)


def visible_lines(user: User | AnonymousUser, perm: str | None = None) -> QuerySet[Line]:
    return Line.objects.filter(scope_filter(user, line_path="", perm=perm)).select_related("workshop__plant")


def visible_plants(user: User | AnonymousUser, perm: str | None = None) -> QuerySet[Plant]:
    """Plants where the user holds a role (one carrying `perm`, if given) at any level."""
    scope = scope_of(user, perm)
    if scope.everything:
        return Plant.objects.all()
    return Plant.objects.filter(
        Q(pk__in=scope.plant_ids) | Q(workshops__in=scope.workshop_ids) | Q(workshops__lines__in=scope.line_ids)
    ).distinct()


def visible_problems(user: User | AnonymousUser) -> QuerySet[Problem]:
    """Problems where the user holds a role that reads them (every role does, unless an
    admin took the right from its group)."""
    return Problem.objects.filter(scope_of(user, "issues.view_problem").q(Problem.place_path))


def visible_lessons(user: User | AnonymousUser) -> QuerySet[Lesson]:
    """The lessons of the plants where the user holds a role."""
    return Lesson.objects.filter(plant__in=visible_plants(user).values("pk"))


def can_see_line(user: User | AnonymousUser, line: Line) -> bool:
    return scope_of(user).covers(line)


def assign_role(
    user: User, role: str, *, plant: Plant, workshop: Workshop | None = None, line: Line | None = None
) -> RoleAssignment:
    if line is not None:
        workshop = line.workshop
    assignment, _ = RoleAssignment.objects.get_or_create(
        user=user, role=role, plant=plant, workshop=workshop, line=line
    )
    sync_user_groups(user)
    return assignment


def sync_user_groups(user: User) -> None:
    """A user is in exactly the role groups of the roles they hold somewhere."""
    held = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
    role_groups = Group.objects.filter(name__in=Role.values)
    user.groups.remove(*[group for group in role_groups if group.name not in held])
    user.groups.add(*[Group.objects.get_or_create(name=role)[0] for role in held])
    vars(user).pop("_qrqc_grants", None)  # the cached assignments and rights are stale now


def sync_role_groups(**_kwargs: object) -> None:
    """One Django group per role, carrying ROLE_PERMISSIONS (run after every migrate)."""
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = Q(pk__in=[])
        for code in codes:
            app_label, codename = code.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.filter(wanted))
