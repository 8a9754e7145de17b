"""The lessons-learned library's filters. The library is plant-wide, so its place filters offer
every workshop and line of the reader's plants, not only those of a line-scoped role."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from issues.common.filters import (
    DayRangeFilter,
    IdsFilter,
    failure_mode_choices,
    plant_choices,
    plant_line_choices,
    plant_workshop_choices,
)
from issues.models import CauseFamily, Lesson


class LessonFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    plant = IdsFilter(label=_("Plant"), queryset=plant_choices, distinct=False)
    workshop = IdsFilter(
        label=_("Workshop"), field_name="line__workshop", queryset=plant_workshop_choices, distinct=False
    )
    line = IdsFilter(label=_("Line"), queryset=plant_line_choices, distinct=False)
    failure_mode = IdsFilter(label=_("Failure mode"), queryset=failure_mode_choices, distinct=False)
    cause_family = django_filters.MultipleChoiceFilter(
        label=_("Cause family"), choices=CauseFamily.choices, widget=forms.CheckboxSelectMultiple
    )
    product = django_filters.CharFilter(label=_("Product"), lookup_expr="icontains")
    learned = DayRangeFilter(
        label=_("Learned between"),
        field_name="learned_on",
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    order = django_filters.OrderingFilter(
        label=_("Sort"),
        fields=(
            ("learned_on", "learned"),
            ("failure_mode__name_en", "failure_mode"),
            ("line__code", "line"),
            ("cause_family", "cause_family"),
            ("product", "product"),
        ),
        field_labels={
            "learned_on": _("Learned on"),
            "failure_mode__name_en": _("Failure mode"),
            "line__code": _("Line"),
            "cause_family": _("Cause family"),
            "product": _("Product"),
        },
    )

    class Meta:
        model = Lesson
        fields = ["q", "plant", "workshop", "line", "failure_mode", "cause_family", "product", "learned"]

    def search(self, queryset, name, value):
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(title__icontains=word)
                | Q(lesson__icontains=word)
                | Q(root_cause__icontains=word)
                | Q(actions__icontains=word)
                | Q(product__icontains=word)
                | Q(problem__number__icontains=word)
                | Q(failure_mode__name_en__icontains=word)
                | Q(failure_mode__name_zh__icontains=word)
            )
        return queryset
