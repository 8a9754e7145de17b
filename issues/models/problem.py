"""Problems: what the shift leader logged, how it was graded, and why."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from issues.grading.rules import FiredRule, Grading
from issues.models.history import HistoryNotes
from issues.models.place import PlacePath
from issues.models.plant import BilingualName, Line, Plant, Shift, Station
from issues.models.thresholds import Category, Grade, ThresholdTable


class Kind(models.TextChoices):
    """QC = execution problems of operators, equipment, tooling; QE = design/development (docs/grading.md §Grades)."""

    QC = "QC", _("QC — execution")
    QE = "QE", _("QE — design / development")


class CauseFamily(models.TextChoices):
    MAN = "man", _("Man")
    MACHINE = "machine", _("Machine")
    MATERIAL = "material", _("Material")
    METHOD = "method", _("Method")
    ENVIRONMENT = "environment", _("Environment")
    MEASUREMENT = "measurement", _("Measurement")
    OTHER = "other", _("Other")


class Source(models.TextChoices):
    """Where the problem was found; the meeting's agenda groups new problems by it (docs/meeting.md §Agenda)."""

    LINE = "line", _("Production line")
    CUSTOMER = "customer", _("Customer")
    SUPPLIER = "supplier", _("Supplier / incoming inspection")
    VERIFICATION_STATION = "verification_station", _("Verification station")
    LAYERED_AUDIT = "layered_audit", _("Layered process audit")
    SCRAP_REVIEW = "scrap_review", _("Shift scrap review")
    OTHER = "other", _("Other")


class FailureMode(BilingualName):
    """A plant's list of failure modes; free text typed at intake adds an unreviewed entry."""

    plant = models.ForeignKey(Plant, on_delete=models.CASCADE, related_name="failure_modes", verbose_name=_("plant"))
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, blank=True)
    reviewed = models.BooleanField(
        _("reviewed"), default=True, help_text=_("Entries typed as free text at intake start unreviewed.")
    )
    history = HistoricalRecords()

    place_path = PlacePath(plant="plant")

    class Meta:
        ordering = ["plant", "category", "name_en"]
        verbose_name = _("failure mode")
        verbose_name_plural = _("failure modes")
        constraints = [models.UniqueConstraint(fields=["plant", "name_en"], name="failure_mode_name_unique_in_plant")]


class ProblemQuerySet(models.QuerySet["Problem"]):
    def open(self) -> ProblemQuerySet:
        return self.exclude(status__in=Problem.FINISHED)

    def same_failure(self, *, line_id: int, failure_mode_id: int | None, cause_family: str) -> ProblemQuerySet:
        return self.filter(line_id=line_id, failure_mode_id=failure_mode_id, cause_family=cause_family).exclude(
            status=Problem.Status.CANCELLED
        )


