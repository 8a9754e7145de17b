"""Login lockout (django-axes): the address failures are counted against, and the page a person
sees when their name is locked on a device."""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest) -> str:
    """The device's address as the API throttles see it (DRF's rule): the peer's address, or
    behind QRQC_TRUSTED_PROXIES proxies the one the outermost proxy put into X-Forwarded-For.
    A client cannot pick its own address by sending that header."""
    return BaseThrottle().get_ident(request)


def lockout_minutes(cool_off: dt.timedelta) -> int:
    """Whole minutes to wait, rounded up: "locked for 0 minutes" would read as a lie."""
    return max(1, math.ceil(cool_off.total_seconds() / 60))


def locked_out(request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None) -> HttpResponse:
    """The login page again, saying the name is locked here, for how long, and whom to ask
    (429 with Retry-After). The login form posts back to the page that was used, the admin's
    login included."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    cool_off = settings.AXES_COOLOFF_TIME
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "next": request.POST.get("next", request.GET.get("next", "")),
        "locked_out": True,
        "lockout_minutes": lockout_minutes(cool_off),
    }
    response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
