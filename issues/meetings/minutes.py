"""The minutes of a daily QRQC meeting (docs/meeting.md §Minutes, issue #5): its agenda by group with
each problem's owner, due date, board colours and the chair's decision, the closures
confirmed, the sign-in sheet (快反会议签到表), the duration and the general notes.

`minutes_data(meeting)` reads the record from the database into plain dataclasses, labels in
the active language, in a fixed number of queries whatever the size of the meeting; the
minutes page and the printout both show it. `render_minutes(minutes, language)` draws it on
A4 with the page machinery of issues.eightd.printout.

An ended meeting's minutes show each problem as it stood when the meeting ended (read from
the history tables), so later progress does not rewrite what the meeting saw and decided; a
running meeting shows the problems as they are now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Field, OuterRef, Prefetch, Subquery
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, Spacer, Table

from issues.common.pdf_font import font_name
from issues.common.people import person_name
from issues.eightd.printout import INK, MUTED, SHADE, WIDTH, Row, bar, build_a4, grid_style, info_block, para, styles
from issues.eightd.rules import COLOUR_LETTERS, SECTIONS, Colour
from issues.eightd.steps import STEPS, colours_of
from issues.meetings.agenda import DEPARTMENT_LABELS, DEPARTMENTS, GROUP_LABELS, GROUPS, expected_roles
from issues.meetings.meeting import items_for
from issues.models import AgendaItem, Attendance, Meeting, Problem, Role, Section, SolvingPolicy

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

LANGUAGES = ("en", "zh-hans")

# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class MinutesItem:
    """One problem on the agenda as the meeting saw it; texts in the active language."""

    problem_id: int
    position: int
    number: str
    grade: str  # the letter
    title: str
    line: str
    owner: str
    due_date: dt.date | None
    status: str
    colours: dict[str, Colour]  # step of issues.eightd.steps.STEPS -> colour; empty for a cancelled problem
    reasons: tuple[str, ...]  # every agenda group it falls in, as labels
    decision: str
    discussed: bool
    closure_confirmed: bool


@dataclass(frozen=True)
class MinutesGroup:
    key: str
    label: str
    items: tuple[MinutesItem, ...]


@dataclass(frozen=True)
class AttendanceRow:
    department: str  # issues.meetings.agenda.DEPARTMENTS key, "" for a guest
    department_label: str
    person: str
    role: str
    state: str  # Attendance.State value
    state_label: str
    stand_in: str
    note: str
    expected: bool


@dataclass(frozen=True)
class AttendanceCount:
    state: str
    label: str
    count: int


@dataclass(frozen=True)
class Minutes:
    meeting_id: int
    plant: str
    workshop: str  # "" for the plant's meeting
    day: dt.date
    chair: str
    started_at: dt.datetime  # in the plant's time zone
    ended_at: dt.datetime | None
    duration_minutes: int  # so far, while the meeting runs
    state: str  # Meeting.State value
    state_label: str
    notes: str
    groups: tuple[MinutesGroup, ...]
    attendance: tuple[AttendanceRow, ...]
    attendance_counts: tuple[AttendanceCount, ...]  # one per Attendance.State, in its order
    as_of: dt.datetime  # when the problems are shown as they stood, in the plant's time zone
    printed_on: str
    closures: tuple[MinutesItem, ...]  # the items whose closure the meeting confirmed

    @property
    def running(self) -> bool:
        return self.state == Meeting.State.RUNNING

    @property
    def items(self) -> tuple[MinutesItem, ...]:
        return tuple(item for group in self.groups for item in group.items)

    def count(self, state: str) -> int:
        return next((entry.count for entry in self.attendance_counts if entry.state == state), 0)


def _minutes(delta: dt.timedelta) -> int:
    return max(0, round(delta.total_seconds() / 60))


def _ended_moment(meeting: Meeting) -> dt.datetime | None:
    """When the meeting's end was saved, on the clock the history tables use (a verb may be
    handed its own `now`; the history is stamped at the save)."""
    return (
        meeting.history.filter(state=Meeting.State.ENDED)
        .order_by("history_date", "history_id")
        .values_list("history_date", flat=True)
        .first()
    )


def _as_of(model, ids, moment: dt.datetime, key: str = "id"):
    """The latest historical row of each `model` row whose `key` is in `ids`, as of `moment`."""
    history = model.history.model
    latest = (
        history.objects.filter(id=OuterRef("id"), history_date__lte=moment)
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    return history.objects.filter(**{f"{key}__in": ids}).filter(history_id=Subquery(latest))


def _problems_then(problem_ids, moment: dt.datetime) -> dict[int, object]:
    rows = _as_of(Problem, problem_ids, moment).exclude(history_type="-").select_related("line", "owner__profile")
    return {row.id: row for row in rows}


def _sections_then(report_ids, moment: dt.datetime) -> dict[int | None, dict[str, str]]:
    # Sections are created "todo" in bulk, without history: one without a row by then was still to do.
    states = {report_id: dict.fromkeys(SECTIONS, "todo") for report_id in report_ids}
    if not report_ids:
        return states
    rows = _as_of(Section, report_ids, moment, key="report_id").exclude(history_type="-")
    for report_id, code, state in rows.values_list("report_id", "code", "state"):
        states[report_id][code] = state
    return states


def _sections_now(problem: Problem) -> dict[str, str] | None:
    try:
        report = problem.eightd
    except ObjectDoesNotExist:
        return None
    return {section.code: section.state for section in report.sections.all()}


def _report_then(problem: Problem, moment: dt.datetime) -> int | None:
    """The problem's 8D report if it had been started by `moment`."""
    try:
        report = problem.eightd
    except ObjectDoesNotExist:
        return None
    return report.pk if report.created_at <= moment else None


