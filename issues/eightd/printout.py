"""The 8D report on paper for the customer (docs/problem-solving.md §Printout, issue #4).

`render_eightd(data, language)` turns plain data (EightDPrint, built from the database by
issues.eightd.print_data.eightd_print_data) into PDF bytes with reportlab platypus. No ORM and no
clock: the printed date comes in the data. The only outside input is the CJK font
(issues.common.pdf_font, settings.QRQC_PDF_FONT), used for every text so Chinese and Latin share one
embedded face.

The page machinery (font, styles, header block, bars, "page X of Y" footer, build_a4) is
shared with the other printouts (issues.meetings.minutes).

Languages: "en", "zh-hans", or "both" (our labels as "English / 中文"); what people typed is
printed as typed."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from django.utils.translation import gettext_lazy as _
from PIL import Image as PILImage
from PIL import UnidentifiedImageError
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch, mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas
from reportlab.platypus import CondPageBreak, Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

from issues.common.pdf_font import font_name
from issues.common.printing import text_in

if TYPE_CHECKING:
    pass

LANGUAGES = ("en", "zh-hans", "both")

# Binary streams, not ASCII85 text: without reportlab's optional C accelerator the pure-Python
# ASCII85 encoder took ~40 ms per photo, and the encoding made the PDF a quarter larger.
rl_config.useA85 = 0

MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN
NUMBER_COLUMN = 8 * mm
# A heading starts a new page when less than this is left below it, so it is never left alone
# at the foot of a page; the long tables after it still split over pages (keepWithNext would
# push a whole page-long table, and its heading, onto the next page).
ROOM_FOR_A_START = 35 * mm
CELL_PADDING = 12  # points: 8 of cell padding, and room for the space CJK wrapping counts before a word
BODY_SIZE, HEAD_SIZE = 9, 8
PHOTO_GAP = 6 * mm
PHOTO_BOX = ((WIDTH - PHOTO_GAP) / 2, 62 * mm)
# Photos are re-encoded at this resolution for their printed size: sharp on paper, and a
# dozen 1600 px originals add well under a megabyte to the PDF.
PRINT_DPI = 150

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
BAR = colors.HexColor("#2f4a6d")
RULE = colors.HexColor("#9aa5b1")
SHADE = colors.HexColor("#eef1f4")


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Row:
    """A label and its value, both already in the printout's language."""

    label: str
    value: str


