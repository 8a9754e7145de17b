"""The escalation ladder of one problem as its page shows it: each tier of the plan within the
grade's ceiling (fired, next, waiting or stopped), who was told on which channel and whether it
arrived, the alarms and 8D notices raised, and the containment form that stops the clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from escalation import ladder, recipients
from escalation.forms import ContainmentForm
from escalation.messages import tier_name
from escalation.models import LEVELS, Channel, EscalationEvent, NoticeKind, Notification
from escalation.sweep import climbing
from issues.common import rights
from issues.common.people import person_name
from issues.models import Problem, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.http import HttpRequest

LEVEL_NAMES = dict(LEVELS)
CHANNEL_ORDER = list(Channel.values)


@dataclass
class Told:
    """One person (or one group chat) told at a tier or alarm, with every channel tried."""

    name: str
    role: str = ""
    is_group: bool = False
    is_me: bool = False
    user_id: int | None = None
    notifications: list[Notification] = field(default_factory=list)
    acknowledged_at: dt.datetime | None = None

    @property
    def delivered(self) -> bool:
        return any(item.status == Notification.Status.SENT for item in self.notifications)

    @property
    def failures(self) -> list[tuple[str, str]]:
        """Why channels failed, one line per reason: ("Phone call, SMS", "no gateway configured")."""
        reasons: dict[str, list[str]] = {}
        for item in self.notifications:
            if item.status == Notification.Status.FAILED:
                reason = item.last_attempt.response if item.last_attempt else ""
                reasons.setdefault(reason[:120], []).append(item.get_channel_display())
        return [(", ".join(channels), reason) for reason, channels in reasons.items()]

    @property
    def all_failed(self) -> bool:
        return bool(self.notifications) and all(
            item.status == Notification.Status.FAILED for item in self.notifications
        )


@dataclass
class Rung:
    """A tier of the plan within the grade's ceiling, or an alarm raised."""

    label: str
    state: str  # fired | next | waiting | stopped
    level: int = 0
    due_at: dt.datetime | None = None
    event: EscalationEvent | None = None
    told: list[Told] = field(default_factory=list)
    missing_roles: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)

    @property
    def is_notice(self) -> bool:
        """An 8D section's due-soon or overdue notice, listed with the alarms."""
        return self.event is not None and self.event.kind in NoticeKind.values

    @property
    def late_minutes(self) -> int:
        """Fired this long after it was due (a problem logged late fires its due tiers at once)."""
        if self.event is None or self.due_at is None:
            return 0
        return max(0, int((self.event.fired_at - self.due_at).total_seconds() // 60))


@dataclass
class Timeline:
    problem: Problem
    rungs: list[Rung]
    alarms: list[Rung]
    next_rung: Rung | None
    climbing: bool
    stopped_reason: str
    stopped_at: dt.datetime | None
    ceiling_label: str
    next_alarm: tuple[str, dt.datetime] | None
    now: dt.datetime

    @property
    def deadline_ms(self) -> int | None:
        at = self.problem.escalate_at
        return int(at.timestamp() * 1000) if at and self.climbing else None

    @property
    def now_ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    @property
    def overdue(self) -> bool:
        at = self.problem.escalate_at
        return bool(at and self.climbing and at <= self.now)

    @property
    def has_notices(self) -> bool:
        return any(rung.is_notice for rung in self.alarms)


def _role_label(role: str) -> str:
    if role in recipients.TEAM_ROLES:  # told of an 8D notice as the owner or a team member
        return str(recipients.TEAM_ROLES[role])
    try:
        return str(Role(role).label)
    except ValueError:
        return role


def _told(event: EscalationEvent, viewer_id: int | None) -> list[Told]:
    """Everyone the event reached, in the order resolved, then the group chats."""
    roles = {person["user"]: person.get("role", "") for person in event.recipients}
    people: dict[object, Told] = {}
    for person in event.recipients:  # also those not yet dispatched
        people[("user", person["user"])] = Told(
            name=person.get("name") or person.get("username", ""),
            role=_role_label(person.get("role", "")),
            is_me=person["user"] == viewer_id,
            user_id=person["user"],
        )
    for notification in event.notifications.all():
        key: tuple[str, int | None]
        if notification.recipient_id is not None:
            key = ("user", notification.recipient_id)
            if key not in people:
                people[key] = Told(
                    name=person_name(notification.recipient),
                    role=_role_label(roles.get(notification.recipient_id, "")),
                    is_me=notification.recipient_id == viewer_id,
                    user_id=notification.recipient_id,
                )
        else:
            key = ("group", notification.endpoint_id)
            if key not in people:
                name = notification.endpoint.name if notification.endpoint else _("group chat")
                people[key] = Told(name=name, role=_("group chat"), is_group=True)
        told = people[key]
        attempts = list(notification.delivery_attempts.all())
        notification.last_attempt = attempts[-1] if attempts else None
        told.notifications.append(notification)
        if notification.acknowledged_at and (
            told.acknowledged_at is None or notification.acknowledged_at < told.acknowledged_at
        ):
            told.acknowledged_at = notification.acknowledged_at
    for told in people.values():
        told.notifications.sort(key=lambda item: (bool(item.fallback_from), CHANNEL_ORDER.index(item.channel)))
    return list(people.values())


def events_for(problem: Problem) -> list[EscalationEvent]:
    """The problem's ledger in three queries, whatever its size."""
    notifications = Notification.objects.select_related("recipient__profile", "endpoint").prefetch_related(
        "delivery_attempts"
    )
    # Through all(): django-stubs 5.2 rejects a Prefetch given to a manager's prefetch_related.
    return list(
        problem.escalation_events.all()
        .prefetch_related(Prefetch("notifications", queryset=notifications))
        .order_by("fired_at", "-level", "pk")
    )


def timeline(problem: Problem, viewer: User | AnonymousUser | None = None, now: dt.datetime | None = None) -> Timeline:
    now = now or timezone.now()
    viewer_id = getattr(viewer, "pk", None)
    plan, grade = problem.escalation_plan or {}, problem.grade
    events = events_for(problem)
    tier_events = {event.level: event for event in events if event.kind == EscalationEvent.TIER}
    is_climbing = climbing(problem)
    steps = ladder.tiers(plan, grade)
    planned = {step.level for step in steps}
    rungs: list[Rung] = []
    next_rung = None
    for step in steps:
        event = tier_events.get(step.level)
        if event is not None:
            state = "fired"
        elif not is_climbing:
            state = "stopped"
        elif next_rung is None and step.level < problem.escalation_level:
            state = "next"
        else:
            state = "waiting"
        rung = Rung(
            label=str(LEVEL_NAMES.get(step.level, step.level)),
            state=state,
            level=step.level,
            due_at=step.due_at(problem.occurred_at),
            event=event,
            told=_told(event, viewer_id) if event else [],
            missing_roles=[_role_label(role) for role in (event.missing_roles if event else ())],
            roles=[_role_label(role) for role in step.roles],
        )
        if state == "next":
            next_rung = rung
        rungs.append(rung)
    for level, event in tier_events.items():  # fired under a plan that no longer lists it
        if level not in planned:
            rungs.append(_fired_rung(event, viewer_id))
    rungs.sort(key=lambda rung: -rung.level)
    alarms = [_fired_rung(event, viewer_id) for event in events if event.kind != EscalationEvent.TIER]
    # Notices fired by one sweep read D0 to D8 (the ledger orders tiers fired at once 4 to 1).
    # An alarm's rung always has its event.
    alarms.sort(key=lambda rung: (cast(EscalationEvent, rung.event).fired_at, rung.level if rung.is_notice else 0))
    stopped = _stopped(problem)
    return Timeline(
        problem=problem,
        rungs=rungs,
        alarms=alarms,
        next_rung=next_rung,
        climbing=is_climbing,
        stopped_reason=stopped[0],
        stopped_at=stopped[1],
        ceiling_label=str(LEVEL_NAMES.get(ladder.ceiling(plan, grade), "")),
        next_alarm=_next_alarm(problem, plan),
        now=now,
    )


def _fired_rung(event: EscalationEvent, viewer_id) -> Rung:
    label = str(LEVEL_NAMES.get(event.level, event.level)) if event.kind == EscalationEvent.TIER else tier_name(event)
    return Rung(
        label=label,
        state="fired",
        level=event.level,
        due_at=event.due_at,
        event=event,
        told=_told(event, viewer_id),
        missing_roles=[_role_label(role) for role in event.missing_roles],
    )


def _stopped(problem: Problem) -> tuple[str, dt.datetime | None]:
    """Why the climb stopped and when: the first containment stops it, else closing."""
    if problem.contained_at:
        return _("contained"), problem.contained_at
    if problem.status == Problem.Status.CANCELLED:
        return _("cancelled"), problem.closed_at
    if problem.closed_at or problem.status == Problem.Status.CLOSED:
        return _("closed"), problem.closed_at
    if problem.status != Problem.Status.OPEN:
        return problem.get_status_display(), None
    return "", None


def _next_alarm(problem: Problem, plan: dict) -> tuple[str, dt.datetime] | None:
    if problem.alarm_at is None or problem.status in Problem.FINISHED:
        return None
    for step in ladder.timed_alarms(plan):
        if step.kind not in problem.alarms_fired:
            event = EscalationEvent(kind=step.kind, level=0)
            return tier_name(event), problem.alarm_at
    return None


def problem_context(
    request: HttpRequest, problem: Problem, containment_form: ContainmentForm | None = None
) -> dict[str, Any]:
    """What the problem page adds for escalation (issues.problems.page)."""
    can_contain = rights.can_contain(request.user, problem) and problem.status not in Problem.FINISHED
    if containment_form is None and can_contain:
        containment_form = ContainmentForm(initial={"done_by": person_name(request.user), "quantity_secured": 0})
    return {
        "escalation": timeline(problem, request.user),
        "containments": list(problem.containments.select_related("recorded_by__profile")),
        "containment_form": containment_form,
        "can_contain": can_contain,
    }
