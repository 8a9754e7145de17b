"""The escalations list with its exports, and /healthz for the plant's monitoring."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_not_required, permission_required
from django.db.models import Prefetch
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from escalation.filters import EscalationFilter
from escalation.health import sweep_health
from escalation.messages import tier_name
from escalation.models import LEVELS, Channel, EscalationEvent, Notification
from issues.common.lists import Export, list_page
from issues.common.scope import scope_filter

LEVEL_NAMES = dict(LEVELS)
CHANNEL_ORDER = list(Channel.values)


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


@login_not_required
@never_cache
def healthz(request):
    """For the plant's monitoring: 200 while the escalation sweep runs, 503 when it is stale or never ran."""
    health = sweep_health()
    return JsonResponse(health, status=200 if health["ok"] else 503)
