from django.urls import path

from issues.board import views

app_name = "board"
urlpatterns = [
    path("board/", views.board, name="index"),
    path("board/live/", views.board_live, name="live"),
    path("board/filters/", views.board_filters, name="filters"),
    path("board/tv/", views.board_tv, name="tv"),
    path("board/tv/rows/", views.board_tv_rows, name="tv_rows"),
]
