from django.urls import path

from issues.qchart import views

app_name = "qchart"
urlpatterns = [path("qchart/", views.qchart_page, name="index")]
