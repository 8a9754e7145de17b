"""The daily QRQC meeting: start, agenda, decisions, sign-in, minutes (issue #5)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
