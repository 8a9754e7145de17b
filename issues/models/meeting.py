"""The daily QRQC meeting (docs/meeting.md §The meeting): its agenda, the decisions taken on each item, and
the sign-in sheet. One meeting per plant (or workshop) and local day."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from issues.models.history import HistoryNotes
from issues.models.place import PlacePath
from issues.models.plant import Plant, Role, Workshop
from issues.models.problem import Problem


class Meeting(HistoryNotes, models.Model):
    """running → ended. The agenda is built when the meeting starts (issues.meetings.meeting) and can be
    refreshed while it runs; an ended meeting is the minutes and changes no more."""

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        ENDED = "ended", _("Ended")

    plant = models.ForeignKey(Plant, on_delete=models.PROTECT, related_name="meetings", verbose_name=_("plant"))
    workshop = models.ForeignKey(
        Workshop,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meetings",
        verbose_name=_("workshop"),
        help_text=_("Empty for the plant's meeting."),
    )
    day = models.DateField(_("day"), help_text=_("The plant's local date."))
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chaired_meetings", verbose_name=_("chair")
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    # Escalations fired after this instant are on the agenda: the previous meeting's start.
    escalations_since = models.DateTimeField(_("escalations since"))
    notes = models.TextField(_("general notes"), blank=True)
    history = HistoricalRecords()

    place_path = PlacePath(plant="plant", workshop="workshop")

    class Meta:
        ordering = ["-day", "plant", "workshop"]
        verbose_name = _("QRQC meeting")
        verbose_name_plural = _("QRQC meetings")
        permissions = [("run_meeting", _("Can chair a QRQC meeting"))]
        # A double click on "Start today's meeting" finds the meeting the first click made.
        constraints = [
            models.UniqueConstraint(
                fields=["plant", "workshop", "day"], name="meeting_once_a_day", condition=Q(workshop__isnull=False)
            ),
            models.UniqueConstraint(
                fields=["plant", "day"], name="plant_meeting_once_a_day", condition=Q(workshop__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workshop or self.plant} {self.day:%Y-%m-%d}"

    @property
    def duration(self) -> dt.timedelta | None:
        return self.ended_at - self.started_at if self.ended_at else None


class AgendaItem(HistoryNotes, models.Model):
    """One problem on the agenda, under the first agenda group it falls in (issues.meetings.agenda.GROUPS);
    `reasons` lists every group it falls in. What the chair decided is kept here and written to
    the problem (owner, due date, board status, decision note), whose history shows it too."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items", verbose_name=_("meeting"))
    problem = models.ForeignKey(
        Problem, on_delete=models.PROTECT, related_name="agenda_items", verbose_name=_("problem")
    )
    group = models.CharField(_("agenda group"), max_length=30)
    reasons = models.JSONField(_("on the agenda because"), default=list)
    position = models.PositiveIntegerField(_("position"))
    decision = models.TextField(_("decision"), blank=True)
    discussed_at = models.DateTimeField(_("discussed at"), null=True, blank=True)
    closure_confirmed_at = models.DateTimeField(_("closure confirmed at"), null=True, blank=True)
    history = HistoricalRecords()

    place_path = PlacePath(plant="meeting__plant", workshop="meeting__workshop")

    class Meta:
        ordering = ["meeting", "position"]
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        constraints = [models.UniqueConstraint(fields=["meeting", "problem"], name="agenda_item_once_per_problem")]

    def __str__(self) -> str:
        return f"{self.meeting} #{self.position} {self.problem_id}"


class Attendance(HistoryNotes, models.Model):
    """The sign-in sheet (快反会议签到表): one row per expected person, plus guests."""

    class State(models.TextChoices):
        UNKNOWN = "unknown", _("Not signed")
        PRESENT = "present", _("Present")
        STAND_IN = "stand_in", _("Stand-in")
        ABSENT = "absent", _("Absent, excused")
        ABSENT_WITHOUT_LEAVE = "awol", _("Absent without leave")

    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, related_name="attendances", verbose_name=_("meeting")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attendances", verbose_name=_("person")
    )
    role = models.CharField(_("role"), max_length=40, choices=Role.choices, blank=True)
    department = models.CharField(_("department"), max_length=20, blank=True)
    state = models.CharField(_("attendance"), max_length=10, choices=State.choices, default=State.UNKNOWN)
    stand_in = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stood_in_for",
        verbose_name=_("stand-in"),
    )
    stand_in_name = models.CharField(_("stand-in (name)"), max_length=120, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    expected = models.BooleanField(_("expected"), default=True, help_text=_("False for a guest."))
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    history = HistoricalRecords()

    place_path = PlacePath(plant="meeting__plant", workshop="meeting__workshop")

    class Meta:
        ordering = ["meeting", "department", "role", "id"]
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        constraints = [models.UniqueConstraint(fields=["meeting", "person"], name="attendance_once_per_person")]

    def __str__(self) -> str:
        return f"{self.meeting} {self.person_id} {self.state}"
