from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from issues.api import views
from issues.api.docs import SwaggerDocsView

router = DefaultRouter()
router.register("problems", views.ProblemViewSet, basename="problem")

app_name = "api"
urlpatterns = [
    path("grade/", views.grade_view, name="grade"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SwaggerDocsView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
