from django.urls import path, re_path

from issues.meetings import views

app_name = "meetings"
urlpatterns = [
    path("meetings/", views.meeting_list, name="list"),
    path("meetings/start/", views.meeting_start, name="start"),
    path("meetings/<int:pk>/", views.meeting_detail, name="detail"),
    path("meetings/<int:pk>/minutes/", views.meeting_minutes, name="minutes"),
    path("meetings/<int:pk>/minutes.pdf", views.meeting_minutes_pdf, name="minutes_pdf"),
    path("meetings/<int:pk>/refresh/", views.meeting_refresh, name="refresh"),
    path("meetings/<int:pk>/end/", views.meeting_end, name="end"),
    path("meetings/<int:pk>/sign-in/", views.meeting_sign_in, name="sign_in"),
    path("meetings/<int:pk>/guests/", views.meeting_guest, name="guest"),
    path("meetings/<int:pk>/attendance/<int:row_pk>/", views.meeting_attendance, name="attendance"),
    re_path(
        rf"^meetings/(?P<pk>[0-9]+)/items/(?P<item_pk>[0-9]+)/(?P<action>{'|'.join(views.ACTIONS)})/$",
        views.meeting_item,
        name="item",
    ),
]
