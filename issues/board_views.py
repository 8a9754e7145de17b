"""The daily QRQC board and its TV mode (issue #5).

One row per problem of the past 24 hours and every open older one (issues.board), narrowed by
the filters in the URL (issues.filters.BoardFilter), so a bookmarked or TV address keeps its
scope. Open boards poll a fragment of themselves (htmx) every QRQC_BOARD_REFRESH_SECONDS: a
new or escalated problem shows up within 10 s without a reload. The TV turns its pages itself:
each fragment names the page the next poll asks for.

Every page costs the same few queries whatever the number of problems: one aggregate for the
header (which also counts the pager), the page's ids, those problems with their 8D sections,
the plants' solving policies, and the newest problem. The filter panel's choices (people,
lines) are fetched only when the panel is opened or filters are in the address.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Page, Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy, pgettext_lazy

from escalation.models import LEVELS
from issues.board import STEP_LABELS, STEPS, BoardRow, age_label, board_counts, board_query, latest_problem, page_rows
from issues.eightd import COLOUR_LETTERS, Colour
from issues.filters import BoardFilter
from issues.models import Grade, Problem
from issues.scope import visible_lines

BOARD_PAGE_SIZE = 50  # a phone or desk browser; the TV pages by QRQC_TV_ROWS_PER_PAGE
# Where a column is narrow: the TV's header and the phone's cards.
STEP_SHORT = {
    "containment": pgettext_lazy("board step, short", "Contain"),
    "root_cause": pgettext_lazy("board step, short", "Cause"),
    "actions": pgettext_lazy("board step, short", "Act"),
    "verification": pgettext_lazy("board step, short", "Verify"),
    "closure": pgettext_lazy("board step, short", "Close"),
}
COLOUR_MEANINGS = {
    Colour.RED: gettext_lazy("needed, not started"),
    Colour.YELLOW: gettext_lazy("in progress"),
    Colour.GREEN: gettext_lazy("done"),
    Colour.WHITE: gettext_lazy("not applicable"),
}
STEP_HEADERS = [(step, STEP_LABELS[step], STEP_SHORT[step]) for step in STEPS]
LEVEL_LABELS = dict(LEVELS)
PLACES = ("plant", "workshop", "line")
NOT_FILTERS = ("page", "t", "pick")  # the board's own parameters, not BoardFilter's
PICK = re.compile(r"^(plant|workshop|line)-([0-9]{1,18})$")


@dataclass(frozen=True)
class Shown:
    """A board row as the pages print it."""

    row: BoardRow
    cells: str  # the five step cells of the board's table
    tv_cells: str  # the same for the TV
    age: str
    level: str  # "L2", or "" before the first tier fired
    level_title: str
    url: str
    grade_title: str


@functools.lru_cache(maxsize=64)
def _cells(step: str, colour: Colour, language: str) -> tuple[str, str]:
    """A step's cell on the board and on the TV, per language. Built here, not in the template:
    a page of 50 rows has 250 cells but only 20 different ones, and the template took most of
    the page's time; cached because building the 20 took 6 ms of every poll."""
    label, short, letter = STEP_LABELS[step], STEP_SHORT[step], COLOUR_LETTERS[colour]
    board = format_html(
        '<td class="c-step"><span class="rag rag-{}" title="{}: {}" data-testid="cell-{}" data-colour="{}">{}</span>'
        '<small class="steplabel">{}</small></td>',
        colour,
        label,
        COLOUR_MEANINGS[colour],
        step,
        colour,
        letter,
        short,
    )
    tv = format_html(
        '<td class="c-step"><span class="rag rag-{}" data-testid="cell-{}" data-colour="{}">{}</span></td>',
        colour,
        step,
        colour,
        letter,
    )
    return board, tv


def _shown(rows: list[BoardRow]) -> list[Shown]:
    language = get_language()
    cells = {(step, colour): _cells(step, colour, language) for step in STEPS for colour in Colour}
    levels = {level: str(label) for level, label in LEVEL_LABELS.items()}
    grades = {grade: str(label) for grade, label in Grade.choices}
    shown = []
    for row in rows:
        board, tv = zip(*(cells[step, row.colours[step]] for step in STEPS), strict=True)
        shown.append(
            Shown(
                row=row,
                # Safe: format_html escaped every part of each cell.
                cells=mark_safe("".join(board)),
                tv_cells=mark_safe("".join(tv)),
                age=age_label(row.age),
                level=f"L{row.escalation_level}" if row.escalated else "",
                level_title=levels.get(row.escalation_level, ""),
                url=reverse("problem_detail", args=[row.problem.pk]),
                grade_title=grades.get(row.problem.grade, ""),
            )
        )
    return shown


