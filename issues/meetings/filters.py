"""The past meetings list's filters."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from issues.common.filters import IdsFilter, PeopleFilter, people_choices, plant_choices, plant_workshop_choices
from issues.models import Meeting


class MeetingFilter(django_filters.FilterSet):
    plant = IdsFilter(label=_("Plant"), queryset=plant_choices, distinct=False)
    workshop = IdsFilter(label=_("Workshop"), queryset=plant_workshop_choices, distinct=False)
    # Two date filters, not a DateFromToRangeFilter: that one turns dates into midnights in the
    # active (plant) zone, which a DateField then reads in UTC, a day early east of Greenwich.
    day_after = django_filters.DateFilter(
        label=_("Held from"), field_name="day", lookup_expr="gte", widget=forms.DateInput(attrs={"type": "date"})
    )
    day_before = django_filters.DateFilter(
        label=_("Held until"), field_name="day", lookup_expr="lte", widget=forms.DateInput(attrs={"type": "date"})
    )
    chair = PeopleFilter(label=_("Chair"), queryset=people_choices, distinct=False)
    state = django_filters.ChoiceFilter(label=_("State"), choices=Meeting.State.choices)

    class Meta:
        model = Meeting
        fields = ["plant", "workshop", "day_after", "day_before", "chair", "state"]
