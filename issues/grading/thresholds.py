"""Reading and versioning threshold tables; the bridge between rows and `grading.Table`."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Max

from issues.grading import rules as grading
from issues.grading.defaults import seed_default_template
from issues.models import Plant, ThresholdRule, ThresholdTable

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RULE_FIELDS = (
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
)


def as_grading_table(table: ThresholdTable) -> grading.Table:
    return _grading_table(table.pk, table.version, table.created_at)


# A table version is never changed once written (an edit writes the next version), so its
# rules can be kept per process: intake then reads no rule rows at all (bench/intake.py).
@lru_cache(maxsize=256)
def _grading_table(table_id: int, version: int, created_at: dt.datetime) -> grading.Table:
    # created_at is part of the key because SQLite may hand a rolled-back id out again.
    rows = ThresholdRule.objects.filter(table_id=table_id).values_list(*RULE_FIELDS)
    rules = tuple(grading.Rule(**dict(zip(RULE_FIELDS, row, strict=True))) for row in rows)
    return grading.Table(version=version, rules=rules, id=table_id)


def current_table(plant: Plant) -> ThresholdTable:
    table = ThresholdTable.objects.current_for(plant)
    if table is None:
        table = copy_default_table(plant)
    return table


def next_version(plant: Plant | None) -> int:
    """The next version number of a plant's table (plant None: the default template)."""
    latest = ThresholdTable.objects.filter(plant=plant).aggregate(latest=Max("version"))["latest"]
    return (latest or 0) + 1


@transaction.atomic
def copy_table(
    source: ThresholdTable, plant: Plant | None, *, user: User | None = None, note: str = ""
) -> ThresholdTable:
    table = ThresholdTable.objects.create(plant=plant, version=next_version(plant), created_by=user, note=note)
    ThresholdRule.objects.bulk_create(
        ThresholdRule(table=table, **{name: getattr(row, name) for name in RULE_FIELDS}) for row in source.rules.all()
    )
    return table


def copy_default_table(plant: Plant) -> ThresholdTable:
    """Give a plant its first table, copied from the newest default template. The template
    is rewritten from the defaults if it is missing (a flushed test database), so a plant
    never starts with an empty table that would grade everything C."""
    template = ThresholdTable.objects.filter(plant__isnull=True).order_by("-version").first()
    if template is None:
        template = seed_default_template(ThresholdTable, ThresholdRule)
    return copy_table(template, plant, note=f"copied from default template v{template.version}")
