from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from issues.models import (
    FailureMode, Line, Plant, Problem, Profile, RoleAssignment, Shift, Station, ThresholdRule, ThresholdTable, Workshop,
)
from issues.scope import sync_user_groups, visible_plants
from issues.thresholds import next_version


class PlantScopedAdmin(SimpleHistoryAdmin):
    """Staff who are not superusers manage only the plants they hold a role in."""

    plant_path = "plant"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.plant_path}__in": visible_plants(request.user)})


class WorkshopInline(admin.TabularInline):
    model = Workshop
    extra = 0


class ShiftInline(admin.TabularInline):
    model = Shift
    extra = 0


@admin.register(Plant)
class PlantAdmin(PlantScopedAdmin):
    plant_path = "pk"
    list_display = ["code", "name_en", "name_zh", "timezone", "recurrence_window_days"]
    inlines = [WorkshopInline, ShiftInline]


class LineInline(admin.TabularInline):
    model = Line
    extra = 0


@admin.register(Workshop)
class WorkshopAdmin(PlantScopedAdmin):
    list_display = ["code", "name_en", "name_zh", "plant"]
    list_filter = ["plant"]
    inlines = [LineInline]


class StationInline(admin.TabularInline):
    model = Station
    extra = 0


@admin.register(Line)
class LineAdmin(PlantScopedAdmin):
    plant_path = "workshop__plant"
    list_display = ["code", "name_en", "name_zh", "workshop", "active"]
    list_filter = ["workshop__plant", "workshop", "active"]
    inlines = [StationInline]


@admin.register(FailureMode)
class FailureModeAdmin(PlantScopedAdmin):
    list_display = ["name_en", "name_zh", "category", "plant", "reviewed"]
    list_filter = ["plant", "category", "reviewed"]
    search_fields = ["name_en", "name_zh"]


@admin.register(Profile)
class ProfileAdmin(SimpleHistoryAdmin):
    list_display = ["user", "display_name", "phone", "language", "home_line"]
    search_fields = ["user__username", "display_name", "phone"]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(PlantScopedAdmin):
    list_display = ["user", "role", "plant", "workshop", "line"]
    list_filter = ["plant", "role"]
    search_fields = ["user__username", "user__profile__display_name"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        sync_user_groups(obj.user)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        sync_user_groups(obj.user)


class ThresholdRuleInline(admin.TabularInline):
    model = ThresholdRule
    extra = 0
    fields = [
        "category", "code", "grade", "fact", "operator", "limit", "upper_limit", "match", "when_fact", "when_value",
        "label_en", "label_zh",
    ]

    def has_change_permission(self, request, obj=None):
        return obj is None or _is_current(obj)

    has_add_permission = has_delete_permission = has_change_permission


def _is_current(table: ThresholdTable) -> bool:
    return not ThresholdTable.objects.filter(plant=table.plant_id, version__gt=table.version).exists()


@admin.register(ThresholdTable)
class ThresholdTableAdmin(PlantScopedAdmin):
    """Saving a changed table writes a new version with every rule copied and the edits
    applied; the version problems were graded with stays as it was."""

    list_display = ["__str__", "plant", "version", "created_at", "created_by", "note"]
    list_filter = ["plant"]
    fields = ["plant", "version", "note", "created_by", "created_at"]
    readonly_fields = ["plant", "version", "created_by", "created_at"]
    inlines = [ThresholdRuleInline]

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or _is_current(obj))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        self._previous_pk = obj.pk
        obj.pk = None
        obj._state.adding = True
        obj.version = next_version(obj.plant)
        obj.created_by = request.user
        obj.save()

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            for row_form in formset.forms:
                if not row_form.has_changed() and row_form.instance.pk is None:
                    continue  # an empty extra row
                if formset.can_delete and formset._should_delete_form(row_form):
                    continue
                rule = row_form.instance  # already carries the edited values (ModelForm._post_clean)
                rule.pk = None
                rule._state.adding = True
                rule.table = form.instance
                rule.save()
        messages.info(request, _("Saved as version %(version)d; earlier problems keep their version.") % {
            "version": form.instance.version
        })


@admin.register(Problem)
class ProblemAdmin(PlantScopedAdmin):
    list_display = ["number", "grade", "status", "category", "line", "occurred_at", "special_team_required"]
    list_filter = ["plant", "grade", "status", "category", "special_team_required"]
    search_fields = ["number", "title"]
    date_hierarchy = "occurred_at"
    list_select_related = ["line"]
    readonly_fields = [
        "number", "plant", "grade", "base_grade", "fired_rules", "threshold_table", "prior_occurrences",
        "reported_by", "reported_at", "facts",
    ]
    raw_id_fields = ["line", "station", "shift", "failure_mode"]
