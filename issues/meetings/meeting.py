"""The daily QRQC meeting on the ORM (docs/meeting.md §The meeting): starting it with its agenda and sign-in
sheet, the chair's decisions on each item, attendance, and ending it. The rules themselves
(agenda groups and order, who is expected, the timer) are pure functions in issues.meetings.agenda.

Each verb runs in one transaction and leaves history with the user. Actions on a meeting lock
its row first: they see whether it still runs, and two chairs' clicks on one meeting queue up.

Who chairs: a person holding a chair role (one whose group carries "issues.run_meeting") at the
plant level chairs the plant meeting and every workshop meeting of that plant; at a workshop,
that workshop's meeting. A line-level role chairs nothing.

Who is expected on the sign-in sheet (agenda.expected_roles): at a workshop meeting, holders of
the workshop roles assigned at that workshop, at one of its lines, or plant-wide; at the plant
meeting, holders of the plant roles assigned plant-wide or at a workshop (the workshop
directors and section chiefs), not those of a single line. A person with two such roles signs
once, under the senior one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from escalation.models import EscalationEvent
from issues.common import rights
from issues.common.people import people_of
from issues.common.scope import holds, scope_filter, scope_of, visible_plants
from issues.eightd.rules import Colour
from issues.eightd.steps import STEPS, step_colours
from issues.meetings import agenda
from issues.models import (
    AgendaItem,
    Attendance,
    EightDReport,
    Meeting,
    Plant,
    Problem,
    RoleAssignment,
    Section,
    Workshop,
)
from issues.problems import lifecycle
from issues.problems.lifecycle import TransitionRefused

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

Status = Problem.Status
NEW_WINDOW = dt.timedelta(hours=24)
SETTABLE_STATES = (
    Attendance.State.PRESENT,
    Attendance.State.STAND_IN,
    Attendance.State.ABSENT,
    Attendance.State.ABSENT_WITHOUT_LEAVE,
)
MAX_DECISION = 2000


class MeetingRefused(Exception):
    """The action is not allowed now; `details` say what is missing (a closure's blockers)."""

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.details = list(details or [])


class NotChair(MeetingRefused):
    """The user may see the meeting but not act on it (a 403 in the views)."""


# --- days, places and rights ----------------------------------------------------------------


def local_day(plant: Plant, now: dt.datetime) -> dt.date:
    return timezone.localtime(now, plant.zone).date()


def may_chair(user: User | AnonymousUser, plant_id: int, workshop_id: int | None = None) -> bool:
    """A plant meeting is chaired by a plant-wide chair role; a workshop meeting also by a chair
    role at that workshop (a line's role covers neither)."""
    return holds(user, "issues.run_meeting", Meeting(plant_id=plant_id, workshop_id=workshop_id))


def chairs(user: User | AnonymousUser, meeting: Meeting) -> bool:
    return holds(user, "issues.run_meeting", meeting)


def chairable(user: User | AnonymousUser) -> list[tuple[Plant, Workshop | None]]:
    """The meetings the user may start: (plant, None) for a plant meeting, (plant, workshop)."""
    scope = scope_of(user, "issues.run_meeting")
    if scope.everything:
        plants = list(Plant.objects.all())
        workshops = list(Workshop.objects.select_related("plant"))
    elif scope.plant_ids or scope.workshop_ids:
        plants = list(Plant.objects.filter(pk__in=scope.plant_ids))
        workshops = list(
            Workshop.objects.filter(Q(plant__in=scope.plant_ids) | Q(pk__in=scope.workshop_ids)).select_related("plant")
        )
    else:
        return []
    places: list[tuple[Plant, Workshop | None]] = [(plant, None) for plant in plants]
    places += [(workshop.plant, workshop) for workshop in workshops]
    return sorted(places, key=lambda place: (place[0].code, place[1].code if place[1] else ""))


def visible_meetings(user: User | AnonymousUser) -> QuerySet[Meeting]:
    """A plant meeting is seen by anyone of the plant; a workshop meeting by those whose scope
    reaches the workshop (plant-wide, the workshop, or one of its lines). What each reader sees
    of the agenda is narrowed further to the problems they may see (items_for). Only roles that
    read meetings count."""
    scope = scope_of(user, "issues.view_meeting")
    if scope.everything:
        return Meeting.objects.all()
    if scope.empty:
        return Meeting.objects.none()
    workshops = Workshop.objects.filter(
        Q(plant__in=scope.plant_ids) | Q(pk__in=scope.workshop_ids) | Q(lines__in=scope.line_ids)
    )
    return Meeting.objects.filter(
        Q(workshop__isnull=True, plant__in=visible_plants(user, "issues.view_meeting").values("pk"))
        | Q(workshop__in=workshops.values("pk"))
    )


def items_for(user: User | AnonymousUser, meeting: Meeting) -> QuerySet[AgendaItem]:
    """The agenda items whose problem the user may see (a line-level reader of a plant meeting
    sees the items of their lines)."""
    return meeting.items.filter(scope_filter(user, line_path="problem__line", perm="issues.view_problem"))


# --- the agenda -----------------------------------------------------------------------------


def _place(plant: Plant, workshop: Workshop | None) -> Q:
    return Q(line__workshop=workshop) if workshop is not None else Q(plant=plant)


def candidates(
    plant: Plant, workshop: Workshop | None, *, escalations_since: dt.datetime, now: dt.datetime
) -> list[agenda.Candidate]:
    """Every problem of the meeting's place that belongs on the agenda, with its groups, in
    one query whatever the number of problems."""
    today = local_day(plant, now)
    day_start = dt.datetime.combine(today, dt.time(), plant.zone)
    day_end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), plant.zone)
    new_since = now - NEW_WINDOW
    undone = Section.objects.filter(report__problem=OuterRef("pk")).exclude(
        state__in=[Section.State.ACCEPTED, Section.State.NOT_APPLICABLE]
    )
    tiers = EscalationEvent.objects.filter(
        problem=OuterRef("pk"), kind=EscalationEvent.TIER, fired_at__gt=escalations_since, fired_at__lte=now
    )
    follow_up = (
        Q(overdue_8d=True)
        | Q(sections_due_today=True)
        | Q(due_date=today)
        | Q(escalated=True)
        | Q(special_team_required=True)
    )
    rows = (
        Problem.objects.filter(_place(plant, workshop))
        .exclude(status=Status.CANCELLED)
        .annotate(
            overdue_8d=Exists(undone.filter(due_at__lt=now)),
            sections_due_today=Exists(undone.filter(due_at__gte=day_start, due_at__lt=day_end)),
            escalated=Exists(tiers),
        )
        .filter(Q(occurred_at__gte=new_since) | (~Q(status__in=Problem.FINISHED) & follow_up))
        .order_by()
        .values_list(
            "pk",
            "grade",
            "occurred_at",
            "source",
            "facts",
            "prior_occurrences",
            "status",
            "due_date",
            "special_team_required",
            "overdue_8d",
            "sections_due_today",
            "escalated",
        )
    )
    found = []
    for pk, grade, occurred_at, source, facts, prior, status, due, special, overdue, sections_today, escalated in rows:
        groups = agenda.new_problem_groups(source, facts or {}, prior) if occurred_at >= new_since else []
        groups += agenda.follow_up_groups(
            is_open=status not in Problem.FINISHED,
            overdue_8d=overdue,
            due_today=due == today or sections_today,
            escalated=escalated,
            special_team=special,
        )
        found.append(agenda.Candidate(pk, grade, occurred_at, tuple(groups)))
    return found


