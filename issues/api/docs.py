"""The API's Swagger UI page under the site's Content-Security-Policy, behind the login in
production (who may read the schema: issues.api.schema)."""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib.auth.views import redirect_to_login
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import exceptions


# Swagger UI draws its icons as data: images from its stylesheet; the rest of the site needs none.
@method_decorator(csp_update({"img-src": ["data:"]}), name="dispatch")
class SwaggerDocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script served as a file (?script), not inline, and the
    page's own styles in a static stylesheet (templates/api/swagger_ui.html). A person who is
    not signed in is sent to the login page and comes back here."""

    template_name = "api/swagger_ui.html"

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.PermissionDenied) and not (
            self.request.user and self.request.user.is_authenticated
        ):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
