from django.urls import path

from escalation import views

urlpatterns = [
    path("escalations/", views.escalation_list, name="escalation_list"),
    path("escalations/<int:event_id>/acknowledge/", views.acknowledge_event, name="acknowledge_event"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/bell/", views.notification_bell, name="notification_bell"),
    path("problems/<int:pk>/contain/", views.contain_problem, name="contain_problem"),
    path("problems/<int:pk>/escalation/", views.problem_escalation, name="problem_escalation"),
    path("healthz", views.healthz, name="healthz"),
]