@dataclass(frozen=True)
class Grid:
    """A table of an answer (D3 containment actions, D5/D6 actions …), cells as text."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Photo:
    """A JPEG as a file path or bytes; None when the file is gone (printed as missing)."""

    image: str | bytes | None
    caption: str


@dataclass(frozen=True)
class SectionPrint:
    code: str
    title: str
    state: str
    due_on: str
    accepted_on: str
    rows: tuple[Row, ...] = ()
    grids: tuple[Grid, ...] = ()
    photos: tuple[Photo, ...] = ()
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Signature:
    name: str
    function: str
    signed_on: str


@dataclass(frozen=True)
class EightDPrint:
    number: str
    header: tuple[Row, ...]
    sections: tuple[SectionPrint, ...]
    signatures: tuple[Signature, ...]
    printed_on: str


# --------------------------------------------------------------------------- styles


@lru_cache
def styles(font: str) -> dict[str, ParagraphStyle]:
    # CJK wrapping: Chinese has no spaces, so lines must be allowed to break between characters.
    body = ParagraphStyle("body", fontName=font, fontSize=BODY_SIZE, leading=12, textColor=INK, wordWrap="CJK")
    return {
        "body": body,
        "label": ParagraphStyle("label", parent=body, textColor=MUTED),
        "head": ParagraphStyle("head", parent=body, fontSize=HEAD_SIZE, leading=10),
        "muted": ParagraphStyle("muted", parent=body, textColor=MUTED, spaceBefore=2),
        "caption": ParagraphStyle("caption", parent=body, fontSize=8, leading=10, textColor=MUTED),
        "title": ParagraphStyle("title", parent=body, fontSize=18, leading=24, spaceAfter=4 * mm),
        "grid_title": ParagraphStyle("grid_title", parent=body, spaceBefore=3 * mm, spaceAfter=1 * mm),
        "bar": ParagraphStyle("bar", parent=body, fontSize=11, leading=14, textColor=colors.white),
        "bar_note": ParagraphStyle("bar_note", parent=body, fontSize=8, textColor=colors.white, alignment=TA_RIGHT),
    }


def markup(text: str) -> str:
    """Text as typed, as Paragraph markup: <, > and & escaped, line breaks kept."""
    return "<br/>".join(escape(line) for line in text.splitlines())


def para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(markup(text), style)


def grid_style(header: bool) -> list[tuple]:
    style = [
        # Also for plain-string cells (a blank one to sign in): else the table pulls in Helvetica.
        ("FONTNAME", (0, 0), (-1, -1), font_name()),
        ("GRID", (0, 0), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
    return style


# --------------------------------------------------------------------------- building blocks

# What a line may not be broken inside: a run of non-space characters, except that lines break
# between Chinese characters (CJK wrapping), so each of those is a word of its own.
_WORD = re.compile(r"[\u2e80-\u9fff\uf900-\uffef]|[^\s\u2e80-\u9fff\uf900-\uffef]+")


def info_block(rows: tuple[Row, ...], st: dict[str, ParagraphStyle]) -> Table:
    """The bordered label/value block a reader looks for first, two pairs to a line."""
    cells = [[para(row.label, st["label"]), para(row.value, st["body"])] for row in rows]
    if len(cells) % 2:
        cells.append(["", ""])
    pairs = [cells[i] + cells[i + 1] for i in range(0, len(cells), 2)]
    label, value = 38 * mm, WIDTH / 2 - 38 * mm
    table = Table(pairs, colWidths=[label, value, label, value], splitByRow=1, splitInRow=1)
    table.setStyle(
        [
            *grid_style(header=False),
            ("BOX", (0, 0), (-1, -1), 1, INK),
            ("BACKGROUND", (0, 0), (0, -1), SHADE),
            ("BACKGROUND", (2, 0), (2, -1), SHADE),
        ]
    )
    return table


def _header(data: EightDPrint, language: str, st) -> list:
    """Title and the block a customer looks for first: customer, part, number, dates."""
    return [para(text_in(_("8D report"), language), st["title"]), info_block(data.header, st)]


def bar(title: str, note: str, st: dict[str, ParagraphStyle]) -> Table:
    """A dark band opening a part of the document: its title, and a note on the right."""
    band = Table([[para(title, st["bar"]), para(note, st["bar_note"])]], colWidths=[WIDTH * 0.55, WIDTH * 0.45])
    band.setStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font_name()),
            ("BACKGROUND", (0, 0), (-1, -1), BAR),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
    )
    return band


def _rows(rows: tuple[Row, ...], st) -> Table:
    cells = [[para(row.label, st["label"]), para(row.value, st["body"])] for row in rows]
    # splitInRow: a 5,000-character answer runs on over the next page instead of raising LayoutError.
    table = Table(cells, colWidths=[50 * mm, WIDTH - 50 * mm], splitByRow=1, splitInRow=1)
    table.setStyle([*grid_style(header=False), ("BACKGROUND", (0, 0), (0, -1), SHADE)])
    return table


def _column_widths(grid: Grid, total: float, font: str) -> list[float]:
    """Widths as a browser lays out an automatic table: every column at least as wide as its
    longest word, so dates and numbers never break, and the room left shared in proportion to
    how much wider each column would like to be, so long texts get most of it."""
    least, most = [], []
    for index, column in enumerate(grid.columns):
        texts = [(column, HEAD_SIZE)] + [(row[index], BODY_SIZE) for row in grid.rows]
        words = [pdfmetrics.stringWidth(word, font, size) for text, size in texts for word in _WORD.findall(text)]
        lines = [pdfmetrics.stringWidth(line, font, size) for text, size in texts for line in text.splitlines()]
        least.append(max(words, default=0) + CELL_PADDING)
        most.append(max(lines, default=0) + CELL_PADDING)
    if sum(most) <= total:
        return [total * width / sum(most) for width in most]
    if sum(least) >= total:
        return [total * width / sum(least) for width in least]
    share = (total - sum(least)) / (sum(most) - sum(least))
    return [low + (high - low) * share for low, high in zip(least, most, strict=True)]


def _grid(grid: Grid, st) -> list:
    title = para(grid.title, st["grid_title"])
    head = ["#", *grid.columns]
    body = [[str(number), *row] for number, row in enumerate(grid.rows, 1)]
    cells = [[para(text, st["head"]) for text in head]] + [[para(text, st["body"]) for text in row] for row in body]
    widths = [NUMBER_COLUMN, *_column_widths(grid, WIDTH - NUMBER_COLUMN, st["body"].fontName)]
    table = Table(cells, colWidths=widths, repeatRows=1, splitByRow=1, splitInRow=1)
    table.setStyle(grid_style(header=True))
    return [CondPageBreak(ROOM_FOR_A_START), title, table]


def _print_jpeg(source: str | bytes, edge: int) -> tuple[bytes, tuple[int, int]]:
    """The photo re-encoded for its printed size. JPEG draft mode decodes a 1600 px original
    at half scale; Pillow's bilinear filter still averages every source pixel when shrinking,
    and costs a third less than Lanczos."""
    with PILImage.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
        image.draft("RGB", (edge, edge))
        picture = image.convert("RGB")
    picture.thumbnail((edge, edge), PILImage.Resampling.BILINEAR)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue(), picture.size


def _picture(photo: Photo, language: str, st) -> list:
    box_width, box_height = PHOTO_BOX
    caption = para(photo.caption, st["caption"])
    missing = [para(text_in(_("Photo missing"), language), st["muted"]), caption]
    if photo.image is None:
        return missing
    try:
        jpeg, (width, height) = _print_jpeg(photo.image, round(max(PHOTO_BOX) / inch * PRINT_DPI))
    except (OSError, UnidentifiedImageError, ValueError):  # deleted or damaged on the disk
        return missing
    scale = min(box_width / width, box_height / height)
    return [Image(io.BytesIO(jpeg), width=width * scale, height=height * scale), caption]


def _photos(photos: tuple[Photo, ...], language: str, st) -> list:
    """Two photos per row, each scaled into its box, captions underneath."""
    title = para(text_in(_("Photos"), language), st["grid_title"])
    cells: list[list | str] = [_picture(photo, language, st) for photo in photos]
    if len(cells) % 2:
        cells.append("")
    rows = [cells[i : i + 2] for i in range(0, len(cells), 2)]
    table = Table(rows, colWidths=[PHOTO_BOX[0] + PHOTO_GAP / 2] * 2, splitByRow=1)
    table.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, -1), "CENTER")])
    return [CondPageBreak(PHOTO_BOX[1] + 15 * mm), title, table]


def _section(section: SectionPrint, language: str, st) -> list:
    # "Accepted 2025-03-05 · Due 2025-03-04": the state, when it was reached, and the deadline.
    dates = [f"{section.state} {section.accepted_on}".strip()]
    if section.due_on:
        dates.append(f"{text_in(_('Due'), language)} {section.due_on}")
    flow: list = [Spacer(1, 5 * mm), CondPageBreak(ROOM_FOR_A_START), bar(section.title, " · ".join(dates), st)]
    if not (section.rows or section.grids or section.photos or section.documents):
        flow.append(para(text_in(_("No answer yet."), language), st["muted"]))
    if section.rows:
        flow.append(_rows(section.rows, st))
    for grid in section.grids:
        flow += _grid(grid, st)
    if section.photos:
        flow += _photos(section.photos, language, st)
    if section.documents:
        label = text_in(_("Documents"), language)
        flow.append(para(f"{label}: {', '.join(section.documents)}", st["muted"]))
    return flow


def _signatures(data: EightDPrint, language: str, st) -> list:
    """D8's sign-offs with a line to sign on each, then blank lines for the customer."""
    head = [text_in(label, language) for label in (_("Name"), _("Function"), _("Date"), _("Signature"))]
    widths = [50 * mm, 45 * mm, 30 * mm, WIDTH - 125 * mm]

    def table(rows: list[list[str]]) -> Table:
        cells = [[para(text, st["head"]) for text in head]] + [[para(text, st["body"]) for text in row] for row in rows]
        signing = Table(cells, colWidths=widths, rowHeights=[None] + [12 * mm] * len(rows), repeatRows=1)
        signing.setStyle([*grid_style(header=True), ("VALIGN", (0, 1), (-1, -1), "MIDDLE")])
        return signing

    team = [[s.name, s.function, s.signed_on, ""] for s in data.signatures] or [["", "", "", ""]] * 2
    customer_title = para(text_in(_("Customer approval"), language), st["grid_title"])
    return [
        Spacer(1, 5 * mm),
        KeepTogether(
            [
                bar(text_in(_("Signatures"), language), "", st),
                table(team),
                customer_title,
                table([["", "", "", ""]] * 2),
            ]
        ),
    ]


