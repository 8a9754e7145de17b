from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from issues.common import lockout_admin  # noqa: F401  (the locked log-ins page)
from issues.common.scope import sync_user_groups
from issues.common.scoped_admin import PlantScopedAdmin, ScopedInline, ScopedModelAdmin
from issues.grading.facts import facts_for
from issues.grading.thresholds import next_version
from issues.models import (
    AgendaItem,
    Attendance,
    EightDReport,
    FailureMode,
    Lesson,
    Line,
    Meeting,
    Plant,
    Problem,
    Profile,
    RoleAssignment,
    Section,
    SectionDeadline,
    Shift,
    SolvingPolicy,
    Station,
    ThresholdRule,
    ThresholdTable,
    Workshop,
)
from issues.models.thresholds import RULE_SCOPE_RECURRENCE
from issues.plant_setup import set_up_plant


class WorkshopInline(ScopedInline, admin.TabularInline):
    model = Workshop
    extra = 0


class ShiftInline(ScopedInline, admin.TabularInline):
    model = Shift
    extra = 0


@admin.register(Plant)
class PlantAdmin(PlantScopedAdmin):
    list_display = ["code", "name_en", "name_zh", "timezone", "recurrence_window_days"]
    inlines = [WorkshopInline, ShiftInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            set_up_plant(obj)


class LineInline(ScopedInline, admin.TabularInline):
    model = Line
    extra = 0


@admin.register(Workshop)
class WorkshopAdmin(PlantScopedAdmin):
    list_display = ["code", "name_en", "name_zh", "plant"]
    list_filter = ["plant"]
    inlines = [LineInline]


class StationInline(ScopedInline, admin.TabularInline):
    model = Station
    extra = 0


@admin.register(Line)
class LineAdmin(PlantScopedAdmin):
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


class ThresholdRuleInline(ScopedInline, admin.TabularInline):
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
        return super().has_change_permission(request, obj) and (obj is None or _is_current(obj))

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and (obj is None or _is_current(obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or _is_current(obj))


def _is_current(table: ThresholdTable) -> bool:
    return not ThresholdTable.objects.filter(plant=table.plant_id, version__gt=table.version).exists()


@admin.register(ThresholdTable)
class ThresholdTableAdmin(ScopedModelAdmin):
    """Saving a changed table writes a new version with every rule copied and the edits
    applied; the version problems were graded with stays as it was. The versions are the
    table's history (no simple_history model: its history page answered 500)."""

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


class ProfileInline(ScopedInline, admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ["display_name", "phone", "language", "home_line"]


class RoleAssignmentInline(ScopedInline, admin.TabularInline):
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
    # Rights come from the roles below, each within its scope: groups (kept in step with the
    # roles) and permissions given to the person directly would grant nothing, so not offered.
    fieldsets = [
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    ]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        sync_user_groups(form.instance)


# --- problem solving (8D) -----------------------------------------------------------------


class SolvingPolicyForm(forms.ModelForm):
    class Meta:
        model = SolvingPolicy
        fields = ["eightd_grades", "rework_days", "due_soon_hours"]

    def clean_eightd_grades(self) -> str:
        letters = self.cleaned_data["eightd_grades"].strip().upper()
        if set(letters) - set("ABC") or len(set(letters)) != len(letters):
            raise forms.ValidationError(_("Use the letters A, B and C, each at most once (for example AB)."))
        return "".join(sorted(letters))


class SectionDeadlineInline(ScopedInline, admin.TabularInline):
    """Every plant has one row per section (issues.eightd.rules.seed_solving_policy); only the days change."""

    model = SectionDeadline
    extra = 0
    fields = ["section", "days"]
    readonly_fields = ["section"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SolvingPolicy)
class SolvingPolicyAdmin(PlantScopedAdmin):
    form = SolvingPolicyForm
    list_display = ["plant", "eightd_grades", "rework_days", "due_soon_hours"]
    fields = ["plant", "eightd_grades", "rework_days", "due_soon_hours"]
    readonly_fields = ["plant"]
    inlines = [SectionDeadlineInline]

    def has_add_permission(self, request):
        return False  # every plant gets one when it is created (Plant.save)

    def has_delete_permission(self, request, obj=None):
        return False  # a plant must always have one


class SectionInline(ScopedInline, admin.TabularInline):
    """Where each answer stands; the answers themselves are written and reviewed in the app."""

    model = Section
    extra = 0
    fields = ["code", "state", "due_at", "returns"]
    readonly_fields = fields
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("issues.view_eightdreport", obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EightDReport)
class EightDReportAdmin(PlantScopedAdmin):
    list_display = ["problem_number", "leader", "returns", "created_at"]
    list_filter = [("problem__plant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["problem__number", "problem__title", "customer", "part_number"]
    list_select_related = ["problem", "leader"]
    date_hierarchy = "created_at"
    fields = ["problem", "customer", "part_number", "part_name", "leader", "members", "returns", "copied_from"]
    readonly_fields = ["problem", "leader", "members", "returns", "copied_from"]
    inlines = [SectionInline]

    @admin.display(description=_("problem"), ordering="problem__number")
    def problem_number(self, report: EightDReport) -> str:
        return report.problem.number

    def has_add_permission(self, request):
        return False  # started from the problem page (issues.eightd.solving.start_report)

    def has_delete_permission(self, request, obj=None):
        return False


class LessonForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        plant_id = self.instance.plant_id
        mode, line = cleaned.get("failure_mode"), cleaned.get("line")
        if mode is not None and mode.plant_id != plant_id:
            self.add_error("failure_mode", _("Choose one of this plant's failure modes."))
        if line is not None and line.workshop.plant_id != plant_id:
            self.add_error("line", _("Choose one of this plant's lines."))
        return cleaned


@admin.register(Lesson)
class LessonAdmin(PlantScopedAdmin):
    """The quality department's library: closing an 8D writes the entry, they polish it."""

    form = LessonForm
    list_display = ["title", "plant", "line", "failure_mode", "cause_family", "learned_on"]
    list_filter = [("plant", admin.RelatedOnlyFieldListFilter), "cause_family"]
    search_fields = ["title", "lesson", "root_cause", "actions", "product", "problem__number"]
    list_select_related = ["plant", "line", "failure_mode"]
    fields = [
        "plant",
        "problem",
        "learned_on",
        "title",
        "lesson",
        "root_cause",
        "actions",
        "product",
        "failure_mode",
        "line",
        "cause_family",
    ]
    readonly_fields = ["plant", "problem", "learned_on"]

    def has_add_permission(self, request):
        return False  # closing an 8D writes the entry (issues.problems.lifecycle.learn_from)


# --- the daily QRQC meeting -----------------------------------------------------------------


class AgendaItemInline(ScopedInline, admin.TabularInline):
    """What the meeting discussed and decided; decisions are taken in the meeting, which writes
    them to the problems too, so they are not edited here."""

    model = AgendaItem
    extra = 0
    fields = ["position", "problem", "group", "decision", "discussed_at", "closure_confirmed_at"]
    readonly_fields = fields
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("issues.view_meeting", obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AttendanceInline(ScopedInline, admin.TabularInline):
    """The sign-in sheet. The quality department may correct a row afterwards (leave approved
    late, a stand-in not recorded); each change is kept in the row's history."""

    model = Attendance
    extra = 0
    fields = ["department", "person", "role", "expected", "state", "stand_in", "stand_in_name", "note", "signed_at"]
    readonly_fields = ["department", "person", "role", "expected", "stand_in", "signed_at"]
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("issues.view_meeting", obj)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("issues.change_meeting", obj)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Meeting)
class MeetingAdmin(PlantScopedAdmin):
    """Meetings are started, run and ended in the app (issues.meetings.meeting); here they are read, and
    the general notes and the sign-in sheet can be corrected, with history."""

    list_display = ["day", "plant", "workshop", "chair", "state", "started_at", "minutes"]
    list_filter = [("plant", admin.RelatedOnlyFieldListFilter), "state"]
    list_select_related = ["plant", "workshop", "chair"]
    date_hierarchy = "day"
    search_fields = ["chair__username", "chair__profile__display_name", "notes"]
    fields = ["plant", "workshop", "day", "chair", "state", "started_at", "ended_at", "escalations_since", "notes"]
    readonly_fields = ["plant", "workshop", "day", "chair", "state", "started_at", "ended_at", "escalations_since"]
    inlines = [AgendaItemInline, AttendanceInline]

    @admin.display(description=_("duration"))
    def minutes(self, meeting: Meeting) -> str:
        if meeting.duration is None:
            return "—"
        return _("%(minutes)d min") % {"minutes": round(meeting.duration.total_seconds() / 60)}

    def has_add_permission(self, request):
        return False  # started from the meeting page (issues.meetings.meeting)

    def has_delete_permission(self, request, obj=None):
        return False  # the minutes are a quality record (docs/meeting.md §The meeting)
