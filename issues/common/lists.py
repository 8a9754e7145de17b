"""The list pages (problems, lessons, escalations, meetings): filters from the address, their
errors, a page of rows and the CSV / XLSX exports, in one place.

A filter whose value does not hold (a grade Z, a line of another plant, a date that is no
date) lists nothing and shows its error next to the field, in the reader's language; an export
asked with it is a 400 with that page, not a file. Leaving the bad filter out and applying the
others would list rows the reader meant to exclude (a mistyped line would widen the list to
every line, as it once widened it to everything) and export them as if they had been asked
for. The board does the same: a TV never shows more than its address asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django_filters import FilterSet

from issues.common.export import csv_response, xlsx_response

EXPORT_LIMIT = 50_000  # rows in one file: more is a database dump, not a report
EXPORTERS = {"csv": csv_response, "xlsx": xlsx_response}
NOT_FILTERS = ("page", "export")


@dataclass(frozen=True)
class Export:
    """How a list becomes a sheet: `rows(queryset)` yields the header, then a row per item."""

    rows: Callable[[QuerySet], Iterable[list]]
    name: str  # the file's name before its time stamp, e.g. "qrqc-problems"


def holds(filterset: FilterSet) -> bool:
    """An address without filters holds; otherwise every filter's value must."""
    return not filterset.is_bound or filterset.is_valid()


def filters_query(request: HttpRequest) -> str:
    """The address's filters, url-encoded, for the pager's and the export links."""
    query = request.GET.copy()
    for name in NOT_FILTERS:
        query.pop(name, None)
    return query.urlencode()


def list_page(
    request: HttpRequest,
    filterset_class: type[FilterSet],
    queryset: QuerySet,
    *,
    template: str,
    per_page: int = 50,
    export: Export | None = None,
    rows: Callable[[list], list] | None = None,
    context: dict | None = None,
) -> HttpResponse:
    """Render `template` with `filter`, `page` and `query`, and `context`. `rows` turns the
    page's items into what its rows show (flags, summaries), for this page only."""
    filterset = filterset_class(request.GET or None, queryset=queryset, request=request)
    valid = holds(filterset)
    found = filterset.qs if valid else queryset.none()
    exporter = EXPORTERS.get(request.GET.get("export", "")) if export else None
    if export and exporter and valid:
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return exporter(export.rows(found[:EXPORT_LIMIT]), f"{export.name}-{stamp}")
    page = Paginator(found, per_page).get_page(request.GET.get("page"))
    if rows:
        page.object_list = rows(list(page.object_list))
    page_context = {"filter": filterset, "page": page, "query": filters_query(request), **(context or {})}
    # The page itself is a page like any other (200), as the board's is; an export that could
    # not be made is an error (400), so a script fetching the file does not take the page for it.
    return render(request, template, page_context, status=400 if exporter else 200)
