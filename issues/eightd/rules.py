"""The rules of problem solving (docs/problem-solving.md) as pure functions over plain values:
section deadlines and their R/Y/G/N-A colour, when notices go out, which status the 8D has
reached, and what still stops a closure. No ORM, no clock: `now` is passed in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

SECTIONS = ("D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8")

# docs/problem-solving.md §Problem-solving policy: containment answer in 1 day (D0–D3 lead to it), cause
# analysis and short-term action in 3 days (D4, D5), long-term actions in 14 days (D6–D8).
DEFAULT_SECTION_DAYS = {"D0": 1, "D1": 1, "D2": 1, "D3": 1, "D4": 3, "D5": 3, "D6": 14, "D7": 14, "D8": 14}
DEFAULT_REWORK_DAYS = 3

# Sections a team may declare not applicable (with a reason); the others are the 8D itself.
MAY_BE_NOT_APPLICABLE = frozenset({"D0", "D3", "D5", "D6"})

# The documents D7 must show updated, or not applicable with a reason (docs/problem-solving.md §Closure).
CHECKLIST = ("pfmea", "dfmea", "control_plan", "work_instruction")
UPDATED, NOT_APPLICABLE = "updated", "na"
DOCUMENTS = {
    "pfmea": gettext_lazy("PFMEA"),
    "dfmea": gettext_lazy("DFMEA"),
    "control_plan": gettext_lazy("Control plan"),
    "work_instruction": gettext_lazy("Work instruction"),
}


class Colour(StrEnum):
    """Board status per step (docs/meeting.md §R / Y / G / N-A per step): red needed and not
    started, yellow in progress, green done, white not applicable."""

    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    WHITE = "white"


# Printed next to the colour everywhere (pages, TV, PDF), so a black-and-white copy still reads.
COLOUR_LETTERS = {
    Colour.RED: pgettext_lazy("board colour red", "R"),
    Colour.YELLOW: pgettext_lazy("board colour yellow", "Y"),
    Colour.GREEN: pgettext_lazy("board colour green", "G"),
    Colour.WHITE: pgettext_lazy("board colour white: not applicable", "N/A"),
}


class Timing(StrEnum):
    ANSWERED = "answered"  # submitted or accepted: the team's clock stopped
    NOT_APPLICABLE = "na"
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


def board_colour(state: str) -> Colour:
    return {
        "todo": Colour.RED,
        "draft": Colour.YELLOW,
        "submitted": Colour.YELLOW,
        "returned": Colour.YELLOW,
        "accepted": Colour.GREEN,
        "na": Colour.WHITE,
    }[state]


def first_due(occurred_at: dt.datetime, days: int) -> dt.datetime:
    return occurred_at + dt.timedelta(days=days)


def rework_due(original_due: dt.datetime, returned_at: dt.datetime, rework_days: int) -> dt.datetime:
    """A returned answer gets `rework_days` from the return, never less than it had before."""
    return max(original_due, returned_at + dt.timedelta(days=rework_days))


def timing(state: str, due_at: dt.datetime, now: dt.datetime, due_soon: dt.timedelta) -> Timing:
    if state == "na":
        return Timing.NOT_APPLICABLE
    if state in ("submitted", "accepted"):
        return Timing.ANSWERED
    if now >= due_at:
        return Timing.OVERDUE
    if now >= due_at - due_soon:
        return Timing.DUE_SOON
    return Timing.ON_TIME


def notice_key(kind: str, returns: int) -> str:
    """A rework round has its own deadline, so its notices are new ones."""
    return f"{kind}/{returns}"


def next_notice(
    state: str, due_at: dt.datetime, returns: int, sent: Iterable[str], due_soon: dt.timedelta
) -> tuple[str, dt.datetime] | None:
    """(kind, when) of the next due-soon or overdue notice, or None when nothing is owed."""
    if state in ("submitted", "accepted", "na"):
        return None
    sent = set(sent)
    if notice_key("due_soon", returns) not in sent and notice_key("overdue", returns) not in sent:
        return "due_soon", due_at - due_soon
    if notice_key("overdue", returns) not in sent:
        return "overdue", due_at
    return None


def notices_due(
    state: str, due_at: dt.datetime, returns: int, sent: Iterable[str], due_soon: dt.timedelta, now: dt.datetime
) -> list[str]:
    """Notices owed at `now`. A section found already overdue gets only the overdue notice."""
    if state in ("submitted", "accepted", "na"):
        return []
    sent = set(sent)
    if now >= due_at:
        return [] if notice_key("overdue", returns) in sent else ["overdue"]
    if now >= due_at - due_soon and not sent & {notice_key("due_soon", returns), notice_key("overdue", returns)}:
        return ["due_soon"]
    return []


# The status an 8D has reached: a stage is reached when its sections are all done.
STAGES = (
    ("contained", ("D0", "D1", "D2", "D3")),
    ("analysed", ("D4",)),
    ("acting", ("D5",)),
    ("verifying", ("D6",)),
)
ORDER = ("open", "contained", "analysed", "acting", "verifying", "closed")


def stage_reached(done: Iterable[str]) -> str:
    done = set(done)
    reached, needed = "open", set()
    for status, sections in STAGES:
        needed |= set(sections)
        if not needed <= done:
            break
        reached = status
    return reached


def status_after(current: str, done: Iterable[str]) -> str:
    """Answers move a problem forward, never back (a reopened section does not undo a stage)."""
    if current not in ORDER or current == "closed":
        return current
    reached = stage_reached(done)
    return reached if ORDER.index(reached) > ORDER.index(current) else current


def checklist_errors(checklist: Mapping[str, Mapping]) -> dict[str, str]:
    """Each document: updated with a reference, or not applicable with a reason."""
    errors = {}
    for item in CHECKLIST:
        entry = checklist.get(item) or {}
        status = entry.get("status")
        if status == UPDATED and not (entry.get("reference") or "").strip():
            errors[item] = _("Give the reference of the updated document.")
        elif status == NOT_APPLICABLE and not (entry.get("reason") or "").strip():
            errors[item] = _("Say why it does not apply.")
        elif status not in (UPDATED, NOT_APPLICABLE):
            errors[item] = _("Updated or not applicable?")
    return errors


def checklist_from(content: dict) -> dict[str, dict]:
    """The D7 document checklist (checklist_errors) out of D7's answer."""
    return {
        item: {
            "status": content.get(f"{item}_status") or "",
            "reference": content.get(f"{item}_reference") or "",
            "reason": content.get(f"{item}_reason") or "",
        }
        for item in CHECKLIST
    }