class Problem(HistoryNotes, models.Model):
    class Status(models.TextChoices):
        """Lifecycle; the allowed moves are issues.problems.lifecycle.TRANSITIONS, each made by a verb there:
        open → contained → analysed → acting → verifying → closed; a problem that needs no 8D
        may close from contained or analysed (with a cause note); verifying → acting when the
        actions did not work; closed → open (reopen, with a reason); any state before closed →
        cancelled (as a duplicate of another problem)."""

        OPEN = "open", _("Open")
        CONTAINED = "contained", _("Contained")
        ANALYSED = "analysed", _("Root cause found")
        ACTING = "acting", _("Actions in progress")
        VERIFYING = "verifying", _("Verifying")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    # Closed or cancelled: nothing more happens to the problem (no tier, alarm, flag or 8D work).
    FINISHED: ClassVar[tuple[str, ...]] = (Status.CLOSED, Status.CANCELLED)

    number = models.CharField(_("number"), max_length=40, unique=True)
    plant = models.ForeignKey(Plant, on_delete=models.PROTECT, related_name="problems", verbose_name=_("plant"))
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="problems", verbose_name=_("line"))
    station = models.ForeignKey(
        Station, on_delete=models.SET_NULL, null=True, blank=True, related_name="problems", verbose_name=_("station")
    )
    shift = models.ForeignKey(
        Shift, on_delete=models.SET_NULL, null=True, blank=True, related_name="problems", verbose_name=_("shift")
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    kind = models.CharField(_("QC / QE"), max_length=2, choices=Kind.choices, default=Kind.QC)
    cause_family = models.CharField(_("cause family"), max_length=20, choices=CauseFamily.choices, blank=True)
    failure_mode = models.ForeignKey(
        FailureMode,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="problems",
        verbose_name=_("failure mode"),
    )
    source = models.CharField(_("found at"), max_length=24, choices=Source.choices, default=Source.LINE)
    title = models.CharField(_("title"), max_length=140)
    description = models.TextField(_("description"), blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    reported_at = models.DateTimeField(_("reported at"), auto_now_add=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reported_problems",
        verbose_name=_("reported by"),
    )
    facts = models.JSONField(_("facts"), default=dict, blank=True)

    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices)
    base_grade = models.CharField(_("grade before recurrence"), max_length=1, choices=Grade.choices)
    fired_rules = models.JSONField(_("rules that fired"), default=list, blank=True)
    threshold_table = models.ForeignKey(
        ThresholdTable, on_delete=models.PROTECT, related_name="problems", verbose_name=_("threshold table")
    )
    prior_occurrences = models.PositiveIntegerField(_("earlier occurrences in the window"), default=0)
    special_team_required = models.BooleanField(_("special team required"), default=False)

    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_problems",
        verbose_name=_("owner"),
    )
    owner_assigned_at = models.DateTimeField(_("owner assigned at"), null=True, blank=True)
    due_date = models.DateField(_("closure due"), null=True, blank=True)
    contained_at = models.DateTimeField(_("contained at"), null=True, blank=True)
    cause_note = models.TextField(_("cause"), blank=True)
    # The D7 checklist the problem was closed with (issues.eightd.rules.checklist_errors).
    closure_checklist = models.JSONField(_("closure checklist"), default=dict, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duplicates",
        verbose_name=_("duplicate of"),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Set by the meeting's chair for a problem without an 8D report: step -> issues.eightd.rules.Colour
    # (issues.eightd.steps.step_colours). An 8D report's sections are the record when there is one.
    board_status = models.JSONField(_("board status"), default=dict, blank=True)
    decision = models.TextField(_("last meeting decision"), blank=True)
    idempotency_key = models.CharField(max_length=80, blank=True, editable=False)
    # What was reported under the key (issues.problems.intake.report_fingerprint): the same key with
    # other contents is refused rather than answered with this problem. Empty on older rows.
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, editable=False)

    # Timed escalation (escalation/ladder.py). The sweep claims a due row with a conditional
    # UPDATE on (escalation_level, escalate_at), so two sweeps never fire the same tier.
    escalation_plan = models.JSONField(_("escalation plan"), default=dict, blank=True, editable=False)
    escalation_level = models.PositiveSmallIntegerField(
        _("escalation level reached"), default=5, help_text=_("5: only the initiator knows; 4 to 1: tiers reached.")
    )
    escalate_at = models.DateTimeField(_("next escalation"), null=True, blank=True, editable=False)
    alarms_fired = models.JSONField(default=list, blank=True, editable=False)
    alarm_at = models.DateTimeField(_("next alarm"), null=True, blank=True, editable=False)

    history = HistoricalRecords(
        excluded_fields=["idempotency_key", "idempotency_fingerprint", "escalation_plan", "alarms_fired"]
    )
    objects = ProblemQuerySet.as_manager()

    place_path = PlacePath(plant="plant", workshop="line__workshop", line="line")

    # Set on the problems of a list by issues.problems.flags.flag; not columns.
    days_without_owner: int | None
    closure_overdue: bool

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("problem")
        verbose_name_plural = _("problems")
        permissions = [
            ("assign_problem", _("Can assign a problem's owner and due date")),
            ("close_problem", _("Can close, cancel and reopen problems")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reported_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="problem_idempotency_key_unique_per_reporter",
            )
        ]
        indexes = [
            # Also the Q chart's counts per day and month (issues.qchart.data): with grade and status
            # in the index PostgreSQL counts a year of a plant's problems without reading the table.
            models.Index(fields=["plant", "-occurred_at"], include=["grade", "status"], name="problem_plant_occurred"),
            models.Index(fields=["line", "failure_mode", "cause_family", "occurred_at"], name="problem_recurrence"),
            # Special-team check at intake: earlier problems of one failure mode in the window.
            models.Index(fields=["failure_mode", "occurred_at"], name="problem_failure_mode_occurred"),
            models.Index(
                fields=["escalate_at"], name="problem_escalate_at_due", condition=Q(escalate_at__isnull=False)
            ),
            models.Index(fields=["alarm_at"], name="problem_alarm_at_due", condition=Q(alarm_at__isnull=False)),
            # The daily board (issues.board.queries.board_query): open problems plus those that occurred or
            # closed in the past 24 hours, found by a BitmapOr of these three instead of reading the
            # plant's whole history (bench/board.py: 150 ms -> 5 ms per query at 100k problems).
            # Cancelled ones are left out of the first: at 1 % of the history they were most of its rows.
            models.Index(fields=["plant"], condition=~Q(status__in=["closed", "cancelled"]), name="problem_open"),
            models.Index(fields=["closed_at"], condition=Q(closed_at__isnull=False), name="problem_closed_at"),
            models.Index(fields=["occurred_at"], name="problem_occurred_at"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def grading(self) -> Grading:
        return Grading(
            grade=self.grade,
            base_grade=self.base_grade,
            rules=tuple(FiredRule.from_json(rule) for rule in self.fired_rules),
            table_version=self.threshold_table.version if self.threshold_table_id else None,
            prior_occurrences=self.prior_occurrences,
        )

    def explanation(self, language: str = "en") -> str:
        return self.grading.explanation(language)


class Containment(models.Model):
    """An effective temporary action (docs/escalation.md §The rules): recording one stops the escalation clock."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="containments")
    action = models.TextField(_("what was done"))
    done_by = models.CharField(_("by whom"), max_length=120)
    quantity_secured = models.PositiveIntegerField(_("quantity secured"), default=0)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    place_path = PlacePath(plant="problem__plant", workshop="problem__line__workshop", line="problem__line")

    class Meta:
        ordering = ["recorded_at"]
        verbose_name = _("containment")
        verbose_name_plural = _("containments")

    def __str__(self) -> str:
        return f"{self.problem_id}: {self.action[:40]}"


class ProblemCounter(models.Model):
    """Per plant and local day, the last serial handed out (row-locked while numbering)."""

    plant = models.ForeignKey(Plant, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plant", "day"], name="problem_counter_unique_day")]

    def __str__(self) -> str:
        return f"{self.plant_id} {self.day} #{self.last}"


def photo_path(instance: ProblemPhoto, filename: str) -> str:
    return f"problems/{instance.uploaded_at:%Y/%m}/{filename}"


class ProblemPhoto(models.Model):
    """A resized JPEG. Staged (problem empty) when the rest of the form failed validation,
    so a re-rendered form keeps the photos already uploaded."""

    problem = models.ForeignKey(
        Problem, on_delete=models.CASCADE, null=True, blank=True, related_name="photos", verbose_name=_("problem")
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    token = models.CharField(max_length=32, unique=True)
    image = models.ImageField(upload_to=photo_path, width_field="width", height_field="height")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    thumbnail = models.ImageField(upload_to=photo_path, blank=True)
    original_name = models.CharField(max_length=200, blank=True)

    place_path = PlacePath(plant="problem__plant", workshop="problem__line__workshop", line="problem__line")

    class Meta:
        ordering = ["id"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return self.original_name or self.token
