"""Dispatch: expand each new event into one notification per (recipient, channel) and per group
webhook, then deliver due notifications. Claims are conditional UPDATEs and leases, so several
workers (or a worker killed and restarted) never lose a notification; every try is recorded."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from escalation import channels
from escalation.messages import Message, compose, language_for
from escalation.models import FALLBACK, Channel, DeliveryAttempt, EscalationEvent, Notification, WebhookEndpoint

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)
BATCH = 500
CLAIM_CHUNK = 50
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
    """Deliver what is due. A channel that fails for good hands over to the next one within the
    same call (phone → SMS → e-mail → in-app), not one sweep period per hop."""
    started = time.monotonic()
    delivered = 0
    for _ in range(1 + len(FALLBACK)):
        sent, fell_back = _deliver_batch(now, started, repeat=False)
        delivered += sent
        if not fell_back:
            break
    return delivered + _deliver_batch(now, started, repeat=True)[0]


def _due(now: dt.datetime, repeat: bool) -> Q:
    # Claim only what is still due: a dispatcher whose list is stale (another one just tried,
    # repeated, or the person acknowledged) must not send again before its time.
    if repeat:
        return Q(
            status=Notification.Status.SENT,
            repeat_at__lte=now,
            acknowledged_at__isnull=True,
            event__problem__contained_at__isnull=True,
            event__problem__closed_at__isnull=True,
        )
    return Q(status=Notification.Status.PENDING, next_attempt_at__lte=now)


def _lease_clock(now: dt.datetime, started: float) -> dt.datetime:
    """`now` moved on by the time this call has taken: a claim late in a slow batch must not
    get a lease that has already run out (another dispatcher would send it a second time)."""
    return now + dt.timedelta(seconds=time.monotonic() - started)


def _claim(ids_query, now: dt.datetime, started: float, limit: int) -> list[tuple[Notification, DeliveryAttempt]]:
    """Lease up to `limit` notifications in one transaction and write their "started" attempts.
    SKIP LOCKED lets parallel dispatchers take different rows instead of queueing in step."""
    at = _lease_clock(now, started)
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=at)
    with transaction.atomic():
        ids = list(ids_query.filter(free).select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Notification.objects.filter(pk__in=ids).update(
            lease_until=at + dt.timedelta(seconds=settings.QRQC_DISPATCH_LEASE_SECONDS), attempts=F("attempts") + 1
        )
        notifications = list(
            Notification.objects.filter(pk__in=ids).select_related(
                "recipient__profile", "endpoint", "event__problem__line__workshop", "event__problem__plant"
            )
        )
        attempts = DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(notification=notification, at=now, channel=notification.channel)
            for notification in notifications
        )
    return list(zip(notifications, attempts, strict=True))


def _deliver_batch(now: dt.datetime, started: float, *, repeat: bool) -> tuple[int, bool]:
    """(delivered, some channel failed for good and created a fallback)."""
    due = Notification.objects.filter(_due(now, repeat)).order_by(
        "next_attempt_at" if not repeat else "repeat_at", "pk"
    )
    delivered, fell_back = 0, False
    messages: dict[tuple[int, str], Message] = {}
    for _ in range(BATCH // CLAIM_CHUNK):
        claimed = _claim(due, now, started, CLAIM_CHUNK)
        for notification, attempt in claimed:
            sent, failed = _send(notification, attempt, now, repeat, messages, started)
            delivered, fell_back = delivered + sent, fell_back or failed
        if len(claimed) < CLAIM_CHUNK:
            break
    return delivered, fell_back


def _still_ours(notification: Notification, attempt: DeliveryAttempt, now: dt.datetime, started: float) -> bool:
    """Renew the lease right before sending. If it ran out while earlier ones in the chunk were
    sent and another dispatcher claimed this one (attempts moved on), leave it to them."""
    lease = dt.timedelta(seconds=settings.QRQC_DISPATCH_LEASE_SECONDS)
    clock = _lease_clock(now, started)
    assert notification.lease_until is not None  # the claim set it
    if clock < notification.lease_until - lease / 2:
        return True  # most of the claim's lease is left: nobody else can have taken it
    lease_until = clock + lease
    if Notification.objects.filter(pk=notification.pk, attempts=notification.attempts).update(lease_until=lease_until):
        return True
    attempt.delete()  # nothing was tried under this claim
    return False


def _send(notification, attempt, now: dt.datetime, repeat: bool, messages: dict, started: float) -> tuple[int, bool]:
    if not _still_ours(notification, attempt, now, started):
        return 0, False
    language = language_for(notification.recipient, notification.endpoint, notification.event.problem.plant)
    key = (notification.event_id, language)
    if key not in messages:  # the same words for everyone told of this event in this language
        messages[key] = compose(notification.event, language, now)
    message = messages[key]
    clock = time.monotonic()
    try:
        result = channels.backend(notification.channel).send(notification, message)
    except Exception as exc:  # a broken backend is a failed try, recorded, not a lost message
        logger.exception("channel %s failed on notification %s", notification.channel, notification.pk)
        result = channels.Result(channels.TRANSIENT, f"{type(exc).__name__}: {exc}")
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            outcome=result.outcome,
            response=result.response[:4000],
            destination=result.destination[:300],
            duration_ms=int((time.monotonic() - clock) * 1000),
        )
        return _record(notification, result, message, now, repeat)


def _record(notification: Notification, result, message, now: dt.datetime, repeat: bool) -> tuple[int, bool]:
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
    failed = changes.get("status") == Notification.Status.FAILED
    if failed:
        _fall_back(notification, now)
    return int(delivered), failed


def _first_repeat(notification: Notification, now: dt.datetime) -> dt.datetime | None:
    """A phone call is repeated until the person acknowledges (docs/escalation.md §Dispatch: they must answer)."""
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


def acknowledge(user: User, event: EscalationEvent, now: dt.datetime | None = None) -> int:
    """ "I'm on it": stops repeat calls to this person for this tier; the clock goes on."""
    now = now or timezone.now()
    return Notification.objects.filter(event=event, recipient=user, acknowledged_at__isnull=True).update(
        acknowledged_at=now, repeat_at=None, read_at=now
    )
