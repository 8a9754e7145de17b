"""The board's and the TV's rows as HTML.

Drawn here rather than by a template loop: at 0.3 ms a row, the template's 50 rows cost more
than all the page's queries (bench/board.py). Every value goes into a row through format_html,
which escapes it, or through `text` (html.escape: plain str in, no lazy-text checks, a third of
Django's cost for a dozen values a row); what every row says the same way (tags, level and step
cells) is format_html's too, built once per page in the reader's language."""

from __future__ import annotations

import functools
from html import escape

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext, gettext_lazy, pgettext_lazy

from escalation.models import LEVELS
from issues.board.queries import BoardRow
from issues.eightd.rules import COLOUR_LETTERS, Colour
from issues.eightd.steps import STEP_LABELS, STEPS
from issues.models import Category, Grade, Problem
from issues.problems.flags import age_label
from issues.problems.links import problem_url_format

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
LEVEL_LABELS = dict(LEVELS)
NOTHING = SafeString('<span class="muted">–</span>')
DASH = SafeString("–")
NO_LEVEL_TV = SafeString('<span class="nolevel">—</span>')
# A row's classes by (new, closed, escalated).
ROW_CLASSES = {
    (new, closed, escalated): SafeString((" new" * new) + (" closed" * closed) + (" escalated" * escalated))
    for new in (False, True)
    for closed in (False, True)
    for escalated in (False, True)
}
OVERDUE_CLASS = SafeString(" overdue")

BOARD_ROW = (
    '<tr class="boardrow{row_class}" data-testid="board-row" data-number="{number}">'
    '<td class="c-grade"><span class="grade grade-{grade_lower}" title="{grade_title}">{grade}</span></td>'
    '<td class="c-number"><a href="{url}">{number}</a>{new_tag}</td>'
    '<td class="c-category">{category}</td>'
    '<td class="c-line">{line}</td>'
    '<td class="c-title">{title}{closed_tag}</td>'
    '<td class="c-age" title="{occurred}" data-testid="age">{age}</td>'
    '<td class="c-owner" data-testid="owner">{owner}</td>'
    '<td class="c-due{due_class}" data-testid="due">{due}</td>'
    '<td class="c-level">{level}</td>'
    "{cells}</tr>"
)
TV_ROW = (
    '<tr class="tvrow{row_class}" data-testid="tv-row" data-number="{number}">'
    '<td class="c-grade"><span class="grade grade-{grade_lower}">{grade}</span></td>'
    '<td class="c-title"><span class="tv-titletext">{new_tag}{title}</span>'
    '<small><b class="tv-number">{number}</b> · {line} · {category}{closed_tag}</small></td>'
    '<td class="c-age">{age}</td>'
    '<td class="c-owner">{owner}</td>'
    '<td class="c-due{due_class}">{due}</td>'
    '<td class="c-level">{level}</td>'
    "{cells}</tr>"
)


def text(value: str) -> SafeString:
    """Plain text made safe to put into HTML: escaped, quotes included."""
    return SafeString(escape(value))


@functools.lru_cache(maxsize=64)
def step_cells(step: str, colour: Colour, language: str) -> tuple[SafeString, SafeString]:
    """A step's cell on the board and on the TV, per language: a page of 50 rows has 250 cells
    but only 20 different ones, cached because building the 20 took 6 ms of every poll."""
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


@functools.lru_cache(maxsize=1024)
def row_cells(colours: tuple[Colour, ...], language: str, tv: bool) -> SafeString:
    """A row's five step cells: few combinations of colours come up, so each is joined once."""
    which = 1 if tv else 0
    return format_html_join(
        "", "{}", ((step_cells(step, colour, language)[which],) for step, colour in zip(STEPS, colours, strict=True))
    )


class RowWriter:
    """Writes a page's rows: what every row says the same way is looked up once, in the reader's
    language."""

    def __init__(self, *, tv: bool = False):
        self.tv = tv
        self.language = get_language()
        self.grades = {grade: text(str(label)) for grade, label in Grade.choices}
        self.categories = {category: text(str(label)) for category, label in Category.choices}
        new, closed = gettext("new"), gettext("Closed")
        if tv:
            self.new_tag = format_html('<span class="newtag">{}</span> ', new)
            self.closed_tag = format_html(' · <span class="closedtag">{}</span>', closed)
        else:
            self.new_tag = format_html(' <span class="newtag">{}</span>', new)
            self.closed_tag = format_html(' <span class="closedtag">{}</span>', closed)
        self.no_owner = format_html('<em class="noowner" data-testid="no-owner">{}</em>', gettext("No owner"))
        self.due_label = gettext("Due")
        self.overdue_tag = format_html(' <em data-testid="overdue">{}</em>', gettext("overdue"))
        self.not_escalated = format_html('<span class="muted nolevel" title="{}">—</span>', gettext("not escalated"))
        self.levels: dict[int, SafeString] = {}
        self.problem_url = problem_url_format()

    def level_cell(self, level: int) -> SafeString:
        if level not in self.levels:
            if self.tv:
                cell = format_html('<span class="level level-{}" data-testid="level">L{}</span>', level, level)
            else:
                cell = format_html(
                    '<span class="level level-{}" title="{}" data-testid="level">L{}</span>',
                    level,
                    LEVEL_LABELS.get(level, ""),
                    level,
                )
            self.levels[level] = cell
        return self.levels[level]

    def due_cell(self, row: BoardRow) -> SafeString:
        if not row.due_date:
            return DASH if self.tv else NOTHING
        short = text(f"{row.due_date:%m-%d}")
        if self.tv:
            return short
        return format_html(
            '<span class="duelabel">{} </span><time datetime="{}" title="{}">{}</time>{}',
            self.due_label,
            row.due_date.isoformat(),
            row.due_date.isoformat(),
            short,
            self.overdue_tag if row.overdue else "",
        )

    def row(self, row: BoardRow) -> SafeString:
        problem = row.problem
        closed = problem.status == Problem.Status.CLOSED
        owner = text(row.owner_name) if row.owner_name else None
        grade = text(problem.grade)
        return format_html(
            TV_ROW if self.tv else BOARD_ROW,
            row_class=ROW_CLASSES[row.new, closed, row.escalated],
            number=text(problem.number),
            grade=grade,
            grade_lower=grade.lower(),
            grade_title=self.grades.get(problem.grade, ""),
            url=self.problem_url.format(problem.pk),
            new_tag=self.new_tag if row.new else "",
            category=self.categories.get(problem.category) or text(problem.category),
            line=text(problem.line),
            title=text(problem.title),
            closed_tag=self.closed_tag if closed else "",
            occurred=f"{timezone.localtime(problem.occurred_at):%Y-%m-%d %H:%M}",
            age=text(age_label(row.age)),
            owner=owner or (self.no_owner if row.needs_owner else (DASH if self.tv else NOTHING)),
            due_class=OVERDUE_CLASS if row.overdue else "",
            due=self.due_cell(row),
            level=self.level_cell(row.escalation_level) if row.escalated else self.no_level,
            cells=row_cells(tuple(row.colours[step] for step in STEPS), self.language, self.tv),
        )

    @property
    def no_level(self) -> SafeString:
        return NO_LEVEL_TV if self.tv else self.not_escalated


def rows_html(rows: list[BoardRow], *, tv: bool = False) -> list[SafeString]:
    writer = RowWriter(tv=tv)
    return [writer.row(row) for row in rows]
