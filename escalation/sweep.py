"""The sweep: level-triggered, claims each due problem with a conditional UPDATE (healthchecks'
sendalerts pattern), writes one EscalationEvent per (problem, tier) — the outbox that dispatch
sends from. Two sweeps at once are harmless: only one claim per row and tier can succeed, and a
unique constraint on (problem, kind, level) backs it. The third pass does the same for 8D
sections whose due-soon or overdue notice has come (Section.notice_at)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from escalation import ladder, recipients
from escalation.models import AlarmKind, AlarmRule, EscalationEvent, NoticeKind, SweepRun
from escalation.policy_defaults import DEFAULT_ALARMS
from issues.eightd import rules as eightd
from issues.models import Problem, Section, SolvingPolicy

logger = logging.getLogger(__name__)
BATCH = 500
RETRY_BROKEN_ROW = dt.timedelta(minutes=1)


def climbing(problem: Problem) -> bool:
    """Containment (any status past open) or closure stops the climb."""
    return problem.status == Problem.Status.OPEN and problem.contained_at is None


def sweep(now: dt.datetime | None = None) -> list[EscalationEvent]:
    now = now or timezone.now()
    started = time.monotonic()
    events: list[EscalationEvent] = []
    due = Problem.objects.filter(escalate_at__lte=now).order_by("escalate_at").values_list("pk", flat=True)[:BATCH]
    for problem_id in due:
        events += _guarded(escalate_one, problem_id, now, field="escalate_at")
    alarms = Problem.objects.filter(alarm_at__lte=now).order_by("alarm_at").values_list("pk", flat=True)[:BATCH]
    for problem_id in alarms:
        events += _guarded(alarm_one, problem_id, now, field="alarm_at")
    notices = Section.objects.filter(notice_at__lte=now).order_by("notice_at").values_list("pk", flat=True)[:BATCH]
    for section_id in notices:
        events += _guarded(notice_one, section_id, now, field="notice_at", model=Section)
    SweepRun.objects.update_or_create(
        name="sweep",
        defaults={
            "last_run_at": timezone.now(),
            "duration_ms": int((time.monotonic() - started) * 1000),
            "fired": len(events),
        },
    )
    return events


def _guarded(
    step: Callable[[int, dt.datetime], list[EscalationEvent]],
    row_id: int,
    now: dt.datetime,
    *,
    field: str,
    model: type[Problem] | type[Section] = Problem,
) -> list[EscalationEvent]:
    """A row that raises is pushed forward and logged; it must not crash-loop the sweep."""
    try:
        return step(row_id, now)
    except Exception:
        logger.exception("escalation of %s %s failed; retrying in a minute", model._meta.model_name, row_id)
        model.objects.filter(pk=row_id).update(**{field: now + RETRY_BROKEN_ROW})
        return []


def escalate_one(problem_id: int, now: dt.datetime) -> list[EscalationEvent]:
    problem = Problem.objects.select_related("line__workshop").get(pk=problem_id)
    # The grade is part of the claim: a regrade between this read and the claim can keep
    # escalate_at but raise the ceiling, and must not be overwritten with the old one's result.
    seen = {"escalation_level": problem.escalation_level, "escalate_at": problem.escalate_at, "grade": problem.grade}
    if problem.escalate_at is None or problem.escalate_at > now:
        return []
    if not climbing(problem):
        Problem.objects.filter(pk=problem_id, **seen).update(escalate_at=None)
        return []
    plan, grade = problem.escalation_plan, problem.grade
    due = ladder.due_tiers(plan, grade, problem.occurred_at, problem.escalation_level, now)
    reached = due[-1].level if due else problem.escalation_level
    following = ladder.next_escalation_at(plan, grade, problem.occurred_at, reached)
    with transaction.atomic():
        if Problem.objects.filter(pk=problem_id, **seen).update(escalation_level=reached, escalate_at=following) != 1:
            return []  # another sweep claimed it first
        return [_write_event(problem, step, plan, now, step.due_at(problem.occurred_at)) for step in due]


def alarm_one(problem_id: int, now: dt.datetime) -> list[EscalationEvent]:
    problem = Problem.objects.select_related("line__workshop").get(pk=problem_id)
    seen = {"alarm_at": problem.alarm_at, "alarms_fired": problem.alarms_fired}
    if problem.alarm_at is None or problem.alarm_at > now:
        return []
    plan = problem.escalation_plan
    due = ladder.due_alarms(plan, problem.occurred_at, problem.alarms_fired, now)
    done = problem.alarms_fired + [step.kind for step in due]
    following = None if problem.closed_at else ladder.next_alarm_at(plan, problem.occurred_at, done)
    with transaction.atomic():
        if Problem.objects.filter(pk=problem_id, **seen).update(alarms_fired=done, alarm_at=following) != 1:
            return []
        return [
            _write_event(problem, step, plan, now, step.due_at(problem.occurred_at))
            for step in due
            if _alarm_applies(problem, step.kind)
        ]


def _alarm_applies(problem: Problem, kind: str) -> bool:
    if problem.status in Problem.FINISHED:
        return False
    if kind == AlarmKind.NO_OWNER:
        return problem.owner_id is None
    return True


def raise_alarm(problem: Problem, kind: str, now: dt.datetime | None = None) -> EscalationEvent | None:
    """An alarm raised by an event (an answer rejected twice), once per problem."""
    now = now or timezone.now()
    step = ladder.alarm(problem.escalation_plan, kind)
    if step is None:
        return None
    try:
        with transaction.atomic():
            return _write_event(problem, step, problem.escalation_plan, now, now)
    except IntegrityError:
        return None  # raised before: the ledger holds it once


# issues.eightd.rules names a section's notices "due_soon" and "overdue"; the ledger's kinds.
NOTICE_KINDS = {"due_soon": NoticeKind.SECTION_DUE_SOON, "overdue": NoticeKind.SECTION_OVERDUE}


def notice_one(section_id: int, now: dt.datetime) -> list[EscalationEvent]:
    """Send the notices a section owes at `now` and schedule its next one. The claim covers
    everything the notices depend on: an answer submitted, a return (new round and deadline)
    or another sweep in between makes it fail, and the next sweep looks again."""
    section = Section.objects.select_related(
        "report__problem__line__workshop", "report__problem__owner__profile", "report__leader__profile"
    ).get(pk=section_id)
    seen = {
        "notice_at": section.notice_at,
        "notices_sent": section.notices_sent,
        "state": section.state,
        "returns": section.returns,
        "due_at": section.due_at,
    }
    if section.notice_at is None or section.notice_at > now:
        return []
    claim = Section.objects.filter(pk=section_id, **seen)
    problem = section.report.problem
    if problem.status in Problem.FINISHED:
        claim.update(notice_at=None)  # a closed problem's answers are no longer chased
        return []
    due_soon = dt.timedelta(hours=SolvingPolicy.objects.get(plant_id=problem.plant_id).due_soon_hours)
    rules = (section.state, section.due_at, section.returns)
    owed = eightd.notices_due(*rules, section.notices_sent, due_soon, now)
    sent = section.notices_sent + [eightd.notice_key(kind, section.returns) for kind in owed]
    following = eightd.next_notice(*rules, sent, due_soon)
    with transaction.atomic():
        if claim.update(notices_sent=sent, notice_at=following[1] if following else None) != 1:
            return []  # another sweep claimed it first, or the section changed
        events = []
        for kind in owed:
            notice_at = section.due_at - due_soon if kind == "due_soon" else section.due_at
            if event := _write_notice(problem, section, NOTICE_KINDS[kind], now, notice_at):
                events.append(event)
        return events


def notice_rule(problem: Problem, kind: str) -> ladder.Step:
    """The notice rule of the problem's plan; plans copied before notice rules existed use the
    plant's rule as it is now, and a plant that deleted it the default."""
    step = ladder.alarm(problem.escalation_plan, kind)
    if step is not None:
        return step
    found = AlarmRule.objects.filter(plant_id=problem.plant_id, kind=kind).values("roles", "channels").first()
    rule = found or next(alarm for alarm in DEFAULT_ALARMS if alarm["kind"] == kind)
    return ladder.Step(after_minutes=0, roles=tuple(rule["roles"]), channels=tuple(rule["channels"]), kind=kind)


