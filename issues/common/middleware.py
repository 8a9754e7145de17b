from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from issues.common.scope import visible_plants


class PlantTimezoneMiddleware:
    """Show times in the plant's zone: a shift leader reads 07:40, not 23:40 UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone_name = None
        if request.user.is_authenticated:
            zone_name = request.session.get("plant_timezone")
            if zone_name is None:
                plant = visible_plants(request.user).order_by("pk").first()
                zone_name = plant.timezone if plant else ""
                request.session["plant_timezone"] = zone_name
        if zone_name:
            timezone.activate(ZoneInfo(zone_name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()  # the thread serves other requests (and tests) next
