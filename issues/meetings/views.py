"""The daily QRQC meeting's pages (issue #5): the list of meetings with "Start today's meeting",
the running meeting (agenda with the chair's inline decisions, sign-in sheet, timer), and the
minutes on the page and on paper. The verbs are in issues.meetings.meeting; these views parse, check and render.

Rights: a meeting outside the reader's scope is a 404; acting on it without chairing it, a 403
(a person may still sign themselves in). Inline updates are htmx posts answered with the
updated fragment; the same forms post without JavaScript and come back to the page. A refused
action says why: in the fragment (htmx swaps only 2xx answers, so it is a 200 there), or on the
page again as a 400.
"""

from __future__ import annotations

import datetime as dt
import io

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from issues.common.ids import parse_id
from issues.common.lists import list_page
from issues.common.people import find_person, people_of, person_label, person_name
from issues.common.printing import needs_the_font, reader_language
from issues.common.scope import visible_plants
from issues.eightd.steps import STEPS
from issues.meetings import agenda, pages
from issues.meetings import meeting as verbs
from issues.meetings.filters import MeetingFilter
from issues.meetings.meeting import MeetingRefused, NotChair, visible_meetings
from issues.meetings.minutes import LANGUAGES as MINUTES_LANGUAGES
from issues.meetings.minutes import minutes_data, render_minutes
from issues.models import AgendaItem, Attendance, Meeting
from issues.problems.forms import AssignOwnerForm

ACTIONS = ("owner", "board", "decision", "closure")
MEETINGS_PER_PAGE = 30
PRESENT_STATES = pages.PRESENT_STATES


# --- reading a meeting ----------------------------------------------------------------------


def _meeting(request, pk: int) -> Meeting:
    meetings = verbs.visible_meetings(request.user).select_related("plant", "workshop", "chair__profile")
    return get_object_or_404(meetings, pk=pk)


def _require_chair(user, meeting: Meeting) -> None:
    if not verbs.chairs(user, meeting):
        raise PermissionDenied


def _people_context(meeting: Meeting, chair: bool) -> dict:
    """Who may be named (owner, stand-in, guest): one list for the page's <datalist>, never a
    <select> per item (a plant of 1,000 people would make a page of 50 items weigh megabytes)."""
    return {"people": [person_label(person) for person in people_of(meeting.plant_id)] if chair else []}


def _page_context(request, meeting: Meeting, now: dt.datetime, *, error_item: pages.ItemRow | None = None) -> dict:
    chair = verbs.chairs(request.user, meeting)
    rows = pages.item_rows(request.user, meeting, pages.items_query(request.user, meeting), now)
    if error_item is not None:
        rows = [error_item if row.item.pk == error_item.item.pk else row for row in rows]
    sheet = pages.sheet(meeting, request.user)
    return {
        "meeting": meeting,
        "chair": chair,
        "groups": pages.grouped(rows),
        "item_count": len(rows),
        **_people_context(meeting, chair),
        "sheet": sheet,
        "timer": pages.timer(meeting, now),
        "today": verbs.local_day(meeting.plant, now),
        "colour_choices": pages.COLOUR_CHOICES,
    }


@permission_required("issues.view_meeting", raise_exception=True)
def meeting_detail(request, pk: int):
    meeting = _meeting(request, pk)
    if meeting.state == Meeting.State.ENDED:
        return redirect("meetings:minutes", pk=meeting.pk)
    return render(request, "issues/meeting/detail.html", _page_context(request, meeting, timezone.now()))


@permission_required("issues.view_meeting", raise_exception=True)
def meeting_minutes(request, pk: int):
    """The meeting's record, as issues.meetings.minutes reads it for the printout too: problems as they
    stood when the meeting ended, decisions, closures confirmed, the sign-in sheet."""
    meeting = _meeting(request, pk)
    record = minutes_data(meeting, user=request.user)
    groups = [(group, [(item, pages.steps_of(item.colours)) for item in group.items]) for group in record.groups]
    present = sum(1 for row in record.attendance if row.expected and row.state in PRESENT_STATES)
    return render(
        request,
        "issues/meeting/minutes.html",
        {
            "meeting": meeting,
            "minutes": record,
            "groups": groups,
            "decided": sum(1 for item in record.items if item.decision),
            "departments": pages.departments_of(record.attendance),
            "counts": [entry for entry in record.attendance_counts if entry.count],
            "present": present,
            "expected": sum(1 for row in record.attendance if row.expected),
            "guests": sum(1 for row in record.attendance if not row.expected),
            "duration_state": agenda.timer_state(dt.timedelta(minutes=record.duration_minutes)),
        },
    )


