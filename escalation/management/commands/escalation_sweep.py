"""One sweep and one dispatch, synchronously: the same functions the beat task calls."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from escalation.dispatch import dispatch
from escalation.models import Notification
from escalation.sweep import sweep


class Command(BaseCommand):
    help = "Run one escalation sweep and one dispatch; print one JSON object per tier or alarm fired."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO 8601 time to sweep at (default: now)")

    def handle(self, *args, now=None, **options):
        moment = timezone.now()
        if now is not None:  # an empty --now (an unset shell variable) is an error, not "now"
            try:
                moment = parse_datetime(now)
            except ValueError:  # well formed but impossible, e.g. the 30th of February
                moment = None
            if moment is None:
                raise CommandError(f"--now must be an ISO 8601 date and time, got {now!r}")
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment, timezone.get_current_timezone())
        events = sweep(moment)
        dispatch(moment)
        for event in events:
            sent = Notification.objects.filter(event=event, status=Notification.Status.SENT)
            self.stdout.write(
                json.dumps(
                    {
                        "problem": event.problem_id,
                        "number": event.problem.number,
                        "kind": event.kind,
                        "level": event.level,
                        "due_at": event.due_at.isoformat(),
                        "recipients": [person["username"] for person in event.recipients],
                        "fell_through": event.fell_through,
                        "channels": sorted(set(sent.values_list("channel", flat=True))),
                    },
                    ensure_ascii=False,
                )
            )
