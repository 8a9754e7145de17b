"""State changes of a problem as verb functions (views, API, admin and tasks call these).

This holds what escalation needs: containment stops the climb, closing stops it and the
alarms, reopening restarts both from where the problem stands. The full lifecycle of the
problem-solving issue builds on these.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from escalation import ladder
from escalation import tasks as escalation_tasks
from escalation.models import Notification
from issues.models import Containment, Problem


def _locked(problem: Problem) -> Problem:
    return Problem.objects.select_for_update().get(pk=problem.pk)


def stop_repeat_calls(problem: Problem) -> None:
    """Calls repeat until someone answers; a contained or closed problem needs no more."""
    Notification.objects.filter(event__problem=problem, repeat_at__isnull=False).update(repeat_at=None)


def contain(
    problem: Problem, *, action: str, done_by: str, quantity_secured: int, user, now: dt.datetime | None = None
) -> Containment:
    """Record an effective temporary action. The first one stops the escalation clock."""
    now = now or timezone.now()
    with transaction.atomic():
        problem = _locked(problem)
        containment = Containment.objects.create(
            problem=problem,
            action=action,
            done_by=done_by,
            quantity_secured=quantity_secured,
            recorded_at=now,
            recorded_by=user,
        )
        if problem.contained_at is None:
            problem.contained_at = now
            if problem.status == Problem.Status.OPEN:
                problem.status = Problem.Status.CONTAINED
            problem.escalate_at = None
            problem._change_reason = "containment recorded"
            problem.save(update_fields=["contained_at", "status", "escalate_at"])
            stop_repeat_calls(problem)
    return containment


def close(problem: Problem, *, user, now: dt.datetime | None = None) -> Problem:
    now = now or timezone.now()
    with transaction.atomic():
        problem = _locked(problem)
        problem.status, problem.closed_at = Problem.Status.CLOSED, now
        problem.escalate_at = problem.alarm_at = None
        problem._change_reason = "closed"
        problem.save(update_fields=["status", "closed_at", "escalate_at", "alarm_at"])
        stop_repeat_calls(problem)
    return problem


def reopen(problem: Problem, *, user, reason: str, now: dt.datetime | None = None) -> Problem:
    """Back to open, not contained: the climb goes on from the level it had reached (a tier
    already overdue fires at the next sweep) and the alarms not yet raised come back."""
    with transaction.atomic():
        problem = _locked(problem)
        problem.status, problem.closed_at, problem.contained_at = Problem.Status.OPEN, None, None
        plan = problem.escalation_plan
        problem.escalate_at = ladder.next_escalation_at(
            plan, problem.grade, problem.occurred_at, problem.escalation_level
        )
        problem.alarm_at = ladder.next_alarm_at(plan, problem.occurred_at, problem.alarms_fired)
        problem._change_reason = f"reopened: {reason}"[:100]
        problem.save(update_fields=["status", "closed_at", "contained_at", "escalate_at", "alarm_at"])
        transaction.on_commit(escalation_tasks.kick)
    return problem