@dataclass
class Board:
    filterset: BoardFilter | None  # None: the address has no filters
    problems: object  # the filtered board_query
    counts: dict[str, int]
    query: str  # the filters, url-encoded, without the page
    scope: str  # what the board covers, for its title


def _filters(request) -> QueryDict:
    query = request.GET.copy()
    for name in NOT_FILTERS:
        query.pop(name, None)
    return query


def _board(request, now: dt.datetime) -> Board:
    base = board_query(request.user, now=now)
    query = _filters(request)
    if not query:
        # Most boards and every polling TV without filters: building the filter form (its
        # choices are scoped querysets) cost more than drawing ten rows.
        return Board(None, base, board_counts(base, now=now), "", "")
    filterset = BoardFilter(query, queryset=base, request=request)
    # A filter that does not hold (a line of another plant, a bad date) shows its error and an
    # empty board: a TV must never quietly show more than its address asks for.
    problems = filterset.qs if filterset.is_valid() else base.none()
    return Board(filterset, problems, board_counts(problems, now=now), query.urlencode(), _scope_title(filterset))


def _scope_title(filterset: BoardFilter) -> str:
    if not filterset.is_valid():
        return ""
    chosen = [(name, filterset.form.cleaned_data.get(name)) for name in PLACES]
    names = [str(item) for _name, values in chosen if values for item in values]
    return " · ".join(names)


def _page(board: Board, size: int, number) -> Page:
    paginator = Paginator(board.problems, size)
    paginator.count = board.counts["total"]  # already counted by the header's aggregate
    return paginator.get_page(number)


def _rows_of(board: Board, page: Page, now: dt.datetime) -> list[BoardRow]:
    start = (page.number - 1) * page.paginator.per_page
    return page_rows(board.problems, start, start + page.paginator.per_page, now=now)


def _header(board: Board, now: dt.datetime) -> dict:
    latest = latest_problem(board.problems)
    return {
        "counts": board.counts,
        "latest": latest,
        "latest_age": age_label(now - latest.reported_at) if latest else "",
        "now": now,
        "refresh_seconds": max(1, settings.QRQC_BOARD_REFRESH_SECONDS),
    }


def _picker(request) -> tuple[list[tuple[str, str, int]], str]:
    """(value, label, depth) for each plant, workshop and line the reader sees, and the chosen value."""
    options, seen = [], set()
    for line in visible_lines(request.user).order_by("workshop__plant__code", "workshop__code", "code"):
        workshop, plant = line.workshop, line.workshop.plant
        for kind, place, depth in (("plant", plant, 0), ("workshop", workshop, 1), ("line", line, 2)):
            value = f"{kind}-{place.pk}"
            if value not in seen:
                seen.add(value)
                options.append((value, str(place), depth))
    if sum(1 for _value, _label, depth in options if depth == 2) < 2:
        return [], ""  # a single line: nothing to choose
    chosen = [(name, request.GET.getlist(name)) for name in PLACES if request.GET.getlist(name)]
    current = f"{chosen[0][0]}-{chosen[0][1][0]}" if len(chosen) == 1 and len(chosen[0][1]) == 1 else ""
    return options, current


def _picked(request):
    """The place picker (a plain GET form, so it works without JavaScript) turns into the filters."""
    if "pick" not in request.GET:
        return None
    query = _filters(request)
    for name in PLACES:
        query.pop(name, None)
    match = PICK.match(request.GET["pick"])
    if match:
        query[match[1]] = match[2]
    return redirect(f"{reverse('board')}?{query.urlencode()}" if query else reverse("board"))


def _with(query: QueryDict, name: str, value: str) -> str:
    """The filters with `name` set to `value` alone: a header count links to its rows."""
    query = query.copy()
    query.setlist(name, [value])
    return query.urlencode()


