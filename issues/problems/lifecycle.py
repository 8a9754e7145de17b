"""State changes of a problem as verb functions (views, API, admin, the 8D flow and tasks call
these). Each checks the move against TRANSITIONS, writes only the fields it changes, and leaves
a history record saying who did it and why.

    open ──contain──▶ contained ──record_cause──▶ analysed ──start_actions──▶ acting
      acting ──start_verification──▶ verifying ──close_problem──▶ closed ──reopen──▶ open
      verifying ──verification_failed──▶ acting
      contained / analysed ──close_problem──▶ closed      (grades that need no 8D)
      any state before closed ──cancel_as_duplicate──▶ cancelled

A problem with an 8D report moves through contained…verifying as its sections are accepted
(issues.eightd.solving), not by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from escalation import ladder
from escalation import tasks as escalation_tasks
from escalation.models import Notification
from issues.eightd import rules as eightd
from issues.models import Containment, EightDReport, Lesson, Problem, Section, SectionDeadline, SolvingPolicy

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Status = Problem.Status

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.OPEN: frozenset({Status.CONTAINED, Status.CANCELLED}),
    Status.CONTAINED: frozenset({Status.ANALYSED, Status.CLOSED, Status.CANCELLED}),
    Status.ANALYSED: frozenset({Status.ACTING, Status.CLOSED, Status.CANCELLED}),
    Status.ACTING: frozenset({Status.VERIFYING, Status.CANCELLED}),
    Status.VERIFYING: frozenset({Status.CLOSED, Status.ACTING, Status.CANCELLED}),
    Status.CLOSED: frozenset({Status.OPEN}),
    Status.CANCELLED: frozenset(),
}


class TransitionRefused(Exception):
    """The move is not allowed from the problem's state, or a condition for it is not met."""


