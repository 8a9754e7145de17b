from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from issues.facts import facts_for
from issues.models import (
    FailureMode,
    Line,
    Plant,
    Problem,
    Profile,
    RoleAssignment,
    Shift,
    Station,
    ThresholdRule,
    ThresholdTable,
    Workshop,
)
from issues.models.thresholds import RULE_SCOPE_RECURRENCE
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


class ThresholdRuleForm(forms.ModelForm):
    """Refuse a rule grading cannot evaluate: a test without the limits it compares against
    would make every later problem of the category fail at intake."""

    def clean(self):
        cleaned = super().clean()
        category = cleaned.get("category")
        known = {fact.name for fact in facts_for(category)} | (
            {"prior_occurrences"} if category == RULE_SCOPE_RECURRENCE else set()
        )
        if cleaned.get("fact") and category and cleaned["fact"] not in known:
            self.add_error("fact", _("Not a fact of this category: %(names)s.") % {"names": ", ".join(sorted(known))})
        condition_known = known | {"base_grade"}
        if cleaned.get("when_fact") and category and cleaned["when_fact"] not in condition_known:
            self.add_error("when_fact", _("Not a fact of this category."))
        operator, limit, upper = cleaned.get("operator"), cleaned.get("limit"), cleaned.get("upper_limit")
        if operator in ("gt", "gte", "between") and limit is None:
            self.add_error("limit", _("This test needs a limit."))
        if operator == "between":
            if upper is None:
                self.add_error("upper_limit", _("This test needs an upper limit."))
            elif limit is not None and upper <= limit:
                self.add_error("upper_limit", _("The upper limit must be above the limit."))
        return cleaned


class ThresholdRuleInline(admin.TabularInline):
    model = ThresholdRule
    form = ThresholdRuleForm
    extra = 0
    fields = [
        "category",
        "code",
        "grade",
        "fact",
        "operator",
        "limit",
        "upper_limit",
        "match",
        "when_fact",
        "when_value",
        "label_en",
        "label_zh",
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
        """Nothing yet: whether a new version is written depends on the rule rows too."""

    def save_related(self, request, form, formsets, change):
        table = form.instance
        if not (form.has_changed() or any(row.has_changed() for formset in formsets for row in formset.forms)):
            for formset in formsets:
                formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            messages.info(
                request, _("Nothing changed; the table stays at version %(version)d.") % {"version": table.version}
            )
            return
        table.pk = None
        table._state.adding = True
        table.version = next_version(table.plant)
        table.created_by = request.user
        table.save()
        for formset in formsets:
            # formset.save() is not called, so record what it would have for the admin's change message.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for row_form in formset.forms:
                if not row_form.has_changed() and row_form.instance.pk is None:
                    continue  # an empty extra row
                if formset.can_delete and formset._should_delete_form(row_form):
                    if row_form.instance.pk is not None:
                        formset.deleted_objects.append(row_form.instance)
                    continue
                rule = row_form.instance  # already carries the edited values (ModelForm._post_clean)
                added = rule.pk is None
                rule.pk = None
                rule._state.adding = True
                rule.table = form.instance
                rule.save()
                if added:
                    formset.new_objects.append(rule)
                elif row_form.has_changed():
                    formset.changed_objects.append((rule, row_form.changed_data))
        messages.info(
            request,
            _("Saved as version %(version)d; earlier problems keep their version.")
            % {"version": form.instance.version},
        )


@admin.register(Problem)
class ProblemAdmin(PlantScopedAdmin):
    list_display = ["number", "grade", "status", "category", "line", "occurred_at", "special_team_required"]
    list_filter = ["plant", "grade", "status", "category", "special_team_required"]
    search_fields = ["number", "title"]
    date_hierarchy = "occurred_at"
    list_select_related = ["line"]
    readonly_fields = [
        "number",
        "plant",
        "grade",
        "base_grade",
        "fired_rules",
        "threshold_table",
        "prior_occurrences",
        "reported_by",
        "reported_at",
        "facts",
    ]
    raw_id_fields = ["line", "station", "shift", "failure_mode"]


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ["display_name", "phone", "language", "home_line"]


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 1
    fields = ["role", "plant", "workshop", "line"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(UserAdmin):
    """One page per person: login, profile (language, phone, home line) and roles with scope."""

    inlines = [ProfileInline, RoleAssignmentInline]
    list_display = ["username", "profile__display_name", "is_active", "is_staff"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        sync_user_groups(form.instance)
