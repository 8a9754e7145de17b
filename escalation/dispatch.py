"""Dispatch: expand each new event into one notification per (recipient, channel) and per group
webhook, then deliver due notifications. Claims are conditional UPDATEs and leases, so several
workers (or a worker killed and restarted) never lose a notification; every try is recorded."""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from escalation import channels
from escalation.messages import compose, language_for
from escalation.models import FALLBACK, Channel, DeliveryAttempt, EscalationEvent, Notification, WebhookEndpoint

logger = logging.getLogger(__name__)
BATCH = 500
MAX_ATTEMPTS = 6


def backoff(attempts: int) -> dt.timedelta:
    """5 s, 15 s, 45 s, 2 min 15 s, ... after the 1st, 2nd, 3rd ... failed try."""
    return dt.timedelta(seconds=5 * 3 ** (attempts - 1))


def dispatch(now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    expand_events(now)
    return deliver_due(now)


def expand_events(now: dt.datetime) -> int:
    created = 0
    for event_id in EscalationEvent.objects.undispatched().order_by("fired_at").values_list("pk", flat=True)[:BATCH]:
        with transaction.atomic():
            if EscalationEvent.objects.filter(pk=event_id, expanded_at__isnull=True).update(expanded_at=now) != 1:
                continue
            event = EscalationEvent.objects.select_related("problem__line__workshop", "problem__plant").get(pk=event_id)
            created += len(Notification.objects.bulk_create(notifications_for(event, now)))
    return created


def notifications_for(event: EscalationEvent, now: dt.datetime) -> list[Notification]:
    from django.contrib.auth import get_user_model

    people = (
        get_user_model()
        .objects.filter(pk__in=[person["user"] for person in event.recipients])
        .select_related("profile")
    )
    rows = [
        Notification(event=event, recipient=person, channel=channel, next_attempt_at=now)
        for person in people
        for channel in event.channels
        if channel != Channel.WEBHOOK
    ]
    if Channel.WEBHOOK in event.channels:
        problem = event.problem
        endpoints = WebhookEndpoint.objects.filter(plant_id=problem.plant_id, active=True).filter(
            Q(workshop__isnull=True) | Q(workshop_id=problem.line.workshop_id)
        )
        rows += [
            Notification(event=event, endpoint=endpoint, channel=Channel.WEBHOOK, next_attempt_at=now)
            for endpoint in endpoints
        ]
    return rows


def deliver_due(now: dt.datetime) -> int:
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    due = Notification.objects.filter(free, status=Notification.Status.PENDING, next_attempt_at__lte=now)
    repeats = Notification.objects.filter(
        free,
        status=Notification.Status.SENT,
        repeat_at__lte=now,
        acknowledged_at__isnull=True,
        event__problem__contained_at__isnull=True,
        event__problem__closed_at__isnull=True,
    )
    delivered = 0
    for notification_id in list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:BATCH]):
        delivered += deliver_one(notification_id, now)
    for notification_id in list(repeats.values_list("pk", flat=True)[:BATCH]):
        delivered += deliver_one(notification_id, now, repeat=True)
    return delivered


def deliver_one(notification_id: int, now: dt.datetime, *, repeat: bool = False) -> int:
    # Claim only what is still due: a dispatcher whose list is stale (another one just tried,
    # repeated, or the person acknowledged) must not send again before its time.
    if repeat:
        due = Q(status=Notification.Status.SENT, repeat_at__lte=now, acknowledged_at__isnull=True)
    else:
        due = Q(status=Notification.Status.PENDING, next_attempt_at__lte=now)
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    # Two commits per try (each waits for a WAL flush): the claim with the started attempt before
    # sending, the outcome after it.
    with transaction.atomic():
        claimed = Notification.objects.filter(free, due, pk=notification_id).update(
            lease_until=now + dt.timedelta(seconds=settings.QRQC_DISPATCH_LEASE_SECONDS), attempts=F("attempts") + 1
        )
        if claimed != 1:
            return 0  # another dispatcher holds it
        # Two narrow reads are cheaper than one nine-table join (PostgreSQL plans it every time).
        notification = Notification.objects.select_related("recipient__profile", "endpoint").get(pk=notification_id)
        notification.event = EscalationEvent.objects.select_related("problem__line__workshop", "problem__plant").get(
            pk=notification.event_id
        )
        attempt = DeliveryAttempt.objects.create(notification=notification, at=now, channel=notification.channel)
    message = compose(
        notification.event,
        language_for(notification.recipient, notification.endpoint, notification.event.problem.plant),
        now,
    )
    started = time.monotonic()
    try:
        result = channels.backend(notification.channel).send(notification, message)
    except Exception as exc:  # a broken backend is a failed try, recorded, not a lost message
        logger.exception("channel %s failed on notification %s", notification.channel, notification_id)
        result = channels.Result(channels.TRANSIENT, f"{type(exc).__name__}: {exc}")
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            outcome=result.outcome,
            response=result.response[:4000],
            destination=result.destination[:300],
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        return _record(notification, result, message, now, repeat)


def _record(notification: Notification, result, message, now: dt.datetime, repeat: bool) -> int:
    changes = {"lease_until": None, "subject": message.subject, "body": message.text}
    delivered = result.outcome == channels.DELIVERED
    if repeat:
        changes.update(repeats_done=F("repeats_done") + 1, repeat_at=_next_repeat(notification.repeats_done + 1, now))
    elif delivered:
        changes.update(status=Notification.Status.SENT, sent_at=now, repeat_at=_first_repeat(notification, now))
    elif result.outcome == channels.TRANSIENT and notification.attempts < MAX_ATTEMPTS:
        changes.update(next_attempt_at=now + backoff(notification.attempts))
    else:
        changes.update(status=Notification.Status.FAILED)
    Notification.objects.filter(pk=notification.pk).update(**changes)
    if changes.get("status") == Notification.Status.FAILED:
        _fall_back(notification, now)
    return int(delivered)


def _first_repeat(notification: Notification, now: dt.datetime) -> dt.datetime | None:
    """A phone call is repeated until the person acknowledges (DOMAIN.md §4: they must answer)."""
    if notification.channel != Channel.PHONE or not settings.QRQC_PHONE_REPEATS:
        return None
    return now + dt.timedelta(minutes=settings.QRQC_PHONE_REPEAT_MINUTES)


def _next_repeat(done: int, now: dt.datetime) -> dt.datetime | None:
    if done >= settings.QRQC_PHONE_REPEATS:
        return None
    return now + dt.timedelta(minutes=settings.QRQC_PHONE_REPEAT_MINUTES)


def _fall_back(notification: Notification, now: dt.datetime) -> None:
    following = FALLBACK.get(notification.channel)
    if notification.recipient_id is None or following is None:
        logger.error("notification %s failed for good with no channel left", notification.pk)
        return
    try:
        with transaction.atomic():
            Notification.objects.create(
                event_id=notification.event_id,
                recipient_id=notification.recipient_id,
                channel=following,
                fallback_from=notification.channel,
                next_attempt_at=now,
            )
    except IntegrityError:
        pass  # the tier already reaches this person on that channel


def acknowledge(user, event: EscalationEvent, now: dt.datetime | None = None) -> int:
    """ "I'm on it": stops repeat calls to this person for this tier; the clock goes on."""
    now = now or timezone.now()
    return Notification.objects.filter(event=event, recipient=user, acknowledged_at__isnull=True).update(
        acknowledged_at=now, repeat_at=None, read_at=now
    )
