"""Escalation settings (policies with tiers, alarm rules, group webhooks) and the ledger.

Settings keep their history (SimpleHistoryAdmin); settings and ledger alike are read and changed
only where the staff member holds a role carrying the right (issues.common.scoped_admin).
The ledger (events, notifications, delivery attempts) is evidence: it can be read, never
added to, changed or deleted here."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from escalation.models import (
    AlarmRule,
    Channel,
    DeliveryAttempt,
    EscalationEvent,
    EscalationPolicy,
    EscalationTier,
    Notification,
    WebhookEndpoint,
)
from issues.common.scoped_admin import PlantScopedAdmin, ScopedInline, ScopedModelAdmin
from issues.models import Role


class RolesAndChannelsForm(forms.ModelForm):
    """Roles and channels as ticks rather than raw JSON; stored as the same lists."""

    roles = forms.MultipleChoiceField(
        label=_("roles to reach"), choices=Role.choices, widget=forms.CheckboxSelectMultiple
    )
    channels = forms.MultipleChoiceField(
        label=_("channels"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )


class EscalationTierForm(RolesAndChannelsForm):
    class Meta:
        model = EscalationTier
        fields = ["level", "after_minutes", "roles", "channels"]


class AlarmRuleForm(RolesAndChannelsForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"].required = False  # a notice may reach the 8D team alone (AlarmRule.clean)

    class Meta:
        model = AlarmRule
        fields = ["plant", "kind", "after_minutes", "roles", "channels"]


class EscalationTierInline(ScopedInline, admin.TabularInline):
    model = EscalationTier
    form = EscalationTierForm
    extra = 0
    fields = ["level", "after_minutes", "roles", "channels"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(PlantScopedAdmin):
    list_display = ["plant", "category", "ceiling_a", "ceiling_b", "ceiling_c", "tier_summary"]
    list_filter = ["plant", "category"]
    inlines = [EscalationTierInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("plant").prefetch_related("tiers")

    @admin.display(description=_("tiers"))
    def tier_summary(self, obj) -> str:
        return " · ".join(f"L{tier.level} +{tier.after_minutes} min" for tier in obj.tiers.all())


@admin.register(AlarmRule)
class AlarmRuleAdmin(PlantScopedAdmin):
    form = AlarmRuleForm
    list_display = ["plant", "kind", "after_minutes", "roles", "channels"]
    list_filter = ["plant", "kind"]
    list_select_related = ["plant"]


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["plant", "workshop", "name", "kind", "url", "secret", "language", "active"]
        widgets = {"secret": forms.PasswordInput(render_value=True)}


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(PlantScopedAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "plant", "workshop", "kind", "language", "active"]
    list_filter = ["plant", "kind", "active"]
    list_select_related = ["plant", "workshop"]
    search_fields = ["name"]


# --- the ledger: read-only ---------------------------------------------------------------


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LedgerAdmin(ReadOnlyMixin, ScopedModelAdmin):
    """Scoped like PlantScopedAdmin (the ledger has no history of its own: it is the history)."""

    def get_actions(self, request):
        return {}


class NotificationInline(ReadOnlyMixin, ScopedInline, admin.TabularInline):
    model = Notification
    extra = 0
    fields = ["recipient", "endpoint", "channel", "fallback_from", "status", "attempts", "sent_at", "acknowledged_at"]
    readonly_fields = fields
    show_change_link = True
    ordering = ["created_at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recipient", "endpoint")


@admin.register(EscalationEvent)
class EscalationEventAdmin(LedgerAdmin):
    list_display = ["fired_at", "problem", "kind", "level", "due_at", "fell_through", "dispatched"]
    list_filter = ["kind", "level", "fell_through", "problem__plant"]
    search_fields = ["problem__number"]
    date_hierarchy = "fired_at"
    list_select_related = ["problem"]
    fields = [
        "problem",
        "kind",
        "level",
        "due_at",
        "fired_at",
        "expanded_at",
        "recipients",
        "channels",
        "missing_roles",
        "fell_through",
    ]
    readonly_fields = fields
    inlines = [NotificationInline]

    @admin.display(description=_("dispatched"), boolean=True)
    def dispatched(self, obj) -> bool:
        return obj.expanded_at is not None


class DeliveryAttemptInline(ReadOnlyMixin, ScopedInline, admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    fields = ["at", "channel", "destination", "outcome", "response", "duration_ms"]
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(LedgerAdmin):
    list_display = ["created_at", "event", "recipient", "endpoint", "channel", "fallback_from", "status", "attempts"]
    list_filter = ["status", "channel", "event__problem__plant"]
    search_fields = ["event__problem__number", "recipient__username", "endpoint__name"]
    list_select_related = ["event__problem", "recipient", "endpoint"]
    fields = [
        "uid",
        "event",
        "recipient",
        "endpoint",
        "channel",
        "fallback_from",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "repeat_at",
        "repeats_done",
        "acknowledged_at",
        "read_at",
        "subject",
        "body",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]
