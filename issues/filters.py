import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from issues.models import Category, FailureMode, Grade, Line, Plant, Problem, Workshop
from issues.scope import scope_filter, visible_plants


def _plants(request):
    return visible_plants(request.user) if request else Plant.objects.none()


def _workshops(request):
    if request is None:
        return Workshop.objects.none()
    return (
        Workshop.objects.filter(plant__in=visible_plants(request.user))
        .filter(Q(lines__in=Line.objects.filter(scope_filter(request.user, line_path=""))))
        .distinct()
    )


def _lines(request):
    if request is None:
        return Line.objects.none()
    return Line.objects.filter(scope_filter(request.user, line_path="")).select_related("workshop")


class IdsField(django_filters.fields.ModelMultipleChoiceField):
    """An id beyond 64 bits is an invalid choice, not a query: SQLite raised OverflowError on it (a 500)."""

    def _check_values(self, value):
        for pk in value:
            try:
                too_big = abs(int(str(pk))) >= 2**63
            except ValueError:
                continue  # not a number: the parent class reports it as an invalid choice
            if too_big:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)


def _failure_modes(request):
    if request is None:
        return FailureMode.objects.none()
    return FailureMode.objects.filter(plant__in=visible_plants(request.user))


class IdsFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = IdsField


class ProblemFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    plant = IdsFilter(label=_("Plant"), queryset=_plants, distinct=False)
    workshop = IdsFilter(label=_("Workshop"), field_name="line__workshop", queryset=_workshops, distinct=False)
    line = IdsFilter(label=_("Line"), queryset=_lines, distinct=False)
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
    failure_mode = IdsFilter(label=_("Failure mode"), queryset=_failure_modes, distinct=False)
    special_team_required = django_filters.BooleanFilter(label=_("Special team required"))
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