# --- the list and starting a meeting --------------------------------------------------------


def _count(queryset):
    counted = queryset.order_by().values("meeting").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _today_places(user, now: dt.datetime) -> list[dict]:
    """The meetings the user may start, each with today's meeting if it exists."""
    places = verbs.chairable(user)
    if not places:
        return []
    days = {plant.pk: verbs.local_day(plant, now) for plant, _workshop in places}
    existing = {
        (meeting.plant_id, meeting.workshop_id, meeting.day): meeting
        for meeting in Meeting.objects.filter(
            plant__in=list(days), day__gte=min(days.values()), day__lte=max(days.values())
        )
    }
    return [
        {
            "plant": plant,
            "workshop": workshop,
            "meeting": existing.get((plant.pk, workshop.pk if workshop else None, days[plant.pk])),
        }
        for plant, workshop in places
    ]


@permission_required("issues.view_meeting", raise_exception=True)
def meeting_list(request):
    base = (
        verbs.visible_meetings(request.user)
        .select_related("plant", "workshop", "chair__profile")
        .annotate(
            item_count=_count(AgendaItem.objects.filter(meeting=OuterRef("pk"))),
            decided_count=_count(AgendaItem.objects.filter(meeting=OuterRef("pk")).exclude(decision="")),
            expected_count=_count(Attendance.objects.filter(meeting=OuterRef("pk"), expected=True)),
            present_count=_count(
                Attendance.objects.filter(meeting=OuterRef("pk"), expected=True, state__in=PRESENT_STATES)
            ),
        )
        .order_by("-day", "-started_at", "pk")
    )
    return list_page(
        request,
        MeetingFilter,
        base,
        template="issues/meeting/list.html",
        per_page=MEETINGS_PER_PAGE,
        context={"places": _today_places(request.user, timezone.now())},
    )


@require_POST
@permission_required("issues.view_meeting", raise_exception=True)
def meeting_start(request):
    plant = visible_plants(request.user).filter(pk=parse_id(request.POST.get("plant"))).first()
    if plant is None:
        raise Http404
    workshop = None
    if request.POST.get("workshop"):
        workshop = plant.workshops.filter(pk=parse_id(request.POST.get("workshop"))).first()
        if workshop is None:
            raise Http404
    try:
        meeting = verbs.start_meeting(request.user, plant, workshop)
    except NotChair as refusal:
        raise PermissionDenied from refusal
    except MeetingRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("meetings:list")
    if meeting.state == Meeting.State.ENDED:
        messages.info(request, _("Today's meeting has already ended; here are its minutes."))
        return redirect("meetings:minutes", pk=meeting.pk)
    return redirect("meetings:detail", pk=meeting.pk)


@require_POST
@permission_required("issues.view_meeting", raise_exception=True)
def meeting_refresh(request, pk: int):
    meeting = _meeting(request, pk)
    _require_chair(request.user, meeting)
    try:
        added = verbs.refresh_agenda(meeting, user=request.user)
    except MeetingRefused as refusal:
        messages.error(request, str(refusal))
    else:
        if added:
            text = ngettext(
                "%(count)d problem added to the agenda.", "%(count)d problems added to the agenda.", len(added)
            )
            messages.success(request, text % {"count": len(added)})
        else:
            messages.info(request, _("The agenda is up to date."))
    return redirect("meetings:detail", pk=meeting.pk)


