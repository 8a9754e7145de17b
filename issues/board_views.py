"""The daily QRQC board and its TV mode (issue #5)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
