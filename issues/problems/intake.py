"""Logging a problem: grade it, number it, store it in one transaction (issue #2)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from escalation import ladder
from escalation import tasks as escalation_tasks
from escalation.policies import plan_for
from issues.grading import rules as grading
from issues.grading.thresholds import as_grading_table, current_table
from issues.models import (
    FailureMode,
    Line,
    Plant,
    Problem,
    ProblemCounter,
    ProblemPhoto,
    Shift,
    Station,
    ThresholdTable,
)
from issues.problems.signals import problem_logged

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass
class Report:
    """What a person (form) or a machine (API) reports; validated before it gets here."""

    line: Line
    category: str
    title: str
    occurred_at: dt.datetime
    facts: dict = field(default_factory=dict)
    description: str = ""
    shift: Shift | None = None
    station: Station | None = None
    kind: str = "QC"
    cause_family: str = ""
    failure_mode: FailureMode | None = None
    source: str = "line"


MAX_AGE = dt.timedelta(days=30)
CLOCK_SKEW = dt.timedelta(minutes=5)


def validate_occurred_at(value: dt.datetime, now: dt.datetime) -> None:
    if value > now + CLOCK_SKEW:
        raise ValidationError(_("This is in the future. Check the date and time."))
    if value < now - MAX_AGE:
        raise ValidationError(_("Problems older than 30 days cannot be logged here; ask the quality department."))


def shift_at(plant: Plant, when: dt.datetime) -> Shift | None:
    local = when.astimezone(plant.zone).time()
    return next((shift for shift in plant.shifts.all() if shift.covers(local)), None)


def failure_mode_named(plant: Plant, text: str, category: str = "", *, create: bool = True) -> FailureMode | None:
    """Find the plant's failure mode by name (either language), or add it as unreviewed."""
    text = " ".join(text.split())[:120]
    if not text:
        return None
    for field_name in ("name_en__iexact", "name_zh__iexact"):
        found = FailureMode.objects.filter(plant=plant, **{field_name: text}).first()
        if found:
            return found
    if not create:
        return None
    mode, _ = FailureMode.objects.get_or_create(
        plant=plant, name_en=text, defaults={"name_zh": text, "category": category, "reviewed": False}
    )
    return mode


def prior_occurrences(report: Report, window_days: int) -> int:
    if report.failure_mode is None or not report.cause_family:
        return 0
    since = report.occurred_at - dt.timedelta(days=window_days)
    return (
        Problem.objects.same_failure(
            line_id=report.line.pk, failure_mode_id=report.failure_mode.pk, cause_family=report.cause_family
        )
        .filter(occurred_at__gte=since, occurred_at__lt=report.occurred_at)
        .count()
    )


def needs_special_team(report: Report, plant: Plant) -> bool:
    if report.failure_mode is None:
        return False
    needed = plant.special_team_occurrences - 1  # earlier occurrences that, with this one, call for a team
    if needed <= 0:
        return True
    since = report.occurred_at - dt.timedelta(days=plant.special_team_window_days)
    # Stop at `needed` rows instead of counting them all: a common failure mode has thousands of
    # problems in the window, and a full count grows with the table (bench/intake.py).
    earlier = (
        Problem.objects.filter(
            failure_mode=report.failure_mode, occurred_at__gte=since, occurred_at__lte=report.occurred_at
        )
        .exclude(status=Problem.Status.CANCELLED)
        .order_by()
        .values("pk")[:needed]
    )
    return earlier.count() >= needed


def next_number(plant: Plant, occurred_at: dt.datetime) -> str:
    day = occurred_at.astimezone(plant.zone).date()
    counter, _ = ProblemCounter.objects.select_for_update().get_or_create(plant=plant, day=day)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{plant.code.upper()}-{day:%Y%m%d}-{counter.last:03d}"


def grade_report(report: Report, table: ThresholdTable | None = None) -> tuple[grading.Grading, ThresholdTable]:
    plant = report.line.workshop.plant
    table = table or current_table(plant)
    prior = prior_occurrences(report, plant.recurrence_window_days)
    return grading.grade(report.category, report.facts, as_grading_table(table), prior), table


