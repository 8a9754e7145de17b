"""Who may read the API's schema, and the throttling answer it documents for every operation.
Kept apart from the docs view: drf-spectacular imports these while loading its views."""

from __future__ import annotations

from django.conf import settings
from rest_framework import permissions


class SignedInInProduction(permissions.BasePermission):
    """The schema lists every endpoint and field: in production only signed-in people (session
    or token) read it; a development or test server keeps it open for integrators. Decided per
    request, so a test can switch IS_PRODUCTION."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated) or not settings.IS_PRODUCTION


THROTTLED = {
    "description": "Too many requests from this client: wait the number of seconds in Retry-After.",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
        }
    },
}


def document_throttling(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook: every API operation is throttled
    (REST_FRAMEWORK DEFAULT_THROTTLE_CLASSES), so each may answer 429."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("429", THROTTLED)
    return result
