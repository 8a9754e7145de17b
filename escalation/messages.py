"""What a notification says, in the recipient's language: number, grade, line, title, minutes
open, tier, and a link. An SMS is cut to fit one message."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from escalation import ladder
from escalation.models import AlarmKind, EscalationEvent


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    sms: str
    link: str
    language: str


def language_for(user=None, endpoint=None, plant=None) -> str:
    if endpoint is not None:
        return endpoint.language
    profile = getattr(user, "profile", None) if user is not None else None
    if profile is not None and profile.language:
        return profile.language
    return plant.language if plant is not None else settings.LANGUAGE_CODE


def tier_name(event: EscalationEvent) -> str:
    if event.kind == EscalationEvent.TIER:
        names = {
            4: _("level 4 (line)"),
            3: _("level 3 (workshop)"),
            2: _("level 2 (managers)"),
            1: _("level 1 (general manager)"),
        }
        return names.get(event.level, str(event.level))
    return str(AlarmKind(event.kind).label)


def compose(event: EscalationEvent, language: str, now: dt.datetime) -> Message:
    problem = event.problem
    link = settings.SITE_URL.rstrip("/") + reverse("problem_short", args=[problem.pk])
    with translation.override(language):
        minutes = ladder.minutes_open(problem.occurred_at, now)
        values = {
            "grade": problem.grade,
            "number": problem.number,
            "line": str(problem.line),
            "title": problem.title,
            "minutes": minutes,
            "tier": tier_name(event),
            "short_tier": f"L{event.level}" if event.kind == EscalationEvent.TIER else tier_name(event),
        }
        if event.kind == EscalationEvent.TIER:
            subject = _("[QRQC] %(grade)s %(number)s escalated to %(tier)s") % values
            text = (
                _(
                    "%(grade)s problem %(number)s on %(line)s: %(title)s. Open %(minutes)s min, not contained: "
                    "escalated to %(tier)s."
                )
                % values
            )
        else:
            subject = _("[QRQC] %(tier)s: %(number)s") % values
            text = _("%(tier)s: %(grade)s problem %(number)s on %(line)s: %(title)s (open %(minutes)s min).") % values
        sms = fit_sms(
            _("QRQC %(grade)s %(number)s %(line)s %(minutes)smin %(short_tier)s: ") % values, problem.title, link
        )
        return Message(subject=subject, text=f"{text} {link}", sms=sms, link=link, language=language)


def fit_sms(head: str, title: str, link: str) -> str:
    """One SMS: at most QRQC_SMS_MAX_CHARS characters (70 is one segment with Chinese text).
    The title is shortened first, then the link dropped, never the facts before them."""
    limit = settings.QRQC_SMS_MAX_CHARS
    room = limit - len(head) - len(link) - 1
    if room >= 2:
        shown = title if len(title) <= room else title[: room - 1] + "…"
        return f"{head}{shown} {link}"
    room = limit - len(head)
    if room >= 2:
        return head + (title if len(title) <= room else title[: room - 1] + "…")
    return head[:limit]