def _store_items(meeting: Meeting, entries: list[agenda.Entry], *, user: User, after: int = 0) -> list[AgendaItem]:
    items = [
        AgendaItem(
            meeting=meeting,
            problem_id=entry.problem_id,
            group=entry.group,
            reasons=list(entry.reasons),
            position=after + index,
        )
        for index, entry in enumerate(entries, start=1)
    ]
    return bulk_create_with_history(items, AgendaItem, default_user=user) if items else []


def _expected(meeting: Meeting) -> list[Attendance]:
    workshop = meeting.workshop
    held = RoleAssignment.objects.filter(
        plant_id=meeting.plant_id, role__in=agenda.expected_roles(workshop is not None), user__is_active=True
    )
    if workshop is not None:
        held = held.filter(
            Q(workshop=workshop) | Q(line__workshop=workshop) | Q(workshop__isnull=True, line__isnull=True)
        )
    else:
        held = held.filter(line__isnull=True)
    roles: dict[int, set[str]] = defaultdict(set)
    for user_id, role in held.values_list("user_id", "role"):
        roles[user_id].add(role)
    rows = []
    for user_id, held_roles in roles.items():
        role = agenda.senior_role(held_roles)
        rows.append(Attendance(meeting=meeting, person_id=user_id, role=role, department=agenda.department_of(role)))
    return rows


