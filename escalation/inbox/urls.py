from django.urls import path

from escalation.inbox import views

app_name = "inbox"
urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/bell/", views.notification_bell, name="bell"),
    path("escalations/<int:event_id>/acknowledge/", views.acknowledge_event, name="acknowledge"),
]
