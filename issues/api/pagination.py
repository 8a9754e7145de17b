"""API pages: `?limit=` and `?offset=` as the caller sent them, or a 400 saying what is wrong.

DRF's LimitOffsetPagination puts no ceiling on limit and passes any offset on: a limit of
2**63 reached the database and came back a 500, and a word where a number belongs was quietly
replaced by the default.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

from issues.common.ids import LARGEST_ID, whole_number


class Pagination(LimitOffsetPagination):
    """At most QRQC_API_MAX_PAGE_SIZE rows a page: a larger limit is cut to it."""

    @property
    def max_limit(self) -> int:
        return settings.QRQC_API_MAX_PAGE_SIZE

    def get_limit(self, request) -> int | None:
        raw = request.query_params.get(self.limit_query_param, "")
        if raw == "":
            return None if self.default_limit is None else min(self.default_limit, self.max_limit)
        limit = whole_number(raw) or 0
        if limit < 1:
            message = _("Give a whole number from 1 to %(max)d.") % {"max": self.max_limit}
            raise ValidationError({self.limit_query_param: [message]})
        return min(limit, self.max_limit)

    def get_offset(self, request) -> int:
        raw = request.query_params.get(self.offset_query_param, "")
        if raw == "":
            return 0
        offset = whole_number(raw)
        if offset is None or offset > LARGEST_ID:
            raise ValidationError({self.offset_query_param: [_("Give a whole number, 0 or more.")]})
        return offset
