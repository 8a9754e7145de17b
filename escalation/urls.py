from django.urls import path

from escalation import views

app_name = "escalation"
urlpatterns = [
    path("escalations/", views.escalation_list, name="list"),
    path("healthz", views.healthz, name="healthz"),
]
