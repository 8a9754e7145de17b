"""What a notification says, in the recipient's language: number, grade, line, title, minutes
open, tier, and a link; for an 8D notice, the section and its deadline in the plant's time
instead of the minutes open, and a link to the section. An SMS is cut to fit one message; the
group robots' markdown carries the same words with what people typed made inert."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from escalation import ladder
from escalation.models import AlarmKind, EscalationEvent, NoticeKind
from issues.eightd import rules as eightd
from issues.models import Section, SectionCode

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from escalation.models import WebhookEndpoint
    from issues.models import Plant


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    sms: str
    link: str
    language: str
    markdown_subject: str = ""  # for WeCom and DingTalk robots: values escaped, the link live
    markdown_text: str = ""


# Characters that start markdown in the robots' dialects (WeCom, DingTalk): links and images,
# code, bold and italics, strike-through, HTML tags and <@userid> mentions, entities, headings,
# quotes, tables, and @ mentions. Neither dialect documents a backslash escape, so each becomes
# its full-width form, which both show as the same sign and neither reads as markup.
MARKDOWN_LOOKALIKES = str.maketrans(
    {
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "`": "｀",
        "*": "＊",
        "_": "＿",
        "~": "～",
        "<": "＜",
        ">": "＞",
        "&": "＆",
        "#": "＃",
        "|": "｜",
        "!": "！",
        "@": "＠",
    }
)
# A line break would let typed text start a heading, a list or a quote of its own.
LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def markdown_text(text: str) -> str:
    """Text a person typed (a title, a line's name), shown as itself inside a robot's markdown:
    on one line, with no link, mention or formatting of its own. A bare address loses its
    "://" so the client does not make a link of it either."""
    return LINE_BREAKS.sub(" ", text).translate(MARKDOWN_LOOKALIKES).replace("://", "：//")


def markdown_link(link: str) -> str:
    return f"[{link}]({link})"


def message_from(subject: str, text: str, values: dict, *, sms: str, link: str, language: str) -> Message:
    """Fill the translated `subject` and `text` with `values`: as they are for e-mail, SMS and
    the notification centre, escaped for the robots' markdown, where only our link is a link.
    Every value is escaped, ours too: one rule, which the next value added cannot miss."""
    escaped = {name: markdown_text(str(value)) for name, value in values.items()}
    return Message(
        subject=subject % values,
        text=f"{text % values} {link}",
        sms=sms,
        link=link,
        language=language,
        markdown_subject=subject % escaped,
        markdown_text=f"{text % escaped} {markdown_link(link)}",
    )


def language_for(user: User | None = None, endpoint: WebhookEndpoint | None = None, plant: Plant | None = None) -> str:
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
    if event.kind in NoticeKind.values:
        return notice_name(event)
    return str(AlarmKind(event.kind).label)


def notice_name(event: EscalationEvent) -> str:
    """ "D4 due soon", "D4 overdue"; a rework round after a return says which one."""
    values = {"section": eightd.section_of_level(event.level), "round": event.level // 10}
    if event.kind == NoticeKind.SECTION_DUE_SOON:
        name = _("%(section)s due soon") % values
    else:
        name = _("%(section)s overdue") % values
    if values["round"]:
        name += " " + _("(rework %(round)s)") % values
    return name


def compose(event: EscalationEvent, language: str, now: dt.datetime) -> Message:
    if event.kind in NoticeKind.values:
        return compose_notice(event, language)
    problem = event.problem
    link = settings.SITE_URL.rstrip("/") + reverse("problems:short", args=[problem.pk])
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
            subject = _("[QRQC] %(grade)s %(number)s escalated to %(tier)s")
            text = _(
                "%(grade)s problem %(number)s on %(line)s: %(title)s. Open %(minutes)s min, not contained: "
                "escalated to %(tier)s."
            )
        else:
            subject = _("[QRQC] %(tier)s: %(number)s")
            text = _("%(tier)s: %(grade)s problem %(number)s on %(line)s: %(title)s (open %(minutes)s min).")
        sms = fit_sms(
            _("QRQC %(grade)s %(number)s %(line)s %(minutes)smin %(short_tier)s: ") % values, problem.title, link
        )
        return message_from(subject, text, values, sms=sms, link=link, language=language)


def compose_notice(event: EscalationEvent, language: str) -> Message:
    """An 8D section due soon or overdue: which section, its deadline in the plant's time."""
    problem = event.problem
    code = eightd.section_of_level(event.level)
    # The deadline as it is now: the event holds when the notice fell due, not the deadline.
    due = Section.objects.filter(report__problem=problem, code=code).values_list("due_at", flat=True).first()
    due = timezone.localtime(due or event.due_at, problem.plant.zone)
    link = settings.SITE_URL.rstrip("/") + reverse("eightd:section", args=[problem.pk, code])
    with translation.override(language):
        values = {
            "grade": problem.grade,
            "number": problem.number,
            "line": str(problem.line),
            "title": problem.title,
            "code": code,
            "section": str(SectionCode(code).label),
            "due": due.strftime("%Y-%m-%d %H:%M"),
            "short_due": due.strftime("%m-%d %H:%M"),
        }
        if event.kind == NoticeKind.SECTION_DUE_SOON:
            subject = _("[QRQC] 8D %(code)s due soon: %(number)s")
            text = _("%(grade)s problem %(number)s on %(line)s: %(title)s. 8D section “%(section)s” is due %(due)s.")
            sms_head = _("QRQC %(number)s 8D %(code)s due %(short_due)s: ")
        else:
            subject = _("[QRQC] 8D %(code)s overdue: %(number)s")
            text = _(
                "%(grade)s problem %(number)s on %(line)s: %(title)s. 8D section “%(section)s” was due %(due)s "
                "and is not submitted yet."
            )
            sms_head = _("QRQC %(number)s 8D %(code)s overdue since %(short_due)s: ")
        sms = fit_sms(sms_head % values, problem.title, link)
        return message_from(subject, text, values, sms=sms, link=link, language=language)


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
