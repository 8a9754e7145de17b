"""Threshold tables (docs/grading.md §The threshold table): versioned, per plant; a table is never edited in place.

Saving a changed table in the admin writes a new version; problems keep a foreign key to
the version they were graded with, so an edit never rewrites a past grade.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from issues.models.place import PlacePath

if TYPE_CHECKING:
    from issues.models.plant import Plant


class Category(models.TextChoices):
    QUALITY = "quality", _("Quality")
    EQUIPMENT = "equipment", _("Equipment")
    UTILITIES = "utilities", _("Utilities")
    MATERIAL = "material", _("Material")
    SAFETY = "safety", _("Safety / 5S")
    PEOPLE = "people", _("People")


class Grade(models.TextChoices):
    """A = company-level QRQC, B = workshop-level, C = tracked and improved (docs/grading.md §Grades)."""

    A = "A", _("A — company level")
    B = "B", _("B — workshop level")
    C = "C", _("C — track and improve")


RULE_SCOPE_RECURRENCE = "recurrence"


class ThresholdTableQuerySet(models.QuerySet["ThresholdTable"]):
    def current_for(self, plant: Plant | None) -> ThresholdTable | None:
        return self.filter(plant=plant).order_by("-version").first()


class ThresholdTable(models.Model):
    """One version of a plant's grading rules; plant=None is the default template."""

    plant = models.ForeignKey(
        "issues.Plant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="threshold_tables",
        verbose_name=_("plant"),
    )
    version = models.PositiveIntegerField(_("version"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    note = models.CharField(_("change note"), max_length=200, blank=True)

    objects = ThresholdTableQuerySet.as_manager()

    place_path = PlacePath(plant="plant")

    class Meta:
        ordering = ["plant", "-version"]
        verbose_name = _("threshold table")
        verbose_name_plural = _("threshold tables")
        constraints = [
            models.UniqueConstraint(fields=["plant", "version"], name="threshold_table_version_unique"),
            models.UniqueConstraint(
                fields=["version"], condition=models.Q(plant__isnull=True), name="threshold_template_version_unique"
            ),
        ]

    def __str__(self) -> str:
        owner = self.plant.code if self.plant is not None else _("default template")
        return f"{owner} v{self.version}"


class Operator(models.TextChoices):
    GREATER = "gt", _("greater than (n > limit)")
    AT_LEAST = "gte", _("at least (n ≥ limit)")
    BETWEEN = "between", _("between (limit < n ≤ upper limit)")
    IS_TRUE = "true", _("is true")
    EQUALS = "equals", _("equals text")


class ThresholdRule(models.Model):
    """One line of a threshold table: when `fact` meets the test (and the optional
    condition `when_fact` = `when_value` holds), the problem is at least `grade`."""

    table = models.ForeignKey(ThresholdTable, on_delete=models.CASCADE, related_name="rules", verbose_name=_("table"))
    category = models.CharField(
        _("category"),
        max_length=20,
        choices=[*Category.choices, (RULE_SCOPE_RECURRENCE, _("Recurrence (all categories)"))],
    )
    code = models.SlugField(_("code"), max_length=60)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices)
    fact = models.CharField(_("fact"), max_length=40)
    operator = models.CharField(_("test"), max_length=10, choices=Operator.choices)
    limit = models.DecimalField(_("limit"), max_digits=10, decimal_places=2, null=True, blank=True)
    upper_limit = models.DecimalField(_("upper limit"), max_digits=10, decimal_places=2, null=True, blank=True)
    match = models.CharField(_("text to match"), max_length=20, blank=True)
    when_fact = models.CharField(_("only when fact"), max_length=40, blank=True)
    when_value = models.CharField(
        _("has value"), max_length=40, blank=True, help_text=_("Alternatives separated by |, e.g. A|B.")
    )
    label_en = models.CharField(_("what it means (English)"), max_length=200)
    label_zh = models.CharField(_("what it means (Chinese)"), max_length=200, blank=True)

    place_path = PlacePath(plant="table__plant")

    class Meta:
        ordering = ["table", "category", "grade", "code"]
        verbose_name = _("threshold rule")
        verbose_name_plural = _("threshold rules")
        constraints = [models.UniqueConstraint(fields=["table", "code"], name="threshold_rule_code_unique_in_table")]

    def __str__(self) -> str:
        return f"{self.code} → {self.grade}"
