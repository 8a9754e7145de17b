"""The 8D printout's download (its data: issues.eightd.print_data)."""

from __future__ import annotations

import io

from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from issues.common.printing import needs_the_font, reader_language
from issues.common.scope import visible_problems
from issues.eightd.print_data import eightd_print_data
from issues.eightd.printout import LANGUAGES, render_eightd
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
