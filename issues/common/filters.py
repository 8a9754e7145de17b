"""What the list filters share: ids as choices (an invalid one is an error, never a 500), the
reader's places and people as the choices, and a day range on a date field."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from issues.common.ids import parse_id
from issues.common.people import person_name
from issues.common.scope import scope_filter, visible_plants
from issues.models import FailureMode, Line, Plant, Workshop

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest


def plant_choices(request: HttpRequest | None) -> QuerySet[Plant]:
    return visible_plants(request.user) if request else Plant.objects.none()


def workshop_choices(request: HttpRequest | None) -> QuerySet[Workshop]:
    if request is None:
        return Workshop.objects.none()
    return (
        Workshop.objects.filter(plant__in=visible_plants(request.user))
        .filter(Q(lines__in=Line.objects.filter(scope_filter(request.user, line_path=""))))
        .distinct()
    )


def line_choices(request: HttpRequest | None) -> QuerySet[Line]:
    if request is None:
        return Line.objects.none()
    return Line.objects.filter(scope_filter(request.user, line_path="")).select_related("workshop")


class IdsField(django_filters.fields.ModelMultipleChoiceField):
    """Anything but an id (issues.common.ids) is an invalid choice, not a query: SQLite raised
    OverflowError on an id beyond 64 bits (a 500)."""

    def _check_values(self, value):
        for pk in value:
            if parse_id(str(pk)) is None:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)


def failure_mode_choices(request: HttpRequest | None) -> QuerySet[FailureMode]:
    if request is None:
        return FailureMode.objects.none()
    return FailureMode.objects.filter(plant__in=visible_plants(request.user))


class IdsFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = IdsField


# --- owner and closure date (issue #4, the problem lifecycle) ------------------------------
def people_choices(request: HttpRequest | None) -> QuerySet[User]:
    """Anyone holding a role in the reader's plants: who may own a problem there."""
    if request is None:
        return get_user_model().objects.none()
    holders = get_user_model().objects.filter(role_assignments__plant__in=plant_choices(request))
    return holders.distinct().select_related("profile").order_by("profile__display_name", "username")


class PeopleField(IdsField):
    def label_from_instance(self, user: User) -> str:
        return person_name(user)


class PeopleFilter(IdsFilter):
    field_class = PeopleField


# --- the lessons-learned library (issue #4) -----------------------------------------------
# The library is plant-wide (Lesson.objects.visible_to), so its place filters offer every
# workshop and line of the reader's plants, not only those of a line-scoped role.
def plant_workshop_choices(request: HttpRequest | None) -> QuerySet[Workshop]:
    return Workshop.objects.filter(plant__in=plant_choices(request)) if request else Workshop.objects.none()


def plant_line_choices(request: HttpRequest | None) -> QuerySet[Line]:
    if request is None:
        return Line.objects.none()
    return Line.objects.filter(workshop__plant__in=plant_choices(request)).select_related("workshop")


class DayRangeFilter(django_filters.DateFromToRangeFilter):
    """From one day to another, both included, on a DateField. DateFromToRangeFilter turns the
    days into midnights in the active (plant) time zone, which a DateField then reads in UTC:
    a day early east of Greenwich. The days themselves go to the database here."""

    def filter(self, qs: QuerySet[Any], value: slice | None) -> QuerySet[Any]:
        if value:
            value = slice(value.start and value.start.date(), value.stop and value.stop.date())
        return super().filter(qs, value)