def _item(entry: AgendaItem, problem, section_states, policy: SolvingPolicy) -> MinutesItem:
    """`problem` is the live row, or its historical row as the meeting ended: both have the fields read here."""
    if problem.status == Problem.Status.CANCELLED:
        colours = {}
    else:
        colours = colours_of(problem, section_states, policy.needs_eightd(problem.grade))
    return MinutesItem(
        problem_id=entry.problem_id,
        position=entry.position,
        number=problem.number,
        grade=problem.grade,
        title=problem.title,
        line=problem.line.name,
        owner=person_name(problem.owner),
        due_date=problem.due_date,
        status=str(Problem.Status(problem.status).label),
        colours=colours,
        reasons=tuple(str(GROUP_LABELS.get(reason, reason)) for reason in entry.reasons or ()),
        decision=entry.decision,
        discussed=entry.discussed_at is not None,
        closure_confirmed=entry.closure_confirmed_at is not None,
    )


def _groups(items: list[tuple[AgendaItem, MinutesItem]]) -> tuple[MinutesGroup, ...]:
    """In the agenda's group order; items refreshed into a group while the meeting ran keep their position."""
    by_group: dict[str, list[MinutesItem]] = {}
    for entry, item in sorted(items, key=lambda pair: pair[0].position):
        by_group.setdefault(entry.group, []).append(item)
    order = [group for group in GROUPS if group in by_group] + [group for group in by_group if group not in GROUPS]
    return tuple(MinutesGroup(key, str(GROUP_LABELS.get(key, key)), tuple(by_group[key])) for key in order)


