from django.urls import path
from django.views.generic import RedirectView

from issues import views

urlpatterns = [
    path("", views.home, name="home"),
    path("problems/", views.problem_list, name="problem_list"),
    path("problems/new/", views.problem_new, name="problem_new"),
    path("problems/grade-preview/", views.grade_preview, name="grade_preview"),
    path("problems/<int:pk>/", views.problem_detail, name="problem_detail"),
    path("p/<int:pk>/", RedirectView.as_view(pattern_name="problem_detail"), name="problem_short"),
    path("photos/<str:token>.jpg", views.photo, name="photo"),
    path("photos/<str:token>/thumb.jpg", views.photo, {"size": "thumb"}, name="photo_thumb"),
]