def _board_context(request, now: dt.datetime) -> dict:
    board = _board(request, now)
    page = _page(board, BOARD_PAGE_SIZE, request.GET.get("page"))
    filters = _filters(request)
    return {
        "filter": board.filterset,
        "query": board.query,
        "page_query": _with(filters, "page", str(page.number)),
        "page": page,
        "rows": _shown(_rows_of(board, page, now)),
        "scope": board.scope,
        "steps": STEP_HEADERS,
        "links": {
            "a": _with(filters, "grade", "A"),
            "b": _with(filters, "grade", "B"),
            "c": _with(filters, "grade", "C"),
            "overdue": _with(filters, "overdue", "true"),
            "no_owner": _with(filters, "no_owner", "true"),
        },
        **_header(board, now),
    }


@permission_required("issues.view_problem", raise_exception=True)
def board(request):
    picked = _picked(request)
    if picked is not None:
        return picked
    context = _board_context(request, timezone.now())
    context["picker"], context["picked"] = _picker(request)
    # The picker's form carries the other filters along; it replaces only the place.
    context["keep"] = [
        (name, value) for name, values in _filters(request).lists() if name not in PLACES for value in values
    ]
    return render(request, "issues/board/board.html", context)


@permission_required("issues.view_problem", raise_exception=True)
def board_filters(request):
    """The filter panel, fetched when it is first opened on a board without filters."""
    filterset = BoardFilter(None, queryset=Problem.objects.none(), request=request)
    return render(request, "_list_filters.html", {"filter": filterset, "query": "", "clear_url": reverse("board")})


@permission_required("issues.view_problem", raise_exception=True)
def board_live(request):
    """What an open board replaces every few seconds: the counts, the rows and the pager."""
    return render(request, "issues/board/_live.html", _board_context(request, timezone.now()))


# --- TV mode ------------------------------------------------------------------------------
def _number(value: str | None, default: int) -> int:
    return int(value) if value and value.isdecimal() and len(value) < 7 else default


def tv_turn(page: int, pages: int, tick: int, polls_per_page: int) -> tuple[int, int]:
    """(page, tick) the next poll asks for: the same page until it has been shown
    `polls_per_page` times, then the next one, back to the first after the last."""
    if tick + 1 < polls_per_page:
        return page, tick + 1
    return page % pages + 1, 0


def _tv_context(request, now: dt.datetime) -> dict:
    board = _board(request, now)
    per_page = max(1, settings.QRQC_TV_ROWS_PER_PAGE)
    refresh = max(1, settings.QRQC_BOARD_REFRESH_SECONDS)
    paginator = Paginator(board.problems, per_page)
    paginator.count = board.counts["total"]
    number = _number(request.GET.get("page"), 1)
    if not 1 <= number <= paginator.num_pages:  # the list got shorter since: start again
        number = 1
    page = paginator.page(number)
    tick = _number(request.GET.get("t"), 0)
    polls_per_page = max(1, math.ceil(settings.QRQC_TV_PAGE_SECONDS / refresh))
    next_page, next_tick = tv_turn(number, paginator.num_pages, tick, polls_per_page)
    next_query = board.query + ("&" if board.query else "") + f"page={next_page}&t={next_tick}"
    return {
        "filter": board.filterset,
        "query": board.query,
        "next_query": next_query,
        "page": page,
        "rows": _shown(_rows_of(board, page, now)),
        "scope": board.scope,
        "legend": [(COLOUR_LETTERS[colour], colour, COLOUR_MEANINGS[colour]) for colour in Colour],
        "steps": STEP_HEADERS,
        **_header(board, now),
    }


@permission_required("issues.view_problem", raise_exception=True)
def board_tv(request):
    """Full screen for a shop-floor TV: no site chrome, large type, refreshes and turns pages itself."""
    return render(request, "issues/board/tv.html", _tv_context(request, timezone.now()))


@permission_required("issues.view_problem", raise_exception=True)
def board_tv_rows(request):
    return render(request, "issues/board/_tv_live.html", _tv_context(request, timezone.now()))


urlpatterns = [
    path("board/", board, name="board"),
    path("board/live/", board_live, name="board_live"),
    path("board/filters/", board_filters, name="board_filters"),
    path("board/tv/", board_tv, name="board_tv"),
    path("board/tv/rows/", board_tv_rows, name="board_tv_rows"),
]
