import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from issues.board import overdue_q
from issues.common.scope import scope_filter, visible_plants
from issues.models import Category, CauseFamily, FailureMode, Grade, Lesson, Line, Meeting, Plant, Problem, Workshop


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


# --- owner and closure date (issue #4, the problem lifecycle) ------------------------------
def _people(request):
    """Anyone holding a role in the reader's plants: who may own a problem there."""
    if request is None:
        return get_user_model().objects.none()
    holders = get_user_model().objects.filter(role_assignments__plant__in=_plants(request))
    return holders.distinct().select_related("profile").order_by("profile__display_name", "username")


class PeopleField(IdsField):
    def label_from_instance(self, user) -> str:
        return str(getattr(user, "profile", None) or user.get_username())


class PeopleFilter(IdsFilter):
    field_class = PeopleField


def filter_overdue(queryset, name, value):
    """Closure date passed (before today in the problem's plant) and neither closed nor cancelled."""
    if value is None:
        return queryset
    late = overdue_q(Plant.objects.order_by().values_list("timezone", flat=True).distinct(), timezone.now())
    return queryset.filter(late) if value else queryset.exclude(late)


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
    owner = PeopleFilter(label=_("Owner"), queryset=_people, distinct=False)
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


# --- the lessons-learned library (issue #4) -----------------------------------------------
# The library is plant-wide (Lesson.objects.visible_to), so its place filters offer every
# workshop and line of the reader's plants, not only those of a line-scoped role.
def _plant_workshops(request):
    return Workshop.objects.filter(plant__in=_plants(request)) if request else Workshop.objects.none()


def _plant_lines(request):
    if request is None:
        return Line.objects.none()
    return Line.objects.filter(workshop__plant__in=_plants(request)).select_related("workshop")


class DayRangeFilter(django_filters.DateFromToRangeFilter):
    """From one day to another, both included, on a DateField. DateFromToRangeFilter turns the
    days into midnights in the active (plant) time zone, which a DateField then reads in UTC:
    a day early east of Greenwich. The days themselves go to the database here."""

    def filter(self, qs, value):
        if value:
            value = slice(value.start and value.start.date(), value.stop and value.stop.date())
        return super().filter(qs, value)


class LessonFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    plant = IdsFilter(label=_("Plant"), queryset=_plants, distinct=False)
    workshop = IdsFilter(label=_("Workshop"), field_name="line__workshop", queryset=_plant_workshops, distinct=False)
    line = IdsFilter(label=_("Line"), queryset=_plant_lines, distinct=False)
    failure_mode = IdsFilter(label=_("Failure mode"), queryset=_failure_modes, distinct=False)
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


# --- the daily QRQC board (issue #5) --------------------------------------------------------
# Filters narrow issues.board.board_query (past 24 hours plus every open problem), whose order
# (grade, then oldest first) they keep; cancelled problems are never on the board.
BOARD_STATUSES = [(value, label) for value, label in Problem.Status.choices if value != Problem.Status.CANCELLED]


class BoardFilter(django_filters.FilterSet):
    plant = IdsFilter(label=_("Plant"), queryset=_plants, distinct=False)
    workshop = IdsFilter(label=_("Workshop"), field_name="line__workshop", queryset=_workshops, distinct=False)
    line = IdsFilter(label=_("Line"), queryset=_lines, distinct=False)
    grade = django_filters.MultipleChoiceFilter(
        label=_("Grade"), choices=Grade.choices, widget=forms.CheckboxSelectMultiple
    )
    category = django_filters.MultipleChoiceFilter(
        label=_("Category"), choices=Category.choices, widget=forms.CheckboxSelectMultiple
    )
    status = django_filters.MultipleChoiceFilter(
        label=_("Status"), choices=BOARD_STATUSES, widget=forms.CheckboxSelectMultiple
    )
    owner = PeopleFilter(label=_("Owner"), queryset=_people, distinct=False)
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


# --- past QRQC meetings (issue #5) ----------------------------------------------------------
class MeetingFilter(django_filters.FilterSet):
    plant = IdsFilter(label=_("Plant"), queryset=_plants, distinct=False)
    workshop = IdsFilter(label=_("Workshop"), queryset=_plant_workshops, distinct=False)
    # Two date filters, not a DateFromToRangeFilter: that one turns dates into midnights in the
    # active (plant) zone, which a DateField then reads in UTC, a day early east of Greenwich.
    day_after = django_filters.DateFilter(
        label=_("Held from"), field_name="day", lookup_expr="gte", widget=forms.DateInput(attrs={"type": "date"})
    )
    day_before = django_filters.DateFilter(
        label=_("Held until"), field_name="day", lookup_expr="lte", widget=forms.DateInput(attrs={"type": "date"})
    )
    chair = PeopleFilter(label=_("Chair"), queryset=_people, distinct=False)
    state = django_filters.ChoiceFilter(label=_("State"), choices=Meeting.State.choices)

    class Meta:
        model = Meeting
        fields = ["plant", "workshop", "day_after", "day_before", "chair", "state"]
