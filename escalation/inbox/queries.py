"""A person's in-app messages: what the notification centre lists and the bell counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from escalation.models import Channel, Notification

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def inbox(user: User) -> QuerySet[Notification]:
    """The in-app messages delivered to this person (the bell counts the unread ones)."""
    return Notification.objects.filter(recipient=user, channel=Channel.INAPP, status=Notification.Status.SENT)


def unread_count(user: User) -> int:
    return inbox(user).filter(read_at__isnull=True).count()