@require_POST
@permission_required("issues.view_meeting", raise_exception=True)
def meeting_end(request, pk: int):
    meeting = _meeting(request, pk)
    _require_chair(request.user, meeting)
    verbs.end_meeting(meeting, user=request.user, notes=request.POST.get("notes", "")[:5000])
    messages.success(request, _("The meeting has ended."))
    return redirect("meetings:minutes", pk=meeting.pk)


# --- the chair's decisions on an item -------------------------------------------------------


def _assign(request, meeting: Meeting, item: AgendaItem):
    problem = item.problem
    owner = find_person(problem.plant_id, request.POST.get("owner"))
    if owner is None:
        raise MeetingRefused(_("Choose the owner among the plant's people."))
    form = AssignOwnerForm(
        {"owner": owner.pk, "due_date": request.POST.get("due_date", "")},
        people=people_of(problem.plant_id),
        today=verbs.local_day(problem.plant, timezone.now()),
        current_due=problem.due_date,
    )
    if not form.is_valid():
        raise MeetingRefused(" ".join(str(error) for errors in form.errors.values() for error in errors))
    verbs.assign(item, user=request.user, owner=form.cleaned_data["owner"], due_date=form.cleaned_data["due_date"])
    return _("Owner and closure date saved.")


def _board(request, meeting: Meeting, item: AgendaItem):
    colours = {step: request.POST[step] for step in STEPS if step in request.POST}
    verbs.set_board_status(item, user=request.user, colours=colours)
    return _("Board status saved.")


def _decision(request, meeting: Meeting, item: AgendaItem):
    verbs.record_decision(item, user=request.user, text=request.POST.get("decision", ""))
    return _("Decision recorded.")


def _closure(request, meeting: Meeting, item: AgendaItem):
    verbs.confirm_closure(item, user=request.user)
    return _("Closure confirmed.")


DO = {"owner": _assign, "board": _board, "decision": _decision, "closure": _closure}


def _one_row(request, meeting: Meeting, item_pk: int) -> pages.ItemRow:
    item = pages.items_query(request.user, meeting).get(pk=item_pk)
    return pages.item_rows(request.user, meeting, [item], timezone.now())[0]


def _item_answer(request, meeting: Meeting, item_pk: int, *, error: MeetingRefused | None, done: str = ""):
    row = _one_row(request, meeting, item_pk)
    if error is not None:
        row.error, row.details = str(error), error.details
    if request.htmx:
        context = {
            "meeting": meeting,
            "row": row,
            "chair": verbs.chairs(request.user, meeting),
            "today": verbs.local_day(meeting.plant, timezone.now()),
            "colour_choices": pages.COLOUR_CHOICES,
            "saved": done,
        }
        return render(request, "issues/meeting/_item.html", context)
    if error is None:
        messages.success(request, done)
        return redirect(reverse("meetings:detail", args=[meeting.pk]) + f"#item-{item_pk}")
    if meeting.state == Meeting.State.ENDED:
        messages.error(request, str(error))
        return redirect("meetings:minutes", pk=meeting.pk)
    context = _page_context(request, meeting, timezone.now(), error_item=row)
    return render(request, "issues/meeting/detail.html", context, status=400)


@require_POST
@permission_required("issues.view_meeting", raise_exception=True)
def meeting_item(request, pk: int, item_pk: int, action: str):
    meeting = _meeting(request, pk)
    _require_chair(request.user, meeting)
    item = get_object_or_404(pages.items_query(request.user, meeting), pk=item_pk)
    try:
        done = DO[action](request, meeting, item)
    except NotChair as refusal:
        raise PermissionDenied from refusal
    except MeetingRefused as refusal:
        meeting.refresh_from_db(fields=["state"])
        return _item_answer(request, meeting, item_pk, error=refusal)
    return _item_answer(request, meeting, item_pk, error=None, done=done)


# --- the sign-in sheet ----------------------------------------------------------------------


