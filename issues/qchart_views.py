"""The Q chart page (issue #5)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