def _attendance(meeting: Meeting) -> tuple[tuple[AttendanceRow, ...], tuple[AttendanceCount, ...]]:
    rows = list(meeting.attendances.select_related("person__profile", "stand_in__profile"))
    # Within a department, people in the order the meeting expects them (the director first).
    roles = list(dict.fromkeys([*expected_roles(meeting.workshop_id is not None), *Role.values]))

    def order(row: Attendance):
        department = DEPARTMENTS.index(row.department) if row.department in DEPARTMENTS else len(DEPARTMENTS)
        role = roles.index(row.role) if row.role in roles else len(roles)
        return (not row.expected, department, role, person_name(row.person).casefold())

    sheet = tuple(
        AttendanceRow(
            department=row.department,
            department_label=str(DEPARTMENT_LABELS.get(row.department) or (_("Guests") if not row.expected else "")),
            person=person_name(row.person),
            role=str(Role(row.role).label) if row.role in roles else "",
            state=row.state,
            state_label=str(Attendance.State(row.state).label),
            stand_in=person_name(row.stand_in) or row.stand_in_name,
            note=row.note,
            expected=row.expected,
        )
        for row in sorted(rows, key=order)
    )
    counts = tuple(
        AttendanceCount(state, str(label), sum(1 for row in rows if row.state == state))
        for state, label in Attendance.State.choices
    )
    return sheet, counts


def minutes_data(
    meeting: Meeting, *, user: User | AnonymousUser | None = None, now: dt.datetime | None = None
) -> Minutes:
    """The record of `meeting`, texts in the active language; with `user`, only the agenda
    items whose problem they may see (issues.meetings.meeting.items_for). Five queries for a running
    meeting (the meeting, its items with their problems, the problems' 8D sections, the plant's
    solving policy, the sign-in sheet) and seven for an ended one (when it ended, the problems
    and the sections as they stood then, instead of the live sections), whatever its size."""
    now = now or timezone.now()
    meeting = Meeting.objects.select_related("plant", "workshop", "chair__profile").get(pk=meeting.pk)
    zone = meeting.plant.zone
    ended = meeting.state == Meeting.State.ENDED and meeting.ended_at is not None
    moment = _ended_moment(meeting) if ended else None
    query = (
        items_for(user, meeting) if user is not None else AgendaItem.objects.filter(meeting=meeting)
    ).select_related("problem__line", "problem__owner__profile", "problem__eightd")
    if moment is None:
        only = Section.objects.only("id", "report_id", "code", "state")
        query = query.prefetch_related(Prefetch("problem__eightd__sections", queryset=only))
    entries = list(query)
    policy = SolvingPolicy.objects.filter(plant_id=meeting.plant_id).first() or SolvingPolicy(plant_id=meeting.plant_id)

    if moment is None:
        items = [(entry, _item(entry, entry.problem, _sections_now(entry.problem), policy)) for entry in entries]
    else:
        problems = _problems_then([entry.problem_id for entry in entries], moment)
        report_ids = {entry.problem_id: _report_then(entry.problem, moment) for entry in entries}
        sections = _sections_then([pk for pk in report_ids.values() if pk], moment)
        items = [
            (
                entry,
                # A problem without history (bulk-loaded) is shown as it is.
                _item(
                    entry,
                    problems.get(entry.problem_id, entry.problem),
                    sections.get(report_ids[entry.problem_id]),
                    policy,
                ),
            )
            for entry in entries
        ]
    groups = _groups(items)
    attendance, counts = _attendance(meeting)
    end = meeting.ended_at if ended else None
    return Minutes(
        meeting_id=meeting.pk,
        plant=meeting.plant.name,
        workshop=meeting.workshop.name if meeting.workshop else "",
        day=meeting.day,
        chair=person_name(meeting.chair),
        started_at=timezone.localtime(meeting.started_at, zone),
        ended_at=timezone.localtime(end, zone) if end else None,
        duration_minutes=_minutes((end or now) - meeting.started_at),
        state=meeting.state,
        state_label=str(Meeting.State(meeting.state).label),
        notes=meeting.notes,
        groups=groups,
        attendance=attendance,
        attendance_counts=counts,
        as_of=timezone.localtime(end or now, zone),
        printed_on=timezone.localtime(now, zone).date().isoformat(),
        closures=tuple(item for group in groups for item in group.items if item.closure_confirmed),
    )


# --------------------------------------------------------------------------- the printout

