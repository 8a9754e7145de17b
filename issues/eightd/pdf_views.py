"""The printouts' downloads: the 8D report (its data: issues.eightd.print_data) and the minutes
of a QRQC meeting (their data: issues.minutes.minutes_data)."""

from __future__ import annotations

import io

from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.translation import gettext as _

from issues.common.printing import needs_the_font, reader_language
from issues.common.scope import visible_problems
from issues.eightd.print_data import eightd_print_data
from issues.eightd.printout import LANGUAGES, render_eightd
from issues.meeting import visible_meetings
from issues.minutes import LANGUAGES as MINUTES_LANGUAGES
from issues.minutes import minutes_data, render_minutes
from issues.models import EightDReport


@permission_required("issues.view_problem", raise_exception=True)
@needs_the_font
def eightd_pdf(request, pk: int):
    """?language=en|zh-hans|both (default: the reader's language)."""
    problem = get_object_or_404(visible_problems(request.user), pk=pk)
    language = request.GET.get("language") or reader_language()
    if language not in LANGUAGES:
        return HttpResponseBadRequest(
            _("The printout's language is en, zh-hans or both."), content_type="text/plain; charset=utf-8"
        )
    report = get_object_or_404(
        EightDReport.objects.select_related("problem__plant", "problem__line__workshop"), problem=problem
    )
    pdf = render_eightd(eightd_print_data(report, language), language)
    return FileResponse(
        io.BytesIO(pdf),
        as_attachment=True,
        filename=f"8D-{problem.number}-{language}.pdf",
        content_type="application/pdf",
    )


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