def _sign_in_starter(meeting: Meeting, user: User, now: dt.datetime) -> None:
    """Whoever starts the meeting is at the board. The meeting's row is locked first: two clicks
    of one person racing each other would both find no row and both add one."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.state != Meeting.State.RUNNING:
        return
    row = Attendance.objects.filter(meeting=meeting, person=user).first()
    if row is None:
        row = Attendance(meeting=meeting, person=user, expected=False)
    elif row.state != Attendance.State.UNKNOWN:
        return
    row.state, row.signed_at = Attendance.State.PRESENT, now
    row._history_user = user
    row.save()


def start_meeting(
    user: User, plant: Plant, workshop: Workshop | None = None, *, now: dt.datetime | None = None
) -> Meeting:
    """Today's meeting of the plant (or workshop): the one that exists, else a new one with its
    agenda and sign-in sheet. A double click or two chairs at once get the same meeting: the
    unique constraint decides, and the loser reads the winner's row once it has committed."""
    now = now or timezone.now()
    if workshop is not None and workshop.plant_id != plant.pk:
        raise MeetingRefused(_("The workshop is not in this plant."))
    if not may_chair(user, plant.pk, workshop.pk if workshop else None):
        raise NotChair(_("Only a chair of this meeting may start it."))
    day = local_day(plant, now)
    today = Meeting.objects.filter(plant=plant, workshop=workshop, day=day)
    with transaction.atomic():
        meeting = today.first()
        if meeting is None:
            try:
                with transaction.atomic():
                    meeting = _create(user, plant, workshop, day, now)
            except IntegrityError:
                meeting = today.get()
        _sign_in_starter(meeting, user, now)
    return meeting


def _create(user: User, plant: Plant, workshop: Workshop | None, day: dt.date, now: dt.datetime) -> Meeting:
    previous = (
        Meeting.objects.filter(plant=plant, workshop=workshop, day__lt=day)
        .order_by("-day")
        .values_list("started_at", flat=True)
        .first()
    )
    meeting = Meeting(
        plant=plant,
        workshop=workshop,
        day=day,
        chair=user,
        started_at=now,
        escalations_since=previous or now - NEW_WINDOW,
    )
    meeting._history_user = user
    meeting.save()
    entries = agenda.agenda(candidates(plant, workshop, escalations_since=meeting.escalations_since, now=now))
    _store_items(meeting, entries, user=user)
    bulk_create_with_history(_expected(meeting), Attendance, default_user=user)
    return meeting


def _locked(meeting: Meeting, user: User, *, chair: bool = True) -> Meeting:
    """The meeting's row, locked; refused when it has ended or (chair=True) the user does not chair it."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if chair and not chairs(user, meeting):
        raise NotChair(_("Only the meeting's chair may do this."))
    if meeting.state != Meeting.State.RUNNING:
        raise MeetingRefused(_("The meeting has ended: its record no longer changes."))
    return meeting


def refresh_agenda(meeting: Meeting, *, user: User, now: dt.datetime | None = None) -> list[AgendaItem]:
    """Add the problems that qualify now and are not on the agenda yet, at its end."""
    now = now or timezone.now()
    with transaction.atomic():
        meeting = _locked(meeting, user)
        known = set(meeting.items.values_list("problem_id", flat=True))
        last = meeting.items.aggregate(last=Max("position"))["last"] or 0
        found = candidates(meeting.plant, meeting.workshop, escalations_since=meeting.escalations_since, now=now)
        entries = [entry for entry in agenda.agenda(found) if entry.problem_id not in known]
        return _store_items(meeting, entries, user=user, after=last)


# --- decisions on an agenda item ------------------------------------------------------------


def _item(item: AgendaItem, meeting: Meeting) -> AgendaItem:
    item = AgendaItem.objects.select_related("problem__plant", "problem__line__workshop").get(
        pk=item.pk, meeting=meeting
    )
    item.meeting = meeting
    return item


def _reason(meeting: Meeting, what: str) -> str:
    return f"QRQC meeting {meeting.day:%Y-%m-%d}: {what}"


def _discussed(item: AgendaItem, user: User, now: dt.datetime, fields: tuple[str, ...] = ()) -> None:
    item.discussed_at = now
    item._history_user = user
    item.save(update_fields=["discussed_at", *fields])


def _save_problem(problem: Problem, user: User, reason: str, fields: list[str]) -> None:
    problem._change_reason = reason[:100]
    problem._history_user = user
    problem.save(update_fields=fields)


def assign(
    item: AgendaItem, *, user: User, owner: User | None, due_date: dt.date | None, now: dt.datetime | None = None
) -> AgendaItem:
    """The chair names the problem's owner and closure date (issues.problems.lifecycle.assign_owner)."""
    now = now or timezone.now()
    with transaction.atomic():
        meeting = _locked(item.meeting, user)
        item = _item(item, meeting)
        problem = item.problem
        if not rights.can_assign(user, problem):
            raise NotChair(_("You may not assign this problem."))
        if owner is None or not people_of(problem.plant_id).filter(pk=owner.pk).exists():
            raise MeetingRefused(_("Choose the owner among the plant's people."))
        if due_date is None:
            raise MeetingRefused(_("Choose a closure date."))
        today = local_day(problem.plant, now)
        if due_date < today and due_date != problem.due_date:
            raise MeetingRefused(
                _("The closure date cannot be before today (%(today)s).") % {"today": today.isoformat()}
            )
        try:
            item.problem = lifecycle.assign_owner(
                problem,
                user=user,
                owner=owner,
                due_date=due_date,
                now=now,
                reason=_reason(meeting, "owner and due date assigned"),
            )
        except TransitionRefused as refusal:
            raise MeetingRefused(str(refusal)) from refusal
        _discussed(item, user, now)
    return item


