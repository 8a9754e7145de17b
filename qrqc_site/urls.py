from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from issues.common.views import LoginView, switch_language

admin.site.site_header = admin.site.site_title = "QRQC"
admin.site.index_title = _("Plant settings")

# Each feature lists its own pages under its namespace (problems:detail, eightd:report, …).
urlpatterns = [
    path("", include("issues.problems.urls")),
    path("", include("issues.eightd.urls")),
    path("", include("issues.board.urls")),
    path("", include("issues.qchart.urls")),
    path("", include("issues.meetings.urls")),
    path("", include("escalation.urls")),
    path("", include("escalation.inbox.urls")),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", switch_language, name="switch_language"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("issues.api.urls")),
]