def _write_notice(
    problem: Problem, section: Section, kind: str, now: dt.datetime, notice_at: dt.datetime
) -> EscalationEvent | None:
    step = dataclasses.replace(notice_rule(problem, kind), level=eightd.notice_level(section.code, section.returns))
    people, missing, fell_through = recipients.resolve_notice(problem, section.report, step, problem.escalation_plan)
    try:
        with transaction.atomic():
            return _record(problem, step, now, notice_at, people, missing, fell_through)
    except IntegrityError:
        return None  # already in the ledger: the unique (problem, kind, level) holds it once


def _write_event(
    problem: Problem, step: ladder.Step, plan: dict, now: dt.datetime, due_at: dt.datetime
) -> EscalationEvent:
    return _record(problem, step, now, due_at, *recipients.resolve(problem, step, plan))


def _record(
    problem: Problem,
    step: ladder.Step,
    now: dt.datetime,
    due_at: dt.datetime,
    people: list[dict],
    missing: list[str],
    fell_through: bool,
) -> EscalationEvent:
    event = EscalationEvent.objects.create(
        problem=problem,
        kind=step.kind,
        level=step.level,
        due_at=due_at,
        fired_at=now,
        recipients=people,
        channels=list(step.channels),
        missing_roles=missing,
        fell_through=fell_through,
    )
    if fell_through or missing:
        logger.warning("problem %s %s L%s: nobody holds %s", problem.number, step.kind, step.level, missing)
    return event