# Board colours as on the screen (static/css/qrqc.css .rag-*): fill, letter colour.
CELL_COLOURS = {
    Colour.RED: (colors.HexColor("#c62828"), colors.white),
    Colour.YELLOW: (colors.HexColor("#f9a825"), colors.black),
    Colour.GREEN: (colors.HexColor("#2e7d32"), colors.white),
    Colour.WHITE: (colors.white, MUTED),
}
STEP_HEADS = {
    "containment": pgettext_lazy("board step, short", "Cont."),
    "root_cause": pgettext_lazy("board step, short", "Cause"),
    "actions": pgettext_lazy("board step, short", "Act."),
    "verification": pgettext_lazy("board step, short", "Verif."),
    "closure": pgettext_lazy("board step, short", "Close"),
}
STEP_NAMES = {
    "containment": gettext_lazy("containment"),
    "root_cause": gettext_lazy("root cause"),
    "actions": gettext_lazy("actions"),
    "verification": gettext_lazy("verification"),
    "closure": gettext_lazy("closure"),
}
STEP_CELL = 8 * mm
# No., grade, problem, owner, due, the five steps, decision (the rest).
AGENDA_WIDTHS = [8 * mm, 11 * mm, 42 * mm, 21 * mm, 19 * mm, *[STEP_CELL] * len(STEPS)]
AGENDA_WIDTHS.append(WIDTH - sum(AGENDA_WIDTHS))
# Department, name, role, attendance, stand-in, note, signature.
SHEET_WIDTHS = [24 * mm, 26 * mm, 30 * mm, 24 * mm, 22 * mm, 30 * mm]
SHEET_WIDTHS.append(WIDTH - sum(SHEET_WIDTHS))
SIGNING_ROW = 9 * mm
# A decision this long (characters; Chinese takes ~13 to a line of the column) may not fit on a page.
LONG_DECISION = 600
AWOL_INK = colors.HexColor("#c62828")


@lru_cache
def _styles(font: str) -> dict[str, ParagraphStyle]:
    st = dict(styles(font))
    st["small"] = ParagraphStyle("small", parent=st["body"], fontSize=7.5, leading=9.5)
    st["small_muted"] = ParagraphStyle("small_muted", parent=st["small"], textColor=MUTED)
    st["cell"] = ParagraphStyle("cell", parent=st["body"], fontSize=6.5, leading=8, alignment=TA_CENTER)
    st["group"] = ParagraphStyle("group", parent=st["body"], fontSize=9.5, leading=12)
    st["warning"] = ParagraphStyle("warning", parent=st["body"], textColor=AWOL_INK, spaceAfter=3 * mm)
    st["awol"] = ParagraphStyle("awol", parent=st["body"], textColor=AWOL_INK)
    return st


def _clock(moment: dt.datetime | None) -> str:
    return f"{moment:%H:%M}" if moment else ""


def _header(minutes: Minutes, st) -> list:
    def label(name: str) -> str:
        # A column of the meeting, named in the active language.
        return capfirst(str(cast("Field[Any, Any]", Meeting._meta.get_field(name)).verbose_name))

    running = minutes.running
    duration = _("%(minutes)d min") % {"minutes": minutes.duration_minutes}
    rows = (
        Row(label("plant"), minutes.plant),
        Row(label("workshop"), minutes.workshop or _("Plant meeting")),
        Row(label("day"), minutes.day.isoformat()),
        Row(label("chair"), minutes.chair),
        Row(label("started_at"), _clock(minutes.started_at)),
        Row(label("ended_at"), _("In progress") if running else _clock(minutes.ended_at)),
        Row(_("Duration"), _("%(duration)s so far") % {"duration": duration} if running else duration),
        Row(label("state"), minutes.state_label),
    )
    flow = [para(_("QRQC meeting minutes"), st["title"])]
    if running:
        flow.append(para(_("The meeting is in progress: these minutes are not final."), st["warning"]))
    return [*flow, info_block(rows, st)]


