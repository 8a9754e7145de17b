from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from issues import api
from issues.api_docs import SwaggerDocsView
from issues.views import LoginView, switch_language

admin.site.site_header = admin.site.site_title = "QRQC"
admin.site.index_title = _("Plant settings")

router = DefaultRouter()
router.register("problems", api.ProblemViewSet, basename="problem")

urlpatterns = [
    path("", include("issues.urls")),
    path("", include("escalation.urls")),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", switch_language, name="switch_language"),
    path("admin/", admin.site.urls),
    path("api/v1/grade/", api.grade_view, name="api_grade"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/v1/docs/", SwaggerDocsView.as_view(url_name="api_schema"), name="api_docs"),
    path("api/v1/", include(router.urls)),
]