# --------------------------------------------------------------------------- pages


class NumberedCanvas(canvas.Canvas):
    """Holds each page until the document ends so every footer can say "page X of Y"
    without laying the story out twice."""

    def __init__(self, *args: Any, footer: Callable[[canvas.Canvas, int, int], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._held: list[dict] = []

    def showPage(self) -> None:
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        for number, page in enumerate(self._held, 1):
            self.__dict__.update(page)
            self._footer(self, number, len(self._held))
            super().showPage()
        super().save()


def page_footer(
    canv: canvas.Canvas, page: int, pages: int, *, left: str, printed_on: str, language: str, font: str
) -> None:
    """What the document is on the left, "page X of Y" in the middle, the printing date on the right."""
    y = 9 * mm
    canv.saveState()
    canv.setStrokeColor(RULE)
    canv.setLineWidth(0.4)
    canv.line(MARGIN, y + 4 * mm, A4[0] - MARGIN, y + 4 * mm)
    canv.setFont(font, 8)
    canv.setFillColor(MUTED)
    canv.drawString(MARGIN, y, left)
    canv.drawCentredString(
        A4[0] / 2, y, text_in(_("Page %(page)d of %(pages)d"), language) % {"page": page, "pages": pages}
    )
    canv.drawRightString(A4[0] - MARGIN, y, text_in(_("Printed %(date)s"), language) % {"date": printed_on})
    canv.restoreState()


def build_a4(story: list, *, title: str, footer_left: str, printed_on: str, language: str) -> bytes:
    """Lay `story` out on A4 pages with the house margins and footer; the PDF's bytes."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 5 * mm,
        title=title,
        creator="QRQC",
        # Every page starts in our font, so the PDF references no unembedded Helvetica.
        initialFontName=font_name(),
    )
    footer = partial(page_footer, left=footer_left, printed_on=printed_on, language=language, font=font_name())
    document.build(story, canvasmaker=partial(NumberedCanvas, footer=footer))
    return buffer.getvalue()


def render_eightd(data: EightDPrint, language: str) -> bytes:
    """The 8D report as an A4 PDF: header block, D0–D8 in order, signatures; footer on every page."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    st = styles(font_name())
    story = _header(data, language, st)
    for section in data.sections:
        story += _section(section, language, st)
    story += _signatures(data, language, st)
    label = f"8D {data.number}"
    return build_a4(story, title=label, footer_left=label, printed_on=data.printed_on, language=language)
