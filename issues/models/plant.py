"""Places and people: plant → workshop → line → station, shifts, roles with a scope."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from issues.models.place import PlacePath


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


def bilingual_name(name_en: str, name_zh: str) -> str:
    """The name in the reader's language: Chinese when they read Chinese and there is one."""
    if name_zh and (get_language() or "").startswith("zh"):
        return name_zh
    return name_en


class BilingualName(models.Model):
    """A name in English and in Simplified Chinese; shown in the reader's language."""

    name_en = models.CharField(_("name (English)"), max_length=120)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return bilingual_name(self.name_en, self.name_zh)


class Plant(BilingualName):
    code = models.SlugField(
        _("code"), max_length=12, unique=True, help_text=_("Short prefix used in problem numbers, e.g. SZ1.")
    )
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_timezone])
    recurrence_window_days = models.PositiveSmallIntegerField(
        _("recurrence window (days)"),
        default=30,
        help_text=_("A problem with the same failure mode, line and cause family within this window is a repeat."),
    )
    special_team_occurrences = models.PositiveSmallIntegerField(
        _("special team: occurrences"),
        default=3,
        help_text=_("This many occurrences of one failure mode within the window calls for a special team."),
    )
    special_team_window_days = models.PositiveSmallIntegerField(_("special team: window (days)"), default=90)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default="zh-hans",
        help_text=_("For messages to people who have not chosen a language."),
    )
    history = HistoricalRecords()

    place_path = PlacePath(plant="pk")

    class Meta:
        ordering = ["code"]
        verbose_name = _("plant")
        verbose_name_plural = _("plants")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Workshop(BilingualName):
    plant = models.ForeignKey(Plant, on_delete=models.PROTECT, related_name="workshops", verbose_name=_("plant"))
    code = models.SlugField(_("code"), max_length=20)
    history = HistoricalRecords()

    place_path = PlacePath(plant="plant", workshop="pk")

    class Meta:
        ordering = ["plant", "code"]
        verbose_name = _("workshop")
        verbose_name_plural = _("workshops")
        constraints = [models.UniqueConstraint(fields=["plant", "code"], name="workshop_code_unique_in_plant")]


class Line(BilingualName):
    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="lines", verbose_name=_("workshop"))
    code = models.SlugField(_("code"), max_length=20)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    place_path = PlacePath(plant="workshop__plant", workshop="workshop", line="pk")

    class Meta:
        ordering = ["workshop__plant", "workshop", "code"]
        verbose_name = _("line")
        verbose_name_plural = _("lines")
        constraints = [models.UniqueConstraint(fields=["workshop", "code"], name="line_code_unique_in_workshop")]


class Station(BilingualName):
    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="stations", verbose_name=_("line"))
    code = models.SlugField(_("code"), max_length=20)

    place_path = PlacePath(plant="line__workshop__plant", workshop="line__workshop", line="line")

    class Meta:
        ordering = ["line", "code"]
        verbose_name = _("station")
        verbose_name_plural = _("stations")
        constraints = [models.UniqueConstraint(fields=["line", "code"], name="station_code_unique_on_line")]


class Shift(BilingualName):
    """A working shift in the plant's local time; ends <= starts means it crosses midnight."""

    plant = models.ForeignKey(Plant, on_delete=models.CASCADE, related_name="shifts", verbose_name=_("plant"))
    code = models.SlugField(_("code"), max_length=20)
    starts = models.TimeField(_("starts"))
    ends = models.TimeField(_("ends"))

    place_path = PlacePath(plant="plant")

    class Meta:
        ordering = ["plant", "starts"]
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        constraints = [models.UniqueConstraint(fields=["plant", "code"], name="shift_code_unique_in_plant")]

    @property
    def crosses_midnight(self) -> bool:
        return self.ends <= self.starts

    def covers(self, local_time: dt.time) -> bool:
        if self.crosses_midnight:
            return local_time >= self.starts or local_time < self.ends
        return self.starts <= local_time < self.ends


class Role(models.TextChoices):
    """Roles of the plant's QRQC procedure (docs/people-and-rights.md §Roles); each is also a
    Django group carrying its permissions."""

    OPERATOR = "operator", _("Operator")
    QC_INSPECTOR = "qc_inspector", _("QC inspector")
    MAINTENANCE_TECHNICIAN = "maintenance_technician", _("Maintenance technician")
    TEAM_LEADER = "team_leader", _("Team leader")
    QUALITY_ENGINEER = "quality_engineer", _("Quality / process engineer")
    EQUIPMENT_ENGINEER = "equipment_engineer", _("Equipment engineer")
    UTILITIES_ENGINEER = "utilities_engineer", _("Utilities engineer")
    WORKSHOP_DIRECTOR = "workshop_director", _("Workshop director")
    INSPECTION_SECTION_CHIEF = "inspection_section_chief", _("Inspection / process section chief")
    MAINTENANCE_SECTION_CHIEF = "maintenance_section_chief", _("Maintenance section chief")
    PRODUCTION_MANAGER = "production_manager", _("Production manager")
    QUALITY_MANAGER = "quality_manager", _("Quality manager")
    ENGINEERING_MANAGER = "engineering_manager", _("Engineering manager")
    DEPUTY_GENERAL_MANAGER = "deputy_general_manager", _("Deputy general manager")
    GENERAL_MANAGER = "general_manager", _("General manager")


def shown_name(display_name: str | None, username: str) -> str:
    """How a person is named on pages, printouts and messages: the display name, else the login."""
    return display_name or username


class Profile(models.Model):
    """What the plant knows about a person beyond the login: language, phone, home line."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    home_line = models.ForeignKey(
        Line, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("home line")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return shown_name(self.display_name, self.user.get_username())


class RoleAssignment(models.Model):
    """A person holds a role over a scope: a whole plant, one workshop, or one line."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=40, choices=Role.choices)
    plant = models.ForeignKey(Plant, on_delete=models.CASCADE, related_name="role_assignments", verbose_name=_("plant"))
    workshop = models.ForeignKey(
        Workshop,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="role_assignments",
        verbose_name=_("workshop"),
    )
    line = models.ForeignKey(
        Line, on_delete=models.CASCADE, null=True, blank=True, related_name="role_assignments", verbose_name=_("line")
    )
    history = HistoricalRecords()

    place_path = PlacePath(plant="plant", workshop="workshop", line="line")

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.scope}"

    @property
    def scope(self) -> BilingualName:
        return self.line or self.workshop or self.plant

    def clean(self) -> None:
        if self.workshop_id and self.line is not None and self.line.workshop_id != self.workshop_id:
            raise ValidationError({"line": _("The line is not in this workshop.")})
        if self.workshop is not None and self.workshop.plant_id != self.plant_id:
            raise ValidationError({"workshop": _("The workshop is not in this plant.")})
        if self.line is not None and self.line.workshop.plant_id != self.plant_id:
            raise ValidationError({"line": _("The line is not in this plant.")})
