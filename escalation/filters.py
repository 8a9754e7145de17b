"""Filters of the escalations list (/escalations/): plant, workshop, level, kind, channel,
failed deliveries and the day it fired. Choices are narrowed to the user's scope."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from escalation.models import LEVELS, Channel, EscalationEvent, Notification
from issues.common.filters import IdsFilter, plant_choices, workshop_choices


class EscalationFilter(django_filters.FilterSet):
    problem = django_filters.CharFilter(
        label=_("Problem number"), field_name="problem__number", lookup_expr="icontains"
    )
    plant = IdsFilter(label=_("Plant"), field_name="problem__plant", queryset=plant_choices, distinct=False)
    workshop = IdsFilter(
        label=_("Workshop"), field_name="problem__line__workshop", queryset=workshop_choices, distinct=False
    )
    level = django_filters.MultipleChoiceFilter(label=_("Level"), choices=LEVELS, widget=forms.CheckboxSelectMultiple)
    kind = django_filters.MultipleChoiceFilter(
        label=_("Tier or alarm"), choices=EscalationEvent.KINDS, widget=forms.CheckboxSelectMultiple
    )
    channel = django_filters.MultipleChoiceFilter(
        label=_("Channel"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple, method="by_channel"
    )
    failed = django_filters.BooleanFilter(
        label=_("Delivery failed"),
        method="by_failure",
        widget=forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))]),
    )
    fired = django_filters.DateFromToRangeFilter(
        label=_("Fired between"),
        field_name="fired_at",
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = EscalationEvent
        fields = ["problem", "plant", "workshop", "level", "kind", "channel", "failed", "fired"]

    def by_channel(self, queryset, name, value):
        """Events that reached someone (or a group chat) on one of these channels."""
        return queryset.filter(Exists(Notification.objects.filter(event=OuterRef("pk"), channel__in=value)))

    def by_failure(self, queryset, name, value):
        failed = Exists(Notification.objects.filter(event=OuterRef("pk"), status=Notification.Status.FAILED))
        return queryset.filter(failed) if value else queryset.exclude(failed)