def allowed(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def _locked(problem: Problem) -> Problem:
    return Problem.objects.select_for_update().get(pk=problem.pk)


def _check(problem: Problem, target: str, source: str | None = None) -> None:
    """`source`: the one status a verb moves from, where two verbs share a target (verifying
    goes back to acting only as a failed verification, with its reason)."""
    if not allowed(problem.status, target) or source not in (None, problem.status):
        raise TransitionRefused(
            _("A problem that is “%(current)s” cannot become “%(target)s”.")
            % {"current": Status(problem.status).label, "target": Status(target).label}
        )


def _save(problem: Problem, user: User, reason: str, fields: list[str]) -> None:
    problem._change_reason = reason[:100]
    problem._history_user = user
    problem.save(update_fields=fields)


def policy_for(problem: Problem) -> SolvingPolicy:
    policy = SolvingPolicy.objects.filter(plant_id=problem.plant_id).first()
    if policy is None:
        eightd.seed_solving_policy(problem.plant, SolvingPolicy, SectionDeadline)
        policy = SolvingPolicy.objects.get(plant_id=problem.plant_id)
    return policy


def needs_eightd(problem: Problem) -> bool:
    return policy_for(problem).needs_eightd(problem.grade)


def stop_repeat_calls(problem: Problem) -> None:
    """Calls repeat until someone answers; a contained or closed problem needs no more."""
    Notification.objects.filter(event__problem=problem, repeat_at__isnull=False).update(repeat_at=None)


def _mark_contained(problem: Problem, now: dt.datetime) -> list[str]:
    """Stop the escalation clock (the problem row is locked by the caller)."""
    problem.contained_at = now
    problem.escalate_at = None
    stop_repeat_calls(problem)
    return ["contained_at", "escalate_at"]


def contain(
    problem: Problem, *, action: str, done_by: str, quantity_secured: int, user: User, now: dt.datetime | None = None
) -> Containment:
    """Record an effective temporary action. The first one stops the escalation clock."""
    now = now or timezone.now()
    with transaction.atomic():
        problem = _locked(problem)
        if problem.status in Problem.FINISHED:
            raise TransitionRefused(_("The problem is already closed or cancelled."))
        containment = Containment.objects.create(
            problem=problem,
            action=action,
            done_by=done_by,
            quantity_secured=quantity_secured,
            recorded_at=now,
            recorded_by=user,
        )
        if problem.contained_at is None:
            fields = _mark_contained(problem, now)
            if problem.status == Status.OPEN:
                problem.status = Status.CONTAINED
                fields.append("status")
            _save(problem, user, "containment recorded", fields)
    return containment


def advance_by_answers(
    problem: Problem, done_sections: Iterable[str], *, user: User, now: dt.datetime | None = None
) -> Problem:
    """Move a problem forward to the stage its accepted 8D sections reach (issues.eightd.solving).
    The caller holds the problem's row lock."""
    now = now or timezone.now()
    target = eightd.status_after(problem.status, done_sections)
    if target == problem.status:
        return problem
    fields = ["status"]
    if problem.contained_at is None:
        fields += _mark_contained(problem, now)
    with translation.override("en"):  # history reasons are stored in one language, whoever reviews
        reason = f"8D: {Status(problem.status).label} → {Status(target).label}"
    problem.status = target
    _save(problem, user, reason, fields)
    return problem


def _manual_stage(problem: Problem, target: str, *, source: str, user: User, reason: str, **changes: object) -> Problem:
    with transaction.atomic():
        problem = _locked(problem)
        if EightDReport.objects.filter(problem=problem).exists():
            raise TransitionRefused(_("This problem moves on as its 8D answers are accepted."))
        _check(problem, target, source)
        problem.status = target
        for field, value in changes.items():
            setattr(problem, field, value)
        _save(problem, user, reason, ["status", *changes])
    return problem


def record_cause(problem: Problem, *, user: User, note: str) -> Problem:
    if not note.strip():
        raise TransitionRefused(_("Write a short cause note."))
    return _manual_stage(
        problem, Status.ANALYSED, source=Status.CONTAINED, user=user, reason="cause found", cause_note=note.strip()
    )


def start_actions(problem: Problem, *, user: User) -> Problem:
    return _manual_stage(problem, Status.ACTING, source=Status.ANALYSED, user=user, reason="actions started")


def start_verification(problem: Problem, *, user: User) -> Problem:
    return _manual_stage(problem, Status.VERIFYING, source=Status.ACTING, user=user, reason="verifying")


def verification_failed(problem: Problem, *, user: User, reason: str) -> Problem:
    if not reason.strip():
        raise TransitionRefused(_("Say what the verification found."))
    return _manual_stage(
        problem, Status.ACTING, source=Status.VERIFYING, user=user, reason=f"verification failed: {reason.strip()}"
    )


def assign_owner(
    problem: Problem,
    *,
    user: User,
    owner: User | None,
    due_date: dt.date | None,
    now: dt.datetime | None = None,
    reason: str = "owner and due date assigned",
) -> Problem:
    """The chair (quality department or meeting) names an owner and a closure date; `reason`
    goes into the history (the meeting names itself there)."""
    now = now or timezone.now()
    with transaction.atomic():
        problem = _locked(problem)
        if problem.status in Problem.FINISHED:
            raise TransitionRefused(_("The problem is already closed or cancelled."))
        fields = ["owner", "due_date"]
        if owner is not None and owner.pk != problem.owner_id:
            problem.owner_assigned_at = now
            fields.append("owner_assigned_at")
        problem.owner, problem.due_date = owner, due_date
        _save(problem, user, reason, fields)
    return problem


def closure_blockers(problem: Problem, *, checklist: dict | None = None, cause_note: str | None = None) -> list[str]:
    report = EightDReport.objects.filter(problem=problem).first()
    states = dict(report.sections.values_list("code", "state")) if report else {}
    if report is not None:
        checklist = _d7_checklist(report)
    return eightd.closure_blockers(
        status=problem.status,
        contained=problem.contained_at is not None,
        needs_eightd=needs_eightd(problem),
        section_states=states,
        cause_note=problem.cause_note if cause_note is None else cause_note,
        checklist=checklist if checklist is not None else problem.closure_checklist,
    )


def _d7_checklist(report: EightDReport) -> dict:
    d7 = report.sections.filter(code="D7").values_list("content", flat=True).first() or {}
    return eightd.checklist_from(d7)


def close_problem(
    problem: Problem,
    *,
    user: User,
    checklist: dict | None = None,
    cause_note: str | None = None,
    now: dt.datetime | None = None,
) -> Problem:
    """The quality department closes: contained, 8D accepted (or a cause note where no 8D is
    needed), and the D7 checklist complete. A closed 8D's lesson enters the library."""
    now = now or timezone.now()
    with transaction.atomic():
        problem = _locked(problem)
        _check(problem, Status.CLOSED)
        blockers = closure_blockers(problem, checklist=checklist, cause_note=cause_note)
        if blockers:
            raise TransitionRefused(" ".join(blockers))
        report = EightDReport.objects.filter(problem=problem).first()
        if report is not None:
            problem.closure_checklist = _d7_checklist(report)
        elif checklist is not None:  # none given: the one kept from an earlier closure passed
            problem.closure_checklist = checklist
        if cause_note is not None:
            problem.cause_note = cause_note.strip()
        problem.status, problem.closed_at = Status.CLOSED, now
        problem.escalate_at = problem.alarm_at = None
        _save(
            problem,
            user,
            "closed",
            ["status", "closed_at", "escalate_at", "alarm_at", "closure_checklist", "cause_note"],
        )
        stop_repeat_calls(problem)
        # An 8D the grade did not need may close unfinished: only an accepted D7 is a lesson.
        if report is not None and report.sections.filter(code="D7", state=Section.State.ACCEPTED).exists():
            learn_from(report, now)
    return problem


def learn_from(report: EightDReport, now: dt.datetime) -> Lesson:
    """D7's lesson as a library entry (replaced if the problem is closed again)."""
    contents = dict(report.sections.values_list("code", "content"))
    d4, d6, d7 = contents.get("D4") or {}, contents.get("D6") or {}, contents.get("D7") or {}
    actions = [row.get("action", "") for row in (d6.get("actions") or contents.get("D5", {}).get("actions") or [])]
    problem = report.problem
    causes = [d4.get("occurrence_cause", ""), d4.get("escape_cause", "")]
    lesson, _created = Lesson.objects.update_or_create(
        problem=problem,
        defaults={
            "plant_id": problem.plant_id,
            "failure_mode_id": problem.failure_mode_id,
            "line_id": problem.line_id,
            "product": d7.get("product") or report.part_name,
            "cause_family": problem.cause_family,
            "title": problem.title,
            "lesson": d7.get("lesson") or "",
            "root_cause": "\n".join(cause for cause in causes if cause),
            "actions": "\n".join(action for action in actions if action),
            "learned_on": timezone.localtime(now, problem.plant.zone).date(),
        },
    )
    return lesson


def reopen(problem: Problem, *, user: User, reason: str, now: dt.datetime | None = None) -> Problem:
    """Back to open, not contained: the climb goes on from the level it had reached (a tier
    already overdue fires at the next sweep) and the alarms not yet raised come back."""
    if not reason.strip():
        raise TransitionRefused(_("Say why the problem is reopened."))
    with transaction.atomic():
        problem = _locked(problem)
        _check(problem, Status.OPEN)
        problem.status, problem.closed_at, problem.contained_at = Status.OPEN, None, None
        plan = problem.escalation_plan
        problem.escalate_at = ladder.next_escalation_at(
            plan, problem.grade, problem.occurred_at, problem.escalation_level
        )
        problem.alarm_at = ladder.next_alarm_at(plan, problem.occurred_at, problem.alarms_fired)
        _save(
            problem,
            user,
            f"reopened: {reason.strip()}",
            ["status", "closed_at", "contained_at", "escalate_at", "alarm_at"],
        )
        _reschedule_notices(problem)
        transaction.on_commit(escalation_tasks.kick)
    return problem


def schedule_notice(section: Section, policy: SolvingPolicy) -> list[str]:
    """When the sweep next looks at an 8D section (its due-soon or overdue notice); the fields to save."""
    following = eightd.next_notice(
        section.state,
        section.due_at,
        section.returns,
        section.notices_sent,
        dt.timedelta(hours=policy.due_soon_hours),
    )
    section.notice_at = following[1] if following else None
    return ["notice_at"]


def _reschedule_notices(problem: Problem) -> None:
    """The sweep drops the notices of a closed problem's open 8D sections; reopening brings them back."""
    policy = policy_for(problem)
    for section in Section.objects.filter(report__problem=problem, state__in=["todo", "draft", "returned"]):
        schedule_notice(section, policy)
        section.save(update_fields=["notice_at"])


def cancel_as_duplicate(problem: Problem, *, user: User, duplicate_of: Problem, reason: str = "") -> Problem:
    with transaction.atomic():
        problem = _locked(problem)
        _check(problem, Status.CANCELLED)
        if duplicate_of.pk == problem.pk or duplicate_of.plant_id != problem.plant_id:
            raise TransitionRefused(_("Choose another problem of the same plant."))
        if duplicate_of.status == Status.CANCELLED:
            raise TransitionRefused(_("That problem is itself cancelled; choose the one that is kept."))
        problem.status, problem.duplicate_of = Status.CANCELLED, duplicate_of
        problem.escalate_at = problem.alarm_at = None
        note = f"duplicate of {duplicate_of.number}" + (f": {reason.strip()}" if reason.strip() else "")
        _save(problem, user, note, ["status", "duplicate_of", "escalate_at", "alarm_at"])
        stop_repeat_calls(problem)
    return problem
