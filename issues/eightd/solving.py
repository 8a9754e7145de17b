"""The 8D flow as verb functions: start a report, save or submit an answer, accept or return
it, reopen it, declare it not applicable, copy an earlier report. Each locks the section's
row, checks its state (issues.models.Section.State) and leaves history with who and why.

Views check the user's rights (issues.common.rights) before calling; the verbs check the states."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from escalation import tasks as escalation_tasks
from escalation.models import AlarmKind
from escalation.sweep import raise_alarm
from issues.eightd import rules as eightd
from issues.models import EightDReport, Problem, Section
from issues.problems import lifecycle
from issues.problems.lifecycle import TransitionRefused

if TYPE_CHECKING:
    from django.contrib.auth.models import User

State = Section.State

# What "copy from an earlier 8D" carries over: the analysis and the actions, as drafts. The
# description, containment and sign-offs belong to this occurrence and are not copied.
COPIED_SECTIONS = ("D4", "D5", "D6", "D7")


def start_report(problem: Problem, *, user: User, now: dt.datetime | None = None) -> EightDReport:
    """One report per problem: a second start (double click, two people) returns the first."""
    now = now or timezone.now()
    with transaction.atomic():
        problem = Problem.objects.select_for_update().get(pk=problem.pk)
        existing = EightDReport.objects.filter(problem=problem).first()
        if existing is not None:
            return existing
        if problem.status in Problem.FINISHED:
            raise TransitionRefused(_("The problem is already closed or cancelled."))
        leader = problem.owner or user
        report = EightDReport.objects.create(problem=problem, leader=leader, created_by=user)
        policy = lifecycle.policy_for(problem)
        days = dict(policy.deadlines.values_list("section", "days"))
        sections = []
        for code in eightd.SECTIONS:
            section = Section(
                report=report,
                code=code,
                due_at=eightd.first_due(problem.occurred_at, days.get(code, eightd.DEFAULT_SECTION_DAYS[code])),
            )
            lifecycle.schedule_notice(section, policy)
            sections.append(section)
        Section.objects.bulk_create(sections)
        report.members.add(leader)
        transaction.on_commit(escalation_tasks.kick)
    return report


def _locked(section: Section) -> Section:
    """The section's row, locked; a closed or cancelled problem's 8D takes no more answers."""
    section = Section.objects.select_for_update().select_related("report__problem").get(pk=section.pk)
    if section.report.problem.status in Problem.FINISHED:
        raise TransitionRefused(_("The problem is closed or cancelled: reopen it first."))
    return section


def _save(section: Section, user: User, reason: str, fields: list[str]) -> None:
    section._change_reason = reason[:100]
    section._history_user = user
    section.save(update_fields=[*fields, "updated_at"])


def _refuse_unless(section: Section, *states: str) -> None:
    if section.state not in states:
        raise TransitionRefused(
            _("%(section)s is “%(state)s”: this cannot be done now.")
            % {"section": section.code, "state": State(section.state).label}
        )


def _sync_team(report: EightDReport, content: dict) -> None:
    """D1 names the team; the report keeps it as rows so rights checks need no JSON."""
    leader = content.get("leader")
    members = {row["person"] for row in content.get("members") or [] if isinstance(row.get("person"), int)}
    if isinstance(leader, int):
        report.leader_id = leader
        report.save(update_fields=["leader"])
        members.add(leader)
    report.members.set(members)


def save_answer(section: Section, *, user: User, content: dict) -> Section:
    """Keep a draft. A returned answer becomes a draft again when it is worked on."""
    with transaction.atomic():
        section = _locked(section)
        _refuse_unless(section, State.TODO, State.DRAFT, State.RETURNED)
        section.content, section.state = content, State.DRAFT
        _save(section, user, "answer saved", ["content", "state"])
        if section.code == "D1":
            _sync_team(section.report, content)
    return section


def submit(section: Section, *, user: User, content: dict, now: dt.datetime | None = None) -> Section:
    """The team hands a complete answer (validated by issues.eightd.sections) to the reviewers."""
    now = now or timezone.now()
    with transaction.atomic():
        section = _locked(section)
        _refuse_unless(section, State.TODO, State.DRAFT, State.RETURNED)
        section.content, section.state = content, State.SUBMITTED
        section.submitted_at, section.submitted_by = now, user
        fields = ["content", "state", "submitted_at", "submitted_by"]
        fields += lifecycle.schedule_notice(section, lifecycle.policy_for(section.report.problem))
        _save(section, user, "submitted for review", fields)
        if section.code == "D1":
            _sync_team(section.report, content)
    return section


def _reviewed(section: Section, user: User, now: dt.datetime, note: str) -> list[str]:
    if section.submitted_by_id == user.pk:
        raise TransitionRefused(_("Someone other than the author of the answer reviews it."))
    section.reviewed_at, section.reviewed_by, section.review_note = now, user, note.strip()
    return ["reviewed_at", "reviewed_by", "review_note"]


def _advance_problem(section: Section, user: User, now: dt.datetime) -> None:
    problem = Problem.objects.select_for_update().get(pk=section.report.problem_id)
    done = Section.objects.filter(report=section.report, state__in=[State.ACCEPTED, State.NOT_APPLICABLE])
    lifecycle.advance_by_answers(problem, done.values_list("code", flat=True), user=user, now=now)


def accept(section: Section, *, user: User, note: str = "", now: dt.datetime | None = None) -> Section:
    """An accepted answer locks; enough of them move the problem on (issues.eightd.rules.STAGES)."""
    now = now or timezone.now()
    with transaction.atomic():
        section = _locked(section)
        _refuse_unless(section, State.SUBMITTED)
        fields = _reviewed(section, user, now, note)
        section.state, section.done_at = State.ACCEPTED, now
        _save(section, user, "accepted", [*fields, "state", "done_at"])
        _advance_problem(section, user, now)
    return section


def return_answer(section: Section, *, user: User, reason: str, now: dt.datetime | None = None) -> Section:
    """Ineffective: back to the team with a reason and at most the rework allowance more
    (docs/problem-solving.md §Review). The second return on one report alarms the deputy GM
    (docs/escalation.md §Alarm rules and 8D notices)."""
    now = now or timezone.now()
    if not reason.strip():
        raise TransitionRefused(_("Say why the answer is returned."))
    with transaction.atomic():
        section = _locked(section)
        _refuse_unless(section, State.SUBMITTED)
        fields = _reviewed(section, user, now, reason)
        policy = lifecycle.policy_for(section.report.problem)
        section.state, section.returns = State.RETURNED, section.returns + 1
        section.due_at = eightd.rework_due(section.due_at, now, policy.rework_days)
        fields += ["state", "returns", "due_at", *lifecycle.schedule_notice(section, policy)]
        _save(section, user, f"returned: {reason.strip()}", fields)
        report = section.report
        EightDReport.objects.filter(pk=report.pk).update(returns=F("returns") + 1)
        report.refresh_from_db(fields=["returns"])
        if eightd.returns_alarm(report.returns):
            raise_alarm(report.problem, AlarmKind.REJECTED_TWICE, now)
        transaction.on_commit(escalation_tasks.kick)
    return section


def reopen_section(section: Section, *, user: User, reason: str) -> Section:
    """An accepted (or not applicable) answer is locked; reopening it needs a reason. The old
    not-applicable reason stays in the history only."""
    if not reason.strip():
        raise TransitionRefused(_("Say why the answer is reopened."))
    with transaction.atomic():
        section = _locked(section)
        _refuse_unless(section, State.ACCEPTED, State.NOT_APPLICABLE)
        section.state, section.done_at, section.review_note = State.DRAFT, None, reason.strip()
        section.na_reason = ""
        fields = [
            "state",
            "done_at",
            "review_note",
            "na_reason",
            *lifecycle.schedule_notice(section, lifecycle.policy_for(section.report.problem)),
        ]
        _save(section, user, f"reopened: {reason.strip()}", fields)
    return section


def mark_not_applicable(section: Section, *, user: User, reason: str, now: dt.datetime | None = None) -> Section:
    now = now or timezone.now()
    if section.code not in eightd.MAY_BE_NOT_APPLICABLE:
        raise TransitionRefused(_("%(section)s is part of every 8D.") % {"section": section.code})
    if not reason.strip():
        raise TransitionRefused(_("Say why the section does not apply."))
    with transaction.atomic():
        section = _locked(section)
        _refuse_unless(section, State.TODO, State.DRAFT, State.RETURNED)
        section.state, section.na_reason, section.done_at = State.NOT_APPLICABLE, reason.strip(), now
        fields = [
            "state",
            "na_reason",
            "done_at",
            *lifecycle.schedule_notice(section, lifecycle.policy_for(section.report.problem)),
        ]
        _save(section, user, f"not applicable: {reason.strip()}", fields)
        _advance_problem(section, user, now)
    return section


def copyable(content: dict, code: str) -> dict:
    """An earlier answer as a starting point: D6's actions must be done and validated again."""
    if code != "D6":
        return dict(content)
    fresh = {"done_on": None, "evidence": "", "validation": "", "status": "planned"}
    return {**content, "actions": [{**row, **fresh} for row in content.get("actions") or []]}


def copy_from(report: EightDReport, *, source: EightDReport, user: User) -> list[str]:
    """Fill this report's open analysis and action sections from an earlier 8D; returns the
    sections copied. Answers already submitted or accepted are left as they are."""
    if source.pk == report.pk or source.problem.plant_id != report.problem.plant_id:
        raise TransitionRefused(_("Choose an earlier 8D of the same plant."))
    earlier = dict(source.sections.filter(code__in=COPIED_SECTIONS).values_list("code", "content"))
    copied = []
    with transaction.atomic():
        for section in Section.objects.select_for_update().filter(report=report, code__in=COPIED_SECTIONS):
            if section.state not in (State.TODO, State.DRAFT, State.RETURNED) or not earlier.get(section.code):
                continue
            section.content, section.state = copyable(earlier[section.code], section.code), State.DRAFT
            _save(section, user, f"copied from {source.problem.number}", ["content", "state"])
            copied.append(section.code)
        report.copied_from = source
        report._history_user = user
        report.save(update_fields=["copied_from"])
    return copied
