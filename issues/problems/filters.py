"""The problem list's filters (also the API's): place, category, grade, status, dates, owner, overdue."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from issues.common.filters import (
    IdsFilter,
    PeopleFilter,
    failure_mode_choices,
    line_choices,
    people_choices,
    plant_choices,
    workshop_choices,
)
from issues.models import Category, Grade, Plant, Problem
from issues.problems.flags import overdue_q


def filter_overdue(queryset, name, value):
    """Closure date passed (before today in the problem's plant) and neither closed nor cancelled."""
    if value is None:
        return queryset
    late = overdue_q(Plant.objects.order_by().values_list("timezone", flat=True).distinct(), timezone.now())
    return queryset.filter(late) if value else queryset.exclude(late)


class ProblemFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    plant = IdsFilter(label=_("Plant"), queryset=plant_choices, distinct=False)
    workshop = IdsFilter(label=_("Workshop"), field_name="line__workshop", queryset=workshop_choices, distinct=False)
    line = IdsFilter(label=_("Line"), queryset=line_choices, distinct=False)
    category = django_filters.MultipleChoiceFilter(
        label=_("Category"), choices=Category.choices, widget=forms.CheckboxSelectMultiple
    )
    grade = django_filters.MultipleChoiceFilter(
        label=_("Grade"), choices=Grade.choices, widget=forms.CheckboxSelectMultiple
    )
    status = django_filters.MultipleChoiceFilter(
        label=_("Status"), choices=Problem.Status.choices, widget=forms.CheckboxSelectMultiple
    )
    occurred = django_filters.DateFromToRangeFilter(
        label=_("Occurred between"),
        field_name="occurred_at",
        # DateRangeWidget: the parameters are occurred_after / occurred_before, as the API schema documents
        # (RangeWidget would expect occurred_min / occurred_max and silently ignore the documented names).
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    failure_mode = IdsFilter(label=_("Failure mode"), queryset=failure_mode_choices, distinct=False)
    special_team_required = django_filters.BooleanFilter(label=_("Special team required"))
    owner = PeopleFilter(label=_("Owner"), queryset=people_choices, distinct=False)
    no_owner = django_filters.BooleanFilter(label=_("No owner"), field_name="owner", lookup_expr="isnull")
    overdue = django_filters.BooleanFilter(label=_("Closure overdue"), method=filter_overdue)
    order = django_filters.OrderingFilter(
        label=_("Sort"),
        fields=(("occurred_at", "occurred"), ("grade", "grade"), ("number", "number"), ("line__code", "line")),
        field_labels={
            "occurred_at": _("Occurred at"),
            "grade": _("Grade"),
            "number": _("Number"),
            "line__code": _("Line"),
        },
    )

    class Meta:
        model = Problem
        fields = [
            "q",
            "plant",
            "workshop",
            "line",
            "category",
            "grade",
            "status",
            "occurred",
            "failure_mode",
            "special_team_required",
        ]

    def search(self, queryset, name, value):
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(number__icontains=word)
                | Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(failure_mode__name_en__icontains=word)
                | Q(failure_mode__name_zh__icontains=word)
            )
        return queryset