def _sheet_answer(request, meeting: Meeting, *, error: MeetingRefused | None, done: str, error_row: int | None = None):
    if request.htmx:
        chair = verbs.chairs(request.user, meeting)
        sheet = pages.sheet(meeting, request.user)
        context = {
            "meeting": meeting,
            "chair": chair,
            "sheet": sheet,
            **_people_context(meeting, chair),
            "sheet_error": str(error) if error else "",
            "error_row": error_row,
            "saved": done if error is None else "",
        }
        return render(request, "issues/meeting/_sheet.html", context)
    if error is None:
        messages.success(request, done)
        return redirect(reverse("meetings:detail", args=[meeting.pk]) + "#sheet")
    meeting.refresh_from_db(fields=["state"])
    if meeting.state == Meeting.State.ENDED:
        messages.error(request, str(error))
        return redirect("meetings:minutes", pk=meeting.pk)
    context = _page_context(request, meeting, timezone.now())
    context.update(sheet_error=str(error), error_row=error_row)
    return render(request, "issues/meeting/detail.html", context, status=400)


@require_POST
@permission_required("issues.view_meeting", raise_exception=True)
def meeting_attendance(request, pk: int, row_pk: int):
    meeting = _meeting(request, pk)
    row = get_object_or_404(Attendance.objects.select_related("meeting"), pk=row_pk, meeting=meeting)
    state = request.POST.get("state", "")
    typed = request.POST.get("stand_in", "").strip()
    stand_in = find_person(meeting.plant_id, typed) if state == Attendance.State.STAND_IN else None
    try:
        verbs.set_attendance(
            row,
            user=request.user,
            state=state,
            stand_in=stand_in,
            stand_in_name="" if stand_in else typed,
            note=request.POST.get("note", ""),
        )
    except NotChair as refusal:
        raise PermissionDenied from refusal
    except MeetingRefused as refusal:
        return _sheet_answer(request, meeting, error=refusal, done="", error_row=row.pk)
    return _sheet_answer(request, meeting, error=None, done=_("Attendance saved."))


@require_POST
@permission_required("issues.view_meeting", raise_exception=True)
def meeting_sign_in(request, pk: int):
    meeting = _meeting(request, pk)
    try:
        verbs.sign_in(meeting, user=request.user)
    except NotChair as refusal:
        raise PermissionDenied from refusal
    except MeetingRefused as refusal:
        return _sheet_answer(request, meeting, error=refusal, done="")
    return _sheet_answer(request, meeting, error=None, done=_("You are signed in."))


@require_POST
@permission_required("issues.view_meeting", raise_exception=True)
def meeting_guest(request, pk: int):
    meeting = _meeting(request, pk)
    _require_chair(request.user, meeting)
    person = find_person(meeting.plant_id, request.POST.get("person"))
    known = person is not None and meeting.attendances.filter(person=person).exists()
    try:
        verbs.add_guest(meeting, user=request.user, person=person)
    except NotChair as refusal:
        raise PermissionDenied from refusal
    except MeetingRefused as refusal:
        return _sheet_answer(request, meeting, error=refusal, done="")
    done = _("%(name)s is already on the sheet.") if known else _("%(name)s added as a guest.")
    return _sheet_answer(request, meeting, error=None, done=done % {"name": person_name(person)})


@permission_required("issues.view_meeting", raise_exception=True)
@needs_the_font
def meeting_minutes_pdf(request, pk: int):
    """A meeting's minutes on A4, shown in the browser; ?language=en|zh-hans (default: the reader's
    language). A running meeting prints too, marked as in progress. The agenda holds the items
    whose problem the reader may see, as the minutes page does."""
    meeting = get_object_or_404(visible_meetings(request.user).select_related("plant", "workshop"), pk=pk)
    language = request.GET.get("language") or reader_language()
    if language not in MINUTES_LANGUAGES:
        return HttpResponseBadRequest(
            _("The minutes' language is en or zh-hans."), content_type="text/plain; charset=utf-8"
        )
    with translation.override(language):
        pdf = render_minutes(minutes_data(meeting, user=request.user), language)
    place = "-".join(filter(None, [meeting.plant.code, meeting.workshop.code if meeting.workshop else ""]))
    return FileResponse(
        io.BytesIO(pdf),
        as_attachment=False,
        filename=f"qrqc-minutes-{place}-{meeting.day:%Y-%m-%d}.pdf",
        content_type="application/pdf",
    )
