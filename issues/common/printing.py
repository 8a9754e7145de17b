"""What the printouts' downloads share: the reader's language, and the page they get when the
PDF font is missing."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import get_language

from issues.common.pdf_font import FontUnavailable

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)


def text_in(text: StrOrPromise, language: str) -> str:
    """One of our own texts (a label, a choice) in the printout's language; "both" gives
    "English / 中文", once only while a text has no translation yet."""
    if language == "both":
        english, chinese = text_in(text, "en"), text_in(text, "zh-hans")
        return english if english == chinese else f"{english} / {chinese}"
    with translation.override(language):
        return capfirst(str(text))


def reader_language() -> str:
    return "zh-hans" if (get_language() or "").startswith("zh") else "en"


def needs_the_font(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Without its CJK font a printout would show Chinese as empty boxes, so none is made: the
    reader gets a page saying so in their language, 503 (the server lacks a part it needs; the
    request was fine and will work once it is installed), and the operator the reason in the log."""

    @functools.wraps(view)
    def printing(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except FontUnavailable as exc:
            logger.error("Printout %s refused: %s", request.path, exc)
            return render(request, "issues/printout_unavailable.html", {"fault": str(exc)}, status=503)

    return printing