def board_defaults(problem: Problem, needs_eightd: bool) -> dict[str, Colour]:
    """The colours the problem's status gives, before the chair's board status."""
    return step_colours(problem.status, problem.contained_at is not None, None, needs_eightd, None)


def set_board_status(
    item: AgendaItem, *, user: User, colours: Mapping[str, str], now: dt.datetime | None = None
) -> AgendaItem:
    """The chair's R/Y/G/N-A per step for a problem without an 8D report. Only the steps that
    differ from what the status gives are stored, so the others keep following the status."""
    now = now or timezone.now()
    with transaction.atomic():
        meeting = _locked(item.meeting, user)
        item = _item(item, meeting)
        problem = Problem.objects.select_for_update().select_related("plant").get(pk=item.problem_id)
        if EightDReport.objects.filter(problem=problem).exists():
            raise MeetingRefused(_("This problem's 8D sections give its board status."))
        if problem.status in Problem.FINISHED:
            raise MeetingRefused(_("The problem is already closed or cancelled."))
        unknown = [step for step in colours if step not in STEPS]
        wrong = [value for value in colours.values() if value not in Colour.__members__.values()]
        if unknown or wrong:
            raise MeetingRefused(_("Choose red, yellow, green or N/A for each step."))
        if colours.get("closure") == Colour.GREEN:
            raise MeetingRefused(_("Closure turns green when the problem is closed."))
        defaults = board_defaults(problem, lifecycle.needs_eightd(problem))
        chosen = {**problem.board_status, **colours}
        stored = {step: chosen[step] for step in STEPS if step in chosen and chosen[step] != defaults[step]}
        if stored != problem.board_status:
            problem.board_status = stored
            _save_problem(problem, user, _reason(meeting, "board status"), ["board_status"])
        item.problem = problem
        _discussed(item, user, now)
    return item


def record_decision(item: AgendaItem, *, user: User, text: str, now: dt.datetime | None = None) -> AgendaItem:
    """What the meeting decided, on the item and as the problem's last meeting decision."""
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise MeetingRefused(_("Write the decision."))
    if len(text) > MAX_DECISION:
        raise MeetingRefused(_("Keep the decision under %(count)d characters.") % {"count": MAX_DECISION})
    with transaction.atomic():
        meeting = _locked(item.meeting, user)
        item = _item(item, meeting)
        item.decision = text
        _discussed(item, user, now, ("decision",))
        problem = Problem.objects.select_for_update().get(pk=item.problem_id)
        if problem.decision != text:
            problem.decision = text
            _save_problem(problem, user, _reason(meeting, "decision"), ["decision"])
        item.problem = problem
    return item


def confirm_closure(item: AgendaItem, *, user: User, now: dt.datetime | None = None) -> AgendaItem:
    """The meeting confirms a closure: of a problem already closed, or by closing it now when
    the user may close and nothing blocks it. Otherwise refused with what is missing."""
    now = now or timezone.now()
    with transaction.atomic():
        meeting = _locked(item.meeting, user)
        item = _item(item, meeting)
        if item.closure_confirmed_at is not None:
            return item
        problem = item.problem
        if problem.status == Status.CANCELLED:
            raise MeetingRefused(_("The problem was cancelled; there is no closure to confirm."))
        if problem.status != Status.CLOSED:
            if not rights.can_close(user, problem):
                raise MeetingRefused(_("The problem is not closed yet, and only the quality department closes."))
            blockers = lifecycle.closure_blockers(problem)
            if blockers:
                raise MeetingRefused(_("The problem cannot be closed yet."), blockers)
            try:
                item.problem = lifecycle.close_problem(problem, user=user, now=now)
            except TransitionRefused as refusal:
                raise MeetingRefused(_("The problem cannot be closed yet."), [str(refusal)]) from refusal
        item.closure_confirmed_at = now
        _discussed(item, user, now, ("closure_confirmed_at",))
    return item


