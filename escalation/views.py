"""What people see of escalation: the ladder on the problem page, the containment form that
stops the clock, the in-app notification centre, the escalations list with its exports, and
/healthz for the sweep."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from escalation import ladder, recipients
from escalation.dispatch import acknowledge
from escalation.filters import EscalationFilter
from escalation.forms import ContainmentForm
from escalation.messages import tier_name
from escalation.models import LEVELS, Channel, EscalationEvent, NoticeKind, Notification, SweepRun
from escalation.sweep import climbing
from issues.common import rights
from issues.common.lists import Export, list_page
from issues.common.scope import scope_filter, visible_problems
from issues.lifecycle import contain
from issues.models import Problem, Role

LEVEL_NAMES = dict(LEVELS)
CHANNEL_ORDER = list(Channel.values)
FINISHED = (Problem.Status.CLOSED, Problem.Status.CANCELLED)


# --- the ladder on the problem page -------------------------------------------------------


@dataclass
class Told:
    """One person (or one group chat) told at a tier or alarm, with every channel tried."""

    name: str
    role: str = ""
    is_group: bool = False
    is_me: bool = False
    user_id: int | None = None
    notifications: list = field(default_factory=list)
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


def _person_name(user) -> str:
    profile = getattr(user, "profile", None)
    return (profile.display_name if profile else "") or user.get_username()


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
        if notification.recipient_id is not None:
            key = ("user", notification.recipient_id)
            if key not in people:
                people[key] = Told(
                    name=_person_name(notification.recipient),
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


def events_for(problem: Problem):
    """The problem's ledger in three queries, whatever its size."""
    notifications = Notification.objects.select_related("recipient__profile", "endpoint").prefetch_related(
        "delivery_attempts"
    )
    return list(
        problem.escalation_events.prefetch_related(Prefetch("notifications", queryset=notifications)).order_by(
            "fired_at", "-level", "pk"
        )
    )


def timeline(problem: Problem, viewer=None, now: dt.datetime | None = None) -> Timeline:
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
    alarms.sort(key=lambda rung: (rung.event.fired_at, rung.level if rung.is_notice else 0))
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
    if problem.alarm_at is None or problem.status in FINISHED:
        return None
    for step in ladder.timed_alarms(plan):
        if step.kind not in problem.alarms_fired:
            event = EscalationEvent(kind=step.kind, level=0)
            return tier_name(event), problem.alarm_at
    return None


def problem_context(request, problem: Problem, containment_form: ContainmentForm | None = None) -> dict:
    """What the problem page adds for escalation (issues.views.problem_detail)."""
    can_contain = rights.can_contain(request.user, problem) and problem.status not in FINISHED
    if containment_form is None and can_contain:
        containment_form = ContainmentForm(initial={"done_by": _person_name(request.user), "quantity_secured": 0})
    return {
        "escalation": timeline(problem, request.user),
        "containments": list(problem.containments.select_related("recorded_by__profile")),
        "containment_form": containment_form,
        "can_contain": can_contain,
    }


def _visible_problem(request, pk: int) -> Problem:
    return get_object_or_404(visible_problems(request.user).select_related("plant", "line__workshop"), pk=pk)


@login_not_required
def problem_escalation(request, pk: int):
    """The ladder alone, refreshed by htmx when the countdown runs out. Signed out (the session
    ended while the page stayed open): 204, so htmx leaves the page as it is."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    if not request.user.has_perm("issues.view_problem"):
        raise PermissionDenied
    problem = _visible_problem(request, pk)
    return render(
        request, "escalation/_timeline.html", {"problem": problem, "escalation": timeline(problem, request.user)}
    )


@require_POST
@permission_required("issues.add_problem", raise_exception=True)
def contain_problem(request, pk: int):
    problem = _visible_problem(request, pk)
    if not rights.can_contain(request.user, problem):
        raise PermissionDenied
    if problem.status in FINISHED:
        messages.error(
            request, _("This problem is %(status)s; nothing to contain.") % {"status": problem.get_status_display()}
        )
        return redirect("problem_detail", pk=problem.pk)
    form = ContainmentForm(request.POST)
    if not form.is_valid():
        from issues.views import problem_detail

        response = problem_detail(request, problem.pk, containment_form=form)
        response.status_code = 400
        return response
    first = problem.contained_at is None
    containment = contain(
        problem,
        action=form.cleaned_data["action"],
        done_by=form.cleaned_data["done_by"],
        quantity_secured=form.cleaned_data["quantity_secured"],
        user=request.user,
    )
    if first:
        when = timezone.localtime(containment.recorded_at).strftime("%H:%M")
        messages.success(request, _("Containment recorded: escalation stopped at %(time)s.") % {"time": when})
    else:
        messages.success(request, _("Containment action added."))
    return redirect(reverse("problem_detail", args=[problem.pk]) + "#escalation")


# --- the in-app notification centre -------------------------------------------------------


def inbox(user):
    """The in-app messages delivered to this person (the bell counts the unread ones)."""
    return Notification.objects.filter(recipient=user, channel=Channel.INAPP, status=Notification.Status.SENT)


def unread_count(user) -> int:
    return inbox(user).filter(read_at__isnull=True).count()


def notifications(request):
    items = (
        inbox(request.user)
        .select_related("event__problem__line", "event__problem__plant")
        .order_by("-created_at", "-id")
    )
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    rows = list(page)
    for row in rows:
        row.was_unread = row.read_at is None
    # Opening the centre reads what it lists; the bell in this page's header already shows it.
    inbox(request.user).filter(read_at__isnull=True).update(read_at=timezone.now())
    return render(request, "escalation/notifications.html", {"page": page, "rows": rows})


@login_not_required
def notification_bell(request):
    """The header's bell, polled by htmx. Signed out (session over): 286 stops the polling."""
    if not request.user.is_authenticated:
        return HttpResponse(status=286)
    return render(request, "escalation/_bell.html")


