"""Give every existing plant the default problem-solving rules (docs/problem-solving.md §Problem-solving policy)."""

from django.db import migrations

from issues.eightd.rules import seed_solving_policy


def seed(apps, schema_editor):
    for plant in apps.get_model("issues", "Plant").objects.all():
        seed_solving_policy(plant, apps.get_model("issues", "SolvingPolicy"), apps.get_model("issues", "SectionDeadline"))


class Migration(migrations.Migration):
    dependencies = [("issues", "0006_eightd_reports_and_lifecycle")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
