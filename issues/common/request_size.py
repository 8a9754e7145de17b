"""Requests too large for the page they are sent to are refused (413) from their Content-Length,
before a byte of the body is read.

Django bounds the fields of a form in memory (DATA_UPLOAD_MAX_MEMORY_SIZE) but streams files of
any size to disk, and the CSRF check reads the whole body of a POST to find its token: a 2 GB
upload to any page was read and written out before anything could refuse it. Each page that
takes files says how much it takes; the API takes a problem's JSON; every other page a form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.views import APIView

# The pages that take files (by namespaced URL name), and the setting that bounds their requests.
UPLOAD_LIMITS = {
    "problems:new": "QRQC_INTAKE_MAX_REQUEST_BYTES",
    "eightd:attachment_upload": "QRQC_ATTACHMENT_MAX_REQUEST_BYTES",
}


def content_length(header: str | None) -> int:
    """The body's announced size as Django reads it: a missing or malformed header means no body."""
    try:
        return max(0, int(header or 0))
    except ValueError:
        return 0


def limit_name(view_name: str | None, is_api: bool) -> str:
    if view_name in UPLOAD_LIMITS:
        return UPLOAD_LIMITS[view_name]
    return "QRQC_API_MAX_REQUEST_BYTES" if is_api else "QRQC_REQUEST_MAX_BYTES"


def human_size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{-(-size // 1024)} KB"
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


class RequestSizeMiddleware:
    """Must come before anything that reads the body (CsrfViewMiddleware reads a POST's form)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        view_class = getattr(view_func, "cls", None)
        is_api = isinstance(view_class, type) and issubclass(view_class, APIView)
        match = request.resolver_match
        assert match is not None  # process_view runs once the URL is resolved
        limit = getattr(settings, limit_name(match.view_name, is_api))
        size = content_length(request.META.get("CONTENT_LENGTH"))
        if size <= limit:
            return None
        return too_large(request, size, limit, is_api)


def too_large(request: HttpRequest, size: int, limit: int, is_api: bool) -> HttpResponse:
    values = {"size": human_size(size), "limit": human_size(limit)}
    if is_api:
        message = _("This request is %(size)s, more than the %(limit)s this address takes.") % values
        return JsonResponse({"detail": message}, status=413)
    message = _("This request is %(size)s, more than the %(limit)s this page takes. Send fewer or smaller files.")
    return render(request, "413.html", {"message": message % values}, status=413)
