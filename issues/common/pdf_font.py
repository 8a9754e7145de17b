"""The CJK TrueType font of the printouts and the Q charts.

QRQC_PDF_FONT names the file; by default it is the WenQuanYi Micro Hei collection that the
paperang-p2-fonts-cjk package installs with requirements.txt, so a machine with nothing but
Python prints Chinese. The first face of the file is registered with reportlab once per process
and embedded in every PDF: Chinese then renders on a reader's computer without Chinese fonts.

A PDF cannot do without that font (Chinese would print as empty boxes), so `printout_font()` raises
FontUnavailable with a message that says what to fix. A chart on a web page can: the browser
draws the SVG's text with its own fonts and reportlab only measures it, so `chart_font()` falls
back to reportlab's built-in STSong-Light metrics (no file needed) and logs the fault once."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

logger = logging.getLogger(__name__)

FONT_PACKAGE = "paperang-p2-fonts-cjk"
FALLBACK = "STSong-Light"  # metrics ship inside reportlab; only measured, never embedded
CHINESE_PROBE = "中"  # a font without this glyph would print Chinese as boxes


class FontUnavailable(ImproperlyConfigured):
    """QRQC_PDF_FONT names no TrueType font with Chinese glyphs that reportlab can embed."""


@dataclass(frozen=True)
class Font:
    name: str  # as registered with reportlab
    family: str  # as a browser would know it ("" when it would not)
    identity: str  # what the text is drawn from: part of a cached chart's key


_registered: dict[str, Font] = {}  # font file -> its registration
_reported: set[str] = set()  # font files whose fault the charts have logged already


def _identity(path: str) -> str:
    stat = os.stat(path)
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def _safe_family(name: str) -> str:
    """The face's family name as it may stand unquoted in an SVG style attribute."""
    return re.sub(r"[^A-Za-z0-9 _-]", "", name).strip()


def _register(path: str) -> Font:
    if not path:
        raise FontUnavailable(
            f"QRQC_PDF_FONT is not set and the font package {FONT_PACKAGE} is not installed: run "
            "`pip install -r requirements.txt`, or point QRQC_PDF_FONT at a TrueType font (.ttf/.ttc) with Chinese glyphs."
        )
    name = f"CJK{len(_registered)}"
    try:
        font = TTFont(name, path, subfontIndex=0)
        identity = _identity(path)
    except Exception as exc:  # reportlab raises TTFError, OSError or struct errors on a bad file
        raise FontUnavailable(
            f"QRQC_PDF_FONT: no usable TrueType font at {path!r} ({exc}). Reinstall {FONT_PACKAGE} "
            "(`pip install -r requirements.txt`) or point QRQC_PDF_FONT at a .ttf/.ttc with Chinese glyphs."
        ) from exc
    if ord(CHINESE_PROBE) not in font.face.charToGlyph:
        raise FontUnavailable(
            f"QRQC_PDF_FONT: the font at {path!r} has no Chinese glyphs; Chinese would print as boxes. "
            "Point QRQC_PDF_FONT at a .ttf/.ttc with Chinese glyphs."
        )
    pdfmetrics.registerFont(font)
    return Font(name, _safe_family(font.face.familyName.decode("latin-1", "replace")), identity)


def printout_font() -> Font:
    """The configured font, registered on first use (parsing a 5–10 MB collection takes ~0.1 s)."""
    path = settings.QRQC_PDF_FONT
    if path not in _registered:
        _registered[path] = _register(path)
    return _registered[path]


def font_name() -> str:
    """The reportlab name to set every text of a PDF in."""
    return printout_font().name


def chart_font() -> Font:
    """The configured font, or else reportlab's built-in CJK metrics: a web chart is never lost to
    a missing font. The fault is logged once per process and font file."""
    try:
        return printout_font()
    except FontUnavailable as exc:
        path = settings.QRQC_PDF_FONT
        if path not in _reported:
            _reported.add(path)
            logger.error("Q charts drawn with reportlab's built-in %s metrics: %s", FALLBACK, exc)
        if FALLBACK not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
        return Font(FALLBACK, "", f"built-in:{FALLBACK}")