def closure_blockers(
    *,
    status: str,
    contained: bool,
    needs_eightd: bool,
    section_states: Mapping[str, str],
    cause_note: str,
    checklist: Mapping[str, Mapping],
) -> list[str]:
    """Why the problem cannot close yet (empty: it can). The quality department closes."""
    if status in ("closed", "cancelled"):
        return [_("The problem is already closed or cancelled.")]
    blockers = []
    if not contained:
        blockers.append(_("No containment is recorded."))
    if needs_eightd:
        if not section_states:
            blockers.append(_("This grade needs an 8D report."))
        else:
            open_sections = [code for code in SECTIONS if section_states.get(code) not in ("accepted", "na")]
            if open_sections:
                blockers.append(
                    _("8D sections not accepted yet: %(sections)s.") % {"sections": ", ".join(open_sections)}
                )
    elif not cause_note.strip():
        blockers.append(_("Write a short cause note."))
    if checklist_errors(checklist):
        blockers.append(_("The D7 checklist (PFMEA/DFMEA, control plan, work instruction) is not complete."))
    return blockers


def returns_alarm(total_returns: int) -> bool:
    """A report returned twice alarms the deputy GM (docs/escalation.md §Alarm rules and 8D notices)."""
    return total_returns >= 2


def seed_solving_policy(plant: object, policy_model: Any, deadline_model: Any) -> None:
    """Default problem-solving rules for a plant (also run by a migration, with historical models).
    The models come as arguments (SolvingPolicy, SectionDeadline): the rules import none."""
    policy, _created = policy_model.objects.get_or_create(
        plant=plant, defaults={"eightd_grades": "AB", "rework_days": DEFAULT_REWORK_DAYS}
    )
    for section, days in DEFAULT_SECTION_DAYS.items():
        deadline_model.objects.get_or_create(policy=policy, section=section, defaults={"days": days})


def notice_level(code: str, returns: int) -> int:
    """The ledger keeps one event per (problem, kind, level): a level per section and rework
    round (D4 first round 4, after one return 14, …) lets each round be noticed once."""
    return returns * 10 + SECTIONS.index(code)


def section_of_level(level: int) -> str:
    """The section a notice event's level (notice_level) stands for."""
    return SECTIONS[level % 10]
