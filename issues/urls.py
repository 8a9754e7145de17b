from django.urls import path

from issues import board_views, meeting_views, qchart_views
from issues.eightd import pdf_views

# A QRQC meeting's minutes on paper (issues/eightd/pdf_views.py).
urlpatterns = [path("meetings/<int:pk>/minutes.pdf", pdf_views.meeting_minutes_pdf, name="meeting_minutes_pdf")]

# The daily QRQC board, Q chart and meeting (issue #5): each module lists its own pages.
urlpatterns += board_views.urlpatterns + qchart_views.urlpatterns + meeting_views.urlpatterns
