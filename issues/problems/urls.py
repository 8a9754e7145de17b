from django.urls import path, re_path
from django.views.generic import RedirectView

from issues.problems import card, lifecycle_views, views

app_name = "problems"
urlpatterns = [
    path("", views.home, name="home"),
    path("problems/", views.problem_list, name="list"),
    path("problems/new/", views.problem_new, name="new"),
    path("problems/grade-preview/", views.grade_preview, name="grade_preview"),
    path("problems/<int:pk>/", views.problem_detail, name="detail"),
    path("p/<int:pk>/", RedirectView.as_view(pattern_name="problems:detail"), name="short"),
    path("problems/<int:pk>/contain/", views.contain_problem, name="contain"),
    path("problems/<int:pk>/escalation/", views.problem_escalation, name="escalation"),
    # The "Status and owner" card's actions (issues/problems/lifecycle_views.py).
    path("problems/<int:pk>/assign/", lifecycle_views.assign, name="assign"),
    re_path(
        rf"^problems/(?P<pk>[0-9]+)/stage/(?P<action>{card.STAGE_ACTIONS})/$",
        lifecycle_views.stage,
        name="stage",
    ),
    path("problems/<int:pk>/close/", lifecycle_views.close, name="close"),
    path("problems/<int:pk>/cancel/", lifecycle_views.cancel, name="cancel"),
    path("problems/<int:pk>/reopen/", lifecycle_views.reopen, name="reopen"),
    path("photos/<str:token>.jpg", views.photo, name="photo"),
    path("photos/<str:token>/thumb.jpg", views.photo, {"size": "thumb"}, name="photo_thumb"),
]