@require_POST
def acknowledge_event(request, event_id: int):
    """ "I'm on it": stops repeat calls to this person for this tier; the clock goes on."""
    event = (
        EscalationEvent.objects.filter(pk=event_id, notifications__recipient=request.user)
        .select_related("problem")
        .distinct()
        .first()
    )
    if event is None:
        raise Http404
    acknowledge(request.user, event)
    if request.htmx:
        row = (
            inbox(request.user)
            .filter(event=event)
            .select_related("event__problem__line", "event__problem__plant")
            .first()
        )
        if row is None:
            return HttpResponse(status=204, headers={"HX-Trigger": "notifications-changed"})
        row.was_unread = False
        response = render(request, "escalation/_notification.html", {"row": row})
        response["HX-Trigger"] = "notifications-changed"
        return response
    messages.success(
        request,
        _("Thank you: %(number)s is yours. Repeat calls for this tier stop.") % {"number": event.problem.number},
    )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("notifications")
    return redirect(target)


# --- the escalations list ----------------------------------------------------------------


@dataclass
class EventSummary:
    delivered: int
    failed: int
    pending: int
    acknowledged: int
    channels: list[str]

    @property
    def channel_labels(self) -> list[str]:
        names = dict(Channel.choices)
        return [str(names.get(channel, channel)) for channel in self.channels]


def summarize(event: EscalationEvent) -> EventSummary:
    items = list(event.notifications.all())
    used = {item.channel for item in items} or set(event.channels)
    return EventSummary(
        delivered=sum(item.status == Notification.Status.SENT for item in items),
        failed=sum(item.status == Notification.Status.FAILED for item in items),
        pending=sum(item.status == Notification.Status.PENDING for item in items),
        acknowledged=len({item.recipient_id for item in items if item.acknowledged_at}),
        channels=sorted(used, key=lambda channel: CHANNEL_ORDER.index(channel) if channel in CHANNEL_ORDER else 99),
    )


def event_label(event: EscalationEvent) -> str:
    if event.kind == EscalationEvent.TIER:
        return str(LEVEL_NAMES.get(event.level, event.level))
    return tier_name(event)


def visible_events(user):
    notifications = Notification.objects.only(
        "id", "event_id", "channel", "status", "recipient_id", "acknowledged_at", "fallback_from"
    )
    return (
        EscalationEvent.objects.filter(scope_filter(user, line_path="problem__line", perm="issues.view_problem"))
        .select_related("problem__line__workshop", "problem__plant")
        .prefetch_related(Prefetch("notifications", queryset=notifications))
        .order_by("-fired_at", "-pk")
    )


def event_rows(events):
    yield [
        _("Fired at"),
        _("Problem number"),
        _("Grade"),
        _("Line"),
        _("Tier / alarm"),
        _("Recipients"),
        _("Channels"),
        _("Delivered"),
        _("Failed"),
        _("Fell through"),
    ]
    for event in events:
        summary = summarize(event)
        yield [
            timezone.localtime(event.fired_at).strftime("%Y-%m-%d %H:%M:%S"),
            event.problem.number,
            event.problem.grade,
            str(event.problem.line),
            event_label(event),
            ", ".join(person.get("name") or person.get("username", "") for person in event.recipients),
            ", ".join(summary.channel_labels),
            summary.delivered,
            summary.failed,
            _("yes") if event.fell_through else "",
        ]


@permission_required("issues.view_problem", raise_exception=True)
def escalation_list(request):
    return list_page(
        request,
        EscalationFilter,
        visible_events(request.user),
        template="escalation/escalation_list.html",
        export=Export(lambda events: event_rows(events.iterator(chunk_size=2000)), "qrqc-escalations"),
        rows=lambda events: [(event, summarize(event), event_label(event)) for event in events],
    )


# --- health ------------------------------------------------------------------------------


def sweep_health(now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    last = SweepRun.objects.filter(name="sweep").values_list("last_run_at", flat=True).first()
    stale_after = settings.QRQC_SWEEP_STALE_SECONDS
    age = max(0.0, (now - last).total_seconds()) if last else None
    return {
        "ok": age is not None and age <= stale_after,
        "sweep_last_run": last.isoformat() if last else None,
        "sweep_age_seconds": round(age, 1) if age is not None else None,
        "stale_after_seconds": stale_after,
    }


@login_not_required
@never_cache
def healthz(request):
    """For the plant's monitoring: 200 while the escalation sweep runs, 503 when it is stale or never ran."""
    health = sweep_health()
    return JsonResponse(health, status=200 if health["ok"] else 503)