class IdempotencyConflict(Exception):
    """The reporter used this idempotency key before, for a problem reported otherwise."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.number)
        self.problem = problem


def report_fingerprint(report: Report) -> str:
    """What was reported, as one digest: a retry of the same report gives the same one, whatever
    the order of its JSON keys or the offset its time was written with."""
    reported = {
        "line": report.line.pk,
        "category": report.category,
        "title": report.title,
        "occurred_at": report.occurred_at.astimezone(dt.UTC).isoformat(),
        "facts": report.facts,
        "description": report.description,
        "shift": report.shift.pk if report.shift else None,
        "station": getattr(report.station, "pk", None),
        "kind": report.kind,
        "cause_family": report.cause_family,
        "failure_mode": report.failure_mode.pk if report.failure_mode else None,
        "source": report.source,
    }
    canonical = json.dumps(reported, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replayed(problem: Problem, fingerprint: str) -> Problem:
    # Problems stored before fingerprints were kept have none: they are answered as before.
    if problem.idempotency_fingerprint and problem.idempotency_fingerprint != fingerprint:
        raise IdempotencyConflict(problem)
    return problem


def report_problem(
    report: Report, *, reporter: User, idempotency_key: str = "", photos: Sequence[ProblemPhoto] = ()
) -> tuple[Problem, bool]:
    """Store a graded problem; returns (problem, created). The same reporter repeating the same
    idempotency key with the same report (a double tap, a retried request) gets the first
    problem back; with another report, IdempotencyConflict."""
    fingerprint = report_fingerprint(report) if idempotency_key else ""
    if idempotency_key:
        existing = Problem.objects.filter(reported_by=reporter, idempotency_key=idempotency_key).first()
        if existing:
            return _replayed(existing, fingerprint), False
    try:
        with transaction.atomic():
            return _store(report, reporter, idempotency_key, fingerprint, photos), True
    except IntegrityError:
        if not idempotency_key:
            raise
        # The other request of a concurrent double submit committed first.
        first = Problem.objects.get(reported_by=reporter, idempotency_key=idempotency_key)
        return _replayed(first, fingerprint), False


def _store(
    report: Report, reporter: User, idempotency_key: str, fingerprint: str, photos: Sequence[ProblemPhoto]
) -> Problem:
    plant = report.line.workshop.plant
    result, table = grade_report(report)
    plan = plan_for(plant, report.category)
    problem = Problem.objects.create(
        number=next_number(plant, report.occurred_at),
        plant=plant,
        line=report.line,
        station=report.station,
        shift=report.shift or shift_at(plant, report.occurred_at),
        category=report.category,
        kind=report.kind or "QC",
        cause_family=report.cause_family,
        failure_mode=report.failure_mode,
        title=report.title,
        source=report.source or "line",
        description=report.description,
        occurred_at=report.occurred_at,
        reported_by=reporter,
        facts=report.facts,
        grade=result.grade,
        base_grade=result.base_grade,
        fired_rules=[rule.as_json() for rule in result.rules],
        threshold_table=table,
        prior_occurrences=result.prior_occurrences,
        special_team_required=needs_special_team(report, plant),
        idempotency_key=idempotency_key,
        idempotency_fingerprint=fingerprint,
        escalation_plan=plan,
        escalation_level=ladder.INITIATOR_LEVEL,
        escalate_at=ladder.next_escalation_at(plan, result.grade, report.occurred_at, ladder.INITIATOR_LEVEL),
        alarm_at=ladder.next_alarm_at(plan, report.occurred_at, []),
    )
    # A problem logged late may already owe several tiers: sweep now, not at the next beat.
    transaction.on_commit(escalation_tasks.kick)
    problem_logged.send(sender=Problem, problem=problem)
    if photos:
        ProblemPhoto.objects.filter(pk__in=[photo.pk for photo in photos], problem__isnull=True).update(problem=problem)
    return problem
