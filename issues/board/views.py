"""The daily QRQC board and its TV mode (issue #5).

One row per problem of the past 24 hours and every open older one (issues.board.queries), narrowed by
the filters in the URL (issues.board.filters.BoardFilter), so a bookmarked or TV address keeps its
scope. Open boards poll a fragment of themselves (htmx) every QRQC_BOARD_REFRESH_SECONDS: a
new or escalated problem shows up within 10 s without a reload. The TV turns its pages itself:
each fragment names the page the next poll asks for.

Every page costs the same few queries whatever the number of problems: the board's entries
(one narrow row per problem on it, for the header's counts, the newest problem and the pager),
the page's problems, their 8D sections and the plants' solving policies. The filter panel's
choices (people, lines) are fetched only when the panel is opened or filters are in the address.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Page, Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from issues.board.filters import BoardFilter
from issues.board.queries import (
    BoardEntry,
    BoardRow,
    board_counts,
    board_entries,
    board_query,
    latest_problem,
    page_rows,
)
from issues.board.rows import COLOUR_MEANINGS, STEP_SHORT, rows_html
from issues.common.ids import whole_number
from issues.common.scope import visible_lines
from issues.eightd.rules import COLOUR_LETTERS, Colour
from issues.eightd.steps import STEP_LABELS, STEPS
from issues.models import Problem
from issues.models.plant import bilingual_name
from issues.problems.flags import age_label

BOARD_PAGE_SIZE = 50  # a phone or desk browser; the TV pages by QRQC_TV_ROWS_PER_PAGE
STEP_HEADERS = [(step, STEP_LABELS[step], STEP_SHORT[step]) for step in STEPS]
Status = Problem.Status
PLACES = ("plant", "workshop", "line")
PLACE_PATHS = ("workshop__plant__", "workshop__", "")  # from a line to each of PLACES
NOT_FILTERS = ("page", "t", "pick")  # the board's own parameters, not BoardFilter's
PICK = re.compile(r"^(plant|workshop|line)-([0-9]{1,18})$")


@dataclass
class Board:
    filterset: BoardFilter | None  # None: the address has no filters
    entries: list[BoardEntry]  # the filtered board_query, in its order
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
        entries = board_entries(base)
        return Board(None, entries, board_counts(entries, now=now), "", "")
    filterset = BoardFilter(query, queryset=base, request=request)
    # A filter that does not hold (a line of another plant, a bad date) shows its error and an
    # empty board: a TV must never quietly show more than its address asks for.
    entries = board_entries(filterset.qs) if filterset.is_valid() else []
    return Board(filterset, entries, board_counts(entries, now=now), query.urlencode(), _scope_title(filterset))


def _scope_title(filterset: BoardFilter) -> str:
    if not filterset.is_valid():
        return ""
    chosen = [(name, filterset.form.cleaned_data.get(name)) for name in PLACES]
    names = [str(item) for _name, values in chosen if values for item in values]
    return " · ".join(names)


def _rows_of(board: Board, page: Page, now: dt.datetime) -> list[BoardRow]:
    start = (page.number - 1) * page.paginator.per_page
    return page_rows(board.entries, start, start + page.paginator.per_page, now=now)


def _header(board: Board, now: dt.datetime) -> dict:
    latest = latest_problem(board.entries)
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
    places = (
        visible_lines(request.user)
        .order_by("workshop__plant__code", "workshop__code", "code")
        .values_list(*(f"{path}{field}" for path in PLACE_PATHS for field in ("id", "name_en", "name_zh")))
    )
    for values in places:  # plain values: a plant's lines as models with their workshops cost 3 ms
        for depth, kind in enumerate(PLACES):
            pk, name_en, name_zh = values[3 * depth : 3 * depth + 3]
            value = f"{kind}-{pk}"
            if value not in seen:
                seen.add(value)
                options.append((value, bilingual_name(name_en, name_zh), depth))
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
    return redirect(f"{reverse('board:index')}?{query.urlencode()}" if query else reverse("board:index"))


def _with(query: QueryDict, name: str, value: str) -> str:
    """The filters with `name` set to `value` alone: a header count links to its rows."""
    query = query.copy()
    query.setlist(name, [value])
    return query.urlencode()


def _board_context(request, now: dt.datetime) -> dict:
    board = _board(request, now)
    page = Paginator(board.entries, BOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    filters = _filters(request)
    return {
        "filter": board.filterset,
        "query": board.query,
        "page_query": _with(filters, "page", str(page.number)),
        "page": page,
        "rows": rows_html(_rows_of(board, page, now)),
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
    return render(
        request, "_list_filters.html", {"filter": filterset, "query": "", "clear_url": reverse("board:index")}
    )


@permission_required("issues.view_problem", raise_exception=True)
def board_live(request):
    """What an open board replaces every few seconds: the counts, the rows and the pager."""
    return render(request, "issues/board/_live.html", _board_context(request, timezone.now()))


# --- TV mode ------------------------------------------------------------------------------
def _number(value: str | None, default: int) -> int:
    number = whole_number(value)
    return number if number is not None and number < 1_000_000 else default


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
    paginator = Paginator(board.entries, per_page)
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
        "rows": rows_html(_rows_of(board, page, now), tv=True),
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
