"""The board's filters."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from issues.common.filters import IdsFilter, PeopleFilter, line_choices, people_choices, plant_choices, workshop_choices
from issues.models import Category, Grade, Problem
from issues.problems.filters import filter_overdue

# Filters narrow issues.board.queries.board_query (past 24 hours plus every open problem), whose order
# (grade, then oldest first) they keep; cancelled problems are never on the board.
BOARD_STATUSES = [(value, label) for value, label in Problem.Status.choices if value != Problem.Status.CANCELLED]


class BoardFilter(django_filters.FilterSet):
    plant = IdsFilter(label=_("Plant"), queryset=plant_choices, distinct=False)
    workshop = IdsFilter(label=_("Workshop"), field_name="line__workshop", queryset=workshop_choices, distinct=False)
    line = IdsFilter(label=_("Line"), queryset=line_choices, distinct=False)
    grade = django_filters.MultipleChoiceFilter(
        label=_("Grade"), choices=Grade.choices, widget=forms.CheckboxSelectMultiple
    )
    category = django_filters.MultipleChoiceFilter(
        label=_("Category"), choices=Category.choices, widget=forms.CheckboxSelectMultiple
    )
    status = django_filters.MultipleChoiceFilter(
        label=_("Status"), choices=BOARD_STATUSES, widget=forms.CheckboxSelectMultiple
    )
    owner = PeopleFilter(label=_("Owner"), queryset=people_choices, distinct=False)
    no_owner = django_filters.BooleanFilter(label=_("No owner"), field_name="owner", lookup_expr="isnull")
    overdue = django_filters.BooleanFilter(label=_("Closure overdue"), method=filter_overdue)
    occurred = django_filters.DateFromToRangeFilter(
        label=_("Occurred between"),
        field_name="occurred_at",
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = Problem
        fields = [
            "plant",
            "workshop",
            "line",
            "grade",
            "category",
            "status",
            "owner",
            "no_owner",
            "overdue",
            "occurred",
        ]
