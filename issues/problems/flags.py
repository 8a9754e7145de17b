"""What the problem lists, the board and the meeting mark on a problem: no owner for days, the
closure date passed, how long ago it occurred."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from escalation import ladder
from escalation.models import AlarmKind
from issues.models import Problem

Status = Problem.Status
FINISHED = (Status.CLOSED, Status.CANCELLED)

# A problem with no owner after 2 days alarms the quality section chief. The plant's own delay is
# the no_owner alarm of the plan copied onto the problem (docs/escalation.md §Alarm rules and 8D notices).
NO_OWNER_AFTER = dt.timedelta(days=2)


def no_owner_limit(plan: dict) -> dt.timedelta:
    step = next((step for step in ladder.timed_alarms(plan) if step.kind == AlarmKind.NO_OWNER), None)
    return dt.timedelta(minutes=step.after_minutes) if step else NO_OWNER_AFTER


def days_without_owner(
    *, status: str, has_owner: bool, occurred_at: dt.datetime, plan: dict, now: dt.datetime
) -> int | None:
    """Whole days an open problem has gone without an owner, once the no-owner delay has run
    out (from the limit itself on, as the sweep raises the alarm); None: nothing to flag."""
    if has_owner or status in FINISHED:
        return None
    age = now - occurred_at
    return age.days if age >= no_owner_limit(plan) else None


def closure_overdue(*, status: str, due_date: dt.date | None, today: dt.date) -> bool:
    return due_date is not None and due_date < today and status not in FINISHED


def flag(problems: Iterable[Problem], now: dt.datetime) -> list[Problem]:
    """Mark each problem of a list with `days_without_owner` and `closure_overdue` (its plant,
    selected with it, gives the local day)."""
    problems = list(problems)
    for problem in problems:
        problem.days_without_owner = days_without_owner(
            status=problem.status,
            has_owner=problem.owner_id is not None,
            occurred_at=problem.occurred_at,
            plan=problem.escalation_plan,
            now=now,
        )
        today = timezone.localtime(now, problem.plant.zone).date()
        problem.closure_overdue = closure_overdue(status=problem.status, due_date=problem.due_date, today=today)
    return problems


def overdue_q(zones: Iterable[str], now: dt.datetime) -> Q:
    """Closure date before today in the problem's plant, neither closed nor cancelled.
    `zones`: the plants' time zones; a problem whose plant is in none of them is never overdue."""
    late = Q(pk__in=[])
    for zone in zones:
        late |= Q(plant__timezone=zone, due_date__lt=now.astimezone(ZoneInfo(zone)).date())
    return late & ~Q(status__in=[Status.CLOSED, Status.CANCELLED])


def age_label(age: dt.timedelta) -> str:
    """How long ago, as the board says it: "35 min" under an hour, "3 h" under two days, else "2 d"."""
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 60:
        return gettext("%(minutes)d min") % {"minutes": minutes}
    if minutes < 48 * 60:
        return gettext("%(hours)d h") % {"hours": minutes // 60}
    return gettext("%(days)d d") % {"days": minutes // (24 * 60)}