def _problem_cell(item: MinutesItem, group: str, st) -> list[Paragraph]:
    # One plain Paragraph per line: a Paragraph mixing styles takes four times as long to lay out.
    cell = [para(item.number, st["small"]), para(item.title, st["small"])]
    cell.append(para(" · ".join(filter(None, [item.line, item.status])), st["small_muted"]))
    others = [reason for reason in item.reasons if reason != group]
    if others:
        cell.append(para(_("Also: %(reasons)s") % {"reasons": ", ".join(others)}, st["small_muted"]))
    return cell


def _decision_cell(item: MinutesItem, st) -> list[Paragraph]:
    cell = [para(item.decision, st["small"])] if item.decision else []
    if item.closure_confirmed:
        cell.append(para(_("Closure confirmed"), st["small_muted"]))
    return cell


def _agenda(minutes: Minutes, st) -> list:
    when = _clock(minutes.as_of)
    note = (
        _("Status now (%(time)s)") % {"time": when}
        if minutes.running
        else _("Status at the end of the meeting (%(time)s)") % {"time": when}
    )
    flow: list = [Spacer(1, 5 * mm), CondPageBreak(40 * mm), bar(_("Agenda"), note, st)]
    if not minutes.groups:
        return [*flow, para(_("No problems on the agenda."), st["muted"])]
    head = [_("No."), _("Grade"), _("Problem"), _("Owner"), _("Due")]
    cells = [[para(text, st["head"]) for text in head] + [para(str(STEP_HEADS[step]), st["cell"]) for step in STEPS]]
    cells[0].append(para(_("Decision"), st["head"]))
    first, last = 5, 4 + len(STEPS)
    # Short fixed texts are plain cells: a Paragraph per cell costs most of the layout time.
    style = [
        *grid_style(header=True),
        ("FONTSIZE", (0, 1), (-1, -1), st["small"].fontSize),
        ("LEADING", (0, 1), (-1, -1), st["small"].leading),
        ("TEXTCOLOR", (0, 1), (-1, -1), INK),
        ("VALIGN", (first, 1), (last, -1), "MIDDLE"),
        ("ALIGN", (first, 1), (last, -1), "CENTER"),
        ("FONTSIZE", (first, 1), (last, -1), 8),
        ("LEFTPADDING", (first, 0), (last, -1), 1),
        ("RIGHTPADDING", (first, 0), (last, -1), 1),
    ]
    for group in minutes.groups:
        row = len(cells)
        cells.append([para(f"{group.label} ({len(group.items)})", st["group"])] + [""] * (len(AGENDA_WIDTHS) - 1))
        style += [("SPAN", (0, row), (-1, row)), ("BACKGROUND", (0, row), (-1, row), SHADE)]
        for item in group.items:
            row = len(cells)
            letters = []
            for column, step in enumerate(STEPS, start=first):
                colour = item.colours.get(step)
                letters.append(str(COLOUR_LETTERS[colour]) if colour else "")
                if colour:
                    fill, ink = CELL_COLOURS[colour]
                    style += [
                        ("BACKGROUND", (column, row), (column, row), fill),
                        ("TEXTCOLOR", (column, row), (column, row), ink),
                    ]
            due = item.due_date.isoformat() if item.due_date else ""
            problem, owner = _problem_cell(item, group.label, st), para(item.owner, st["small"])
            cells.append([str(item.position), item.grade, problem, owner, due, *letters, _decision_cell(item, st)])
    # Splitting inside a row lets a decision longer than a page run on; otherwise rows stay whole.
    long = any(len(item.decision) > LONG_DECISION for group in minutes.groups for item in group.items)
    table = Table(cells, colWidths=AGENDA_WIDTHS, repeatRows=1, splitByRow=1, splitInRow=int(long))
    table.setStyle(style)
    legend = " · ".join(
        [
            ", ".join(f"{STEP_HEADS[step]} = {STEP_NAMES[step]}" for step in STEPS),
            _("R red: needed, not started"),
            _("Y yellow: in progress"),
            _("G green: done"),
            _("N/A: not applicable"),
        ]
    )
    return [*flow, table, para(legend, st["caption"])]


