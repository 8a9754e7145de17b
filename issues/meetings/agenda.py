"""The daily QRQC meeting's rules (docs/meeting.md §The meeting), pure: which agenda group a problem falls in,
the agenda's order, and who is expected at the meeting. issues.meetings.meeting runs them on the ORM.

The agenda: first the new problems of the past 24 hours in the quality department's list
(customer concerns, supplier concerns, line stops, repeats, scrap over target, findings of
verification stations, findings of layered audits, other internal problems), then overdue 8D
sections, then items due today, then escalations fired since the last meeting, then problems
that call for a special team (3 occurrences in 3 months). A problem is discussed once, under
the first group it falls in; the others are shown as its reasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from issues.models import Role, Source

NEW_GROUPS = (
    "customer",
    "supplier",
    "line_stop",
    "repeat",
    "scrap",
    "verification_station",
    "layered_audit",
    "other",
)
FOLLOW_UP_GROUPS = ("overdue_8d", "due_today", "escalated", "special_team")
GROUPS = NEW_GROUPS + FOLLOW_UP_GROUPS
GROUP_LABELS = {
    "customer": _("Customer concerns"),
    "supplier": _("Supplier concerns"),
    "line_stop": _("Line stops"),
    "repeat": _("Repeated problems"),
    "scrap": _("Shift scrap over target"),
    "verification_station": _("Verification station findings"),
    "layered_audit": _("Layered audit findings"),
    "other": _("Other internal problems"),
    "overdue_8d": _("Overdue 8D sections"),
    "due_today": _("Due today"),
    "escalated": _("Escalated since the last meeting"),
    "special_team": _("Special team needed (3 in 3 months)"),
}

# Facts (issues/grading/facts.py) that put a new problem in a group whatever the source says.
CUSTOMER_FACTS = ("customer_complaint", "customer_return_count")
SUPPLIER_FACTS = ("incoming_abnormal",)
STOP_FACTS = ("line_stop_minutes", "downtime_minutes", "interruption_minutes")
SOURCE_GROUPS: dict[str, str] = {
    Source.CUSTOMER: "customer",
    Source.SUPPLIER: "supplier",
    Source.SCRAP_REVIEW: "scrap",
    Source.VERIFICATION_STATION: "verification_station",
    Source.LAYERED_AUDIT: "layered_audit",
}


def _present(value: object) -> bool:
    """A fact counts when it is true or a positive number. Facts arrive as JSON, so a count may be
    a string ("0" is truthy in Python but means no stop at all)."""
    if isinstance(value, bool) or value is None:
        return bool(value)
    if isinstance(value, int | float):
        return value > 0
    if isinstance(value, str):
        try:
            return float(value) > 0
        except ValueError:
            return value.strip().lower() in ("true", "yes", "on")
    return bool(value)


def new_problem_groups(source: str, facts: Mapping[str, object], prior_occurrences: int) -> list[str]:
    """Every group of the quality department's list a new problem belongs to, in list order;
    ["other"] when none."""
    found = set()
    if source in SOURCE_GROUPS:
        found.add(SOURCE_GROUPS[source])
    if any(_present(facts.get(name)) for name in CUSTOMER_FACTS):
        found.add("customer")
    if any(_present(facts.get(name)) for name in SUPPLIER_FACTS):
        found.add("supplier")
    if any(_present(facts.get(name)) for name in STOP_FACTS):
        found.add("line_stop")
    if (prior_occurrences or 0) > 0:
        found.add("repeat")
    if _present(facts.get("poka_yoke_failure")):
        found.add("verification_station")
    return [group for group in NEW_GROUPS if group in found] or ["other"]


def follow_up_groups(
    *, is_open: bool, overdue_8d: bool, due_today: bool, escalated: bool, special_team: bool
) -> list[str]:
    """The follow-up groups of a problem already known; a closed or cancelled problem has none
    (a closure is confirmed under the group that brought the problem to the agenda)."""
    if not is_open:
        return []
    flags = {"overdue_8d": overdue_8d, "due_today": due_today, "escalated": escalated, "special_team": special_team}
    return [group for group in FOLLOW_UP_GROUPS if flags[group]]


@dataclass(frozen=True)
class Candidate:
    """A problem the agenda may hold, with every group it falls in."""

    problem_id: int
    grade: str
    occurred_at: dt.datetime
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    problem_id: int
    group: str
    reasons: tuple[str, ...]
    position: int


def agenda(candidates: Iterable[Candidate]) -> list[Entry]:
    """One entry per problem under its first group; groups in GROUPS order, then grade A
    first, then the oldest first. Candidates of the same problem are merged."""
    merged: dict[int, Candidate] = {}
    for candidate in candidates:
        known = merged.get(candidate.problem_id)
        groups = set(candidate.groups) | (set(known.groups) if known else set())
        merged[candidate.problem_id] = Candidate(
            candidate.problem_id,
            candidate.grade,
            candidate.occurred_at,
            tuple(group for group in GROUPS if group in groups),
        )
    ordered = sorted(
        (candidate for candidate in merged.values() if candidate.groups),
        key=lambda c: (GROUPS.index(c.groups[0]), c.grade, c.occurred_at, c.problem_id),
    )
    return [Entry(c.problem_id, c.groups[0], c.groups, index) for index, c in enumerate(ordered, start=1)]


# --------------------------------------------------------------------------- sign-in sheet

PRODUCTION, QUALITY, MAINTENANCE, ENGINEERING, MANAGEMENT = (
    "production",
    "quality",
    "maintenance",
    "engineering",
    "management",
)
DEPARTMENTS = (MANAGEMENT, PRODUCTION, QUALITY, ENGINEERING, MAINTENANCE)
DEPARTMENT_LABELS = {
    MANAGEMENT: _("Management"),
    PRODUCTION: _("Production"),
    QUALITY: _("Quality"),
    ENGINEERING: _("Engineering"),
    MAINTENANCE: _("Maintenance and utilities"),
}
# Finance holds no role: all departments but finance attend (docs/meeting.md §Differences from the specification).
DEPARTMENT_OF_ROLE: dict[str, str] = {
    Role.OPERATOR: PRODUCTION,
    Role.TEAM_LEADER: PRODUCTION,
    Role.WORKSHOP_DIRECTOR: PRODUCTION,
    Role.PRODUCTION_MANAGER: PRODUCTION,
    Role.QC_INSPECTOR: QUALITY,
    Role.QUALITY_ENGINEER: QUALITY,
    Role.INSPECTION_SECTION_CHIEF: QUALITY,
    Role.QUALITY_MANAGER: QUALITY,
    Role.ENGINEERING_MANAGER: ENGINEERING,
    Role.MAINTENANCE_TECHNICIAN: MAINTENANCE,
    Role.EQUIPMENT_ENGINEER: MAINTENANCE,
    Role.UTILITIES_ENGINEER: MAINTENANCE,
    Role.MAINTENANCE_SECTION_CHIEF: MAINTENANCE,
    Role.DEPUTY_GENERAL_MANAGER: MANAGEMENT,
    Role.GENERAL_MANAGER: MANAGEMENT,
}
# Who is expected (000, QRQC practice): the workshop meeting is run by the workshop director with
# the team leaders, engineers and section chiefs; the plant meeting by the managers.
WORKSHOP_ROLES = (
    Role.WORKSHOP_DIRECTOR,
    Role.TEAM_LEADER,
    Role.QUALITY_ENGINEER,
    Role.EQUIPMENT_ENGINEER,
    Role.UTILITIES_ENGINEER,
    Role.INSPECTION_SECTION_CHIEF,
    Role.MAINTENANCE_SECTION_CHIEF,
)
PLANT_ROLES = (
    Role.GENERAL_MANAGER,
    Role.DEPUTY_GENERAL_MANAGER,
    Role.PRODUCTION_MANAGER,
    Role.QUALITY_MANAGER,
    Role.ENGINEERING_MANAGER,
    Role.WORKSHOP_DIRECTOR,
    Role.INSPECTION_SECTION_CHIEF,
    Role.MAINTENANCE_SECTION_CHIEF,
)


# Seniority for the sign-in sheet: a person holding two expected roles signs once, under the
# senior one. Role lists the roles from the shop floor up (issues.models.plant.Role).
SENIORITY = tuple(Role.values)


def expected_roles(workshop_meeting: bool) -> tuple[str, ...]:
    return WORKSHOP_ROLES if workshop_meeting else PLANT_ROLES


def senior_role(roles: Iterable[str]) -> str:
    """The most senior of `roles` ("" for none); a role unknown to Role ranks lowest."""
    ranked = sorted(roles, key=lambda role: SENIORITY.index(role) if role in SENIORITY else -1)
    return ranked[-1] if ranked else ""


def department_of(role: str) -> str:
    return DEPARTMENT_OF_ROLE.get(role, "")


# --------------------------------------------------------------------------- timer

TARGET_MINUTES = (10, 15)


def timer_state(elapsed: dt.timedelta) -> str:
    """ "ok" within 10 minutes, "closing" from 10 to 15, "over" beyond the 15-minute target."""
    low, high = TARGET_MINUTES
    if elapsed < dt.timedelta(minutes=low):
        return "ok"
    if elapsed <= dt.timedelta(minutes=high):
        return "closing"
    return "over"