# --- the sign-in sheet ----------------------------------------------------------------------


def set_attendance(
    attendance: Attendance,
    *,
    user: User,
    state: str,
    stand_in: User | None = None,
    stand_in_name: str = "",
    note: str = "",
    now: dt.datetime | None = None,
) -> Attendance:
    """The chair records anyone's attendance; a person may only sign themselves in as present."""
    now = now or timezone.now()
    with transaction.atomic():
        meeting = _locked(attendance.meeting, user, chair=False)
        row = Attendance.objects.get(pk=attendance.pk, meeting=meeting)
        if not chairs(user, meeting) and not (row.person_id == user.pk and state == Attendance.State.PRESENT):
            raise NotChair(_("Only the meeting's chair records the attendance of others."))
        if state not in SETTABLE_STATES:
            raise MeetingRefused(_("Choose present, stand-in, absent or absent without leave."))
        stand_in_name = (stand_in_name or "").strip()[:120]
        if state == Attendance.State.STAND_IN:
            if stand_in is None and not stand_in_name:
                raise MeetingRefused(_("Name the stand-in: one of the plant's people, or write a name."))
            if stand_in is not None:
                if stand_in.pk == row.person_id:
                    raise MeetingRefused(_("A person cannot stand in for themselves."))
                if not people_of(meeting.plant_id).filter(pk=stand_in.pk).exists():
                    raise MeetingRefused(_("Choose the stand-in among the plant's people."))
        else:
            stand_in, stand_in_name = None, ""
        row.state, row.stand_in, row.stand_in_name, row.signed_at = state, stand_in, stand_in_name, now
        row.note = (note or "").strip()[:200]
        row.meeting = meeting
        row._history_user = user
        row.save(update_fields=["state", "stand_in", "stand_in_name", "note", "signed_at"])
    return row


def sign_in(meeting: Meeting, *, user: User, now: dt.datetime | None = None) -> Attendance:
    """ "I am here": the user's own row, present; someone of the plant not on the sheet joins
    it as a guest."""
    now = now or timezone.now()
    with transaction.atomic():
        meeting = _locked(meeting, user, chair=False)
        row = Attendance.objects.filter(meeting=meeting, person=user).first()
        if row is None:
            if not (user.is_superuser or people_of(meeting.plant_id).filter(pk=user.pk).exists()):
                raise NotChair(_("Only the plant's people sign this sheet."))
            row = Attendance(meeting=meeting, person=user, expected=False)
        row.state, row.signed_at, row.stand_in, row.stand_in_name = Attendance.State.PRESENT, now, None, ""
        row._history_user = user
        row.save()
    return row


def add_guest(meeting: Meeting, *, user: User, person: User, now: dt.datetime | None = None) -> Attendance:
    """A person of the plant who is not on the sheet, present. Adding one already there
    (a double submit) changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        meeting = _locked(meeting, user)
        if person is None or not people_of(meeting.plant_id).filter(pk=person.pk).exists():
            raise MeetingRefused(_("Choose the guest among the plant's people."))
        row = Attendance.objects.filter(meeting=meeting, person=person).first()
        if row is None:
            row = Attendance(
                meeting=meeting, person=person, expected=False, state=Attendance.State.PRESENT, signed_at=now
            )
            row._history_user = user
            row.save()
    return row


def end_meeting(meeting: Meeting, *, user: User, notes: str = "", now: dt.datetime | None = None) -> Meeting:
    """Ended, for good. Expected people nobody signed for were absent without leave (scoring
    counts them). Ending an ended meeting again changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if not chairs(user, meeting):
            raise NotChair(_("Only the meeting's chair may end it."))
        if meeting.state == Meeting.State.ENDED:
            return meeting
        for row in meeting.attendances.filter(expected=True, state=Attendance.State.UNKNOWN):
            row.state = Attendance.State.ABSENT_WITHOUT_LEAVE
            row._history_user = user
            row._change_reason = "not signed when the meeting ended"
            row.save(update_fields=["state"])
        meeting.state, meeting.ended_at = Meeting.State.ENDED, max(now, meeting.started_at)
        fields = ["state", "ended_at"]
        if notes.strip():
            meeting.notes = notes.strip()
            fields.append("notes")
        meeting._history_user = user
        meeting.save(update_fields=fields)
    return meeting