def _closures(minutes: Minutes, st) -> list:
    flow: list = [Spacer(1, 5 * mm), CondPageBreak(25 * mm), bar(_("Closures confirmed"), "", st)]
    if not minutes.closures:
        return [*flow, para(_("None."), st["muted"])]
    return flow + [para(f"{item.number}  {item.title}", st["body"]) for item in minutes.closures]


def _sheet(minutes: Minutes, st) -> list:
    flow: list = [Spacer(1, 5 * mm), CondPageBreak(45 * mm), bar(_("Sign-in sheet"), "", st)]
    if not minutes.attendance:
        return [*flow, para(_("Nobody is on the sign-in sheet."), st["muted"])]
    head = [_("Department"), _("Name"), _("Role"), _("Attendance"), _("Stand-in"), _("Note"), _("Signature")]
    cells = [[para(text, st["head"]) for text in head]]
    style = [*grid_style(header=True), ("VALIGN", (0, 1), (-1, -1), "MIDDLE")]
    previous = None
    for row in minutes.attendance:
        department = (row.department, row.expected)
        if department != previous and previous is not None:
            style.append(("LINEABOVE", (0, len(cells)), (-1, len(cells)), 1, INK))
        state_style = st["awol"] if row.state == Attendance.State.ABSENT_WITHOUT_LEAVE else st["small"]
        cells.append(
            [
                para(row.department_label if department != previous else "", st["small"]),
                para(row.person, st["small"]),
                para(row.role, st["small"]),
                para(row.state_label, state_style),
                para(row.stand_in, st["small"]),
                para(row.note, st["small"]),
                "",
            ]
        )
        previous = department
    heights = [None] + [SIGNING_ROW] * (len(cells) - 1)
    table = Table(cells, colWidths=SHEET_WIDTHS, rowHeights=heights, repeatRows=1, splitByRow=1)
    table.setStyle(style)
    return [*flow, table]


def _totals(minutes: Minutes, st) -> list:
    shown = [entry for entry in minutes.attendance_counts if entry.count or entry.state != Attendance.State.UNKNOWN]
    head = [para(entry.label, st["head"]) for entry in shown] + [para(_("Total"), st["head"])]
    counts = [para(str(entry.count), st["body"]) for entry in shown]
    counts.append(para(str(sum(entry.count for entry in minutes.attendance_counts)), st["body"]))
    table = Table([head, counts], colWidths=[WIDTH / len(head)] * len(head))
    table.setStyle(grid_style(header=True))
    return [Spacer(1, 3 * mm), KeepTogether([para(_("Attendance"), st["grid_title"]), table])]


def _notes(minutes: Minutes, st) -> list:
    flow: list = [Spacer(1, 5 * mm), CondPageBreak(25 * mm), bar(_("General notes"), "", st)]
    return [*flow, para(minutes.notes, st["body"]) if minutes.notes.strip() else para(_("None."), st["muted"])]


def render_minutes(minutes: Minutes, language: str) -> bytes:
    """The minutes as an A4 PDF in `language` ("en" or "zh-hans"): header block, agenda by
    group, closures confirmed, sign-in sheet with a signature column, totals, general notes.
    What people typed is printed as typed."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    st = _styles(font_name())
    with translation.override(language):
        story = [
            *_header(minutes, st),
            *_agenda(minutes, st),
            *_closures(minutes, st),
            *_sheet(minutes, st),
            *_totals(minutes, st),
            *_notes(minutes, st),
        ]
        place = " ".join(filter(None, [minutes.plant, minutes.workshop]))
        title = f"{_('QRQC meeting minutes')} {place} {minutes.day.isoformat()}"
        return build_a4(story, title=title, footer_left=title, printed_on=minutes.printed_on, language=language)
