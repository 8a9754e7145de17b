"""Seed the default threshold template (docs/grading.md §Default threshold table), the rows of
issues/grading/defaults.py."""

from django.db import migrations

from issues.grading.defaults import DEFAULT_RULES, seed_default_template


def seed_template(apps, schema_editor):
    ThresholdTable = apps.get_model("issues", "ThresholdTable")
    ThresholdRule = apps.get_model("issues", "ThresholdRule")
    Plant = apps.get_model("issues", "Plant")
    seed_default_template(ThresholdTable, ThresholdRule)
    for plant in Plant.objects.filter(threshold_tables__isnull=True):
        table = ThresholdTable.objects.create(plant=plant, version=1, note="copied from default template v1")
        ThresholdRule.objects.bulk_create(ThresholdRule(table=table, **row) for row in DEFAULT_RULES)


class Migration(migrations.Migration):
    dependencies = [("issues", "0001_initial")]
    operations = [migrations.RunPython(seed_template, migrations.RunPython.noop)]
