"""8D reports (docs/problem-solving.md §The 8D report): one per problem, nine sections D0–D8 each answered by the team,
reviewed by the quality department, under the plant's deadlines; and the lessons learned."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from issues.models.history import HistoryNotes
from issues.models.place import PlacePath
from issues.models.plant import Line, Plant
from issues.models.problem import CauseFamily, FailureMode, Problem


class SectionCode(models.TextChoices):
    D0 = "D0", _("D0 Emergency response")
    D1 = "D1", _("D1 Team")
    D2 = "D2", _("D2 Problem description")
    D3 = "D3", _("D3 Containment")
    D4 = "D4", _("D4 Root cause")
    D5 = "D5", _("D5 Permanent actions chosen")
    D6 = "D6", _("D6 Actions implemented and validated")
    D7 = "D7", _("D7 Prevent recurrence")
    D8 = "D8", _("D8 Closure and recognition")


class SolvingPolicy(models.Model):
    """How a plant solves problems: which grades need an 8D, the rework allowance after a
    returned answer, and when a due-soon notice goes out. Deadlines per section are rows below."""

    plant = models.OneToOneField(Plant, on_delete=models.CASCADE, related_name="solving_policy")
    eightd_grades = models.CharField(
        _("grades that need an 8D"),
        max_length=3,
        default="AB",
        help_text=_("Letters among A, B, C. Other grades close after a containment and a cause note."),
    )
    rework_days = models.PositiveSmallIntegerField(
        _("days to rework a returned answer"),
        default=3,
        help_text=_(
            "Days a returned 8D answer gets, from the return, to be answered again (the procedure allows"
            " at most 3); its deadline never moves earlier."
        ),
    )
    due_soon_hours = models.PositiveSmallIntegerField(_("due-soon notice (hours before the deadline)"), default=12)
    history = HistoricalRecords()

    place_path = PlacePath(plant="plant")

    class Meta:
        verbose_name = _("problem-solving policy")
        verbose_name_plural = _("problem-solving policies")

    def __str__(self) -> str:
        return str(self.plant)

    def needs_eightd(self, grade: str) -> bool:
        return grade in self.eightd_grades


class SectionDeadline(models.Model):
    policy = models.ForeignKey(SolvingPolicy, on_delete=models.CASCADE, related_name="deadlines")
    section = models.CharField(_("section"), max_length=2, choices=SectionCode.choices)
    days = models.PositiveSmallIntegerField(
        _("days after occurrence"), help_text=_("Empty answers are late after this many days.")
    )
    history = HistoricalRecords()

    place_path = PlacePath(plant="policy__plant")

    class Meta:
        ordering = ["policy", "section"]
        verbose_name = _("section deadline")
        verbose_name_plural = _("section deadlines")
        constraints = [models.UniqueConstraint(fields=["policy", "section"], name="section_deadline_unique")]

    def __str__(self) -> str:
        return f"{self.section} +{self.days} d"


class EightDReport(HistoryNotes, models.Model):
    problem = models.OneToOneField(Problem, on_delete=models.CASCADE, related_name="eightd", verbose_name=_("problem"))
    customer = models.CharField(_("customer"), max_length=120, blank=True)
    part_number = models.CharField(_("part number"), max_length=60, blank=True)
    part_name = models.CharField(_("part name"), max_length=120, blank=True)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_eightd_reports",
        verbose_name=pgettext_lazy("8D", "team leader"),
    )
    # Kept in step with section D1 so permission checks need no JSON.
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="eightd_reports", verbose_name=_("team members")
    )
    returns = models.PositiveSmallIntegerField(_("answers returned"), default=0)
    copied_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("copied from")
    )
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords(m2m_fields=[members])

    place_path = PlacePath(plant="problem__plant", workshop="problem__line__workshop", line="problem__line")

    class Meta:
        verbose_name = _("8D report")
        verbose_name_plural = _("8D reports")
        permissions = [("review_eightdreport", _("Can accept or return 8D answers"))]

    def __str__(self) -> str:
        return f"8D {self.problem.number}"


class Section(HistoryNotes, models.Model):
    class State(models.TextChoices):
        """todo → draft → submitted → accepted (locked) | returned → draft → submitted …;
        accepted → draft (reopened, with a reason); todo/draft/returned → not applicable
        (with a reason) → draft. Board colour: see issues.eightd.rules.board_colour."""

        TODO = "todo", _("Not started")
        DRAFT = "draft", _("In progress")
        SUBMITTED = "submitted", _("Submitted for review")
        RETURNED = "returned", _("Returned")
        ACCEPTED = "accepted", _("Accepted")
        NOT_APPLICABLE = "na", _("Not applicable")

    report = models.ForeignKey(EightDReport, on_delete=models.CASCADE, related_name="sections")
    code = models.CharField(_("section"), max_length=2, choices=SectionCode.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.TODO)
    content = models.JSONField(_("answer"), default=dict, blank=True)
    due_at = models.DateTimeField(_("deadline"))
    returns = models.PositiveSmallIntegerField(_("times returned"), default=0)
    review_note = models.TextField(_("reviewer's note"), blank=True)
    na_reason = models.TextField(_("why not applicable"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    # Due-soon and overdue notices (escalation sweep): the next one's time, and those sent.
    notice_at = models.DateTimeField(null=True, blank=True, editable=False)
    notices_sent = models.JSONField(default=list, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["notice_at", "notices_sent", "updated_at"])

    place_path = PlacePath(
        plant="report__problem__plant", workshop="report__problem__line__workshop", line="report__problem__line"
    )

    class Meta:
        ordering = ["report", "code"]
        verbose_name = _("8D section")
        verbose_name_plural = _("8D sections")
        constraints = [models.UniqueConstraint(fields=["report", "code"], name="section_once_per_report")]
        indexes = [
            models.Index(fields=["notice_at"], name="section_notice_due", condition=Q(notice_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.report.problem.number} {self.code}"

    @property
    def done(self) -> bool:
        return self.state in (self.State.ACCEPTED, self.State.NOT_APPLICABLE)

    @property
    def locked(self) -> bool:
        return self.state in (self.State.SUBMITTED, self.State.ACCEPTED, self.State.NOT_APPLICABLE)


def attachment_path(instance: SectionAttachment, filename: str) -> str:
    return f"eightd/{instance.uploaded_at:%Y/%m}/{filename}"


class SectionAttachment(models.Model):
    class Kind(models.TextChoices):
        PHOTO = "photo", _("Photo")
        DOCUMENT = "document", _("Document")

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    token = models.CharField(max_length=32, unique=True)
    file = models.FileField(upload_to=attachment_path)
    thumbnail = models.ImageField(upload_to=attachment_path, blank=True)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(default=0)
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    place_path = PlacePath(
        plant="section__report__problem__plant",
        workshop="section__report__problem__line__workshop",
        line="section__report__problem__line",
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name


class Lesson(models.Model):
    """A closed 8D's D7 lesson, searchable by the plant (the quality department's library)."""

    plant = models.ForeignKey(Plant, on_delete=models.CASCADE, related_name="lessons", verbose_name=_("plant"))
    problem = models.OneToOneField(Problem, on_delete=models.CASCADE, related_name="lesson", verbose_name=_("problem"))
    failure_mode = models.ForeignKey(
        FailureMode, on_delete=models.SET_NULL, null=True, blank=True, related_name="lessons"
    )
    line = models.ForeignKey(Line, on_delete=models.SET_NULL, null=True, blank=True, related_name="lessons")
    product = models.CharField(_("product"), max_length=120, blank=True)
    cause_family = models.CharField(_("cause family"), max_length=20, choices=CauseFamily.choices, blank=True)
    title = models.CharField(_("title"), max_length=140)
    lesson = models.TextField(_("lesson learned"))
    root_cause = models.TextField(_("root cause"), blank=True)
    actions = models.TextField(_("actions"), blank=True)
    learned_on = models.DateField(_("learned on"))
    history = HistoricalRecords()

    place_path = PlacePath(plant="plant")

    # Set on the lessons of the library page by issues.eightd.lessons.mark_readable; not a column.
    problem_visible: bool

    class Meta:
        ordering = ["-learned_on", "-id"]
        verbose_name = _("lesson learned")
        verbose_name_plural = _("lessons learned")
        indexes = [models.Index(fields=["plant", "failure_mode"], name="lesson_failure_mode")]

    def __str__(self) -> str:
        return self.title
