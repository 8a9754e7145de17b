"""A person's in-app messages: what the notification centre lists and the bell counts."""

from __future__ import annotations

from escalation.models import Channel, Notification


def inbox(user):
    """The in-app messages delivered to this person (the bell counts the unread ones)."""
    return Notification.objects.filter(recipient=user, channel=Channel.INAPP, status=Notification.Status.SENT)


def unread_count(user) -> int:
    return inbox(user).filter(read_at__isnull=True).count()
