"""Give every existing plant the default escalation policies (docs/escalation.md §Policies, tiers and ceilings)."""

from django.db import migrations

from escalation.policy_defaults import seed_policies


def seed(apps, schema_editor):
    Plant = apps.get_model("issues", "Plant")
    for plant in Plant.objects.all():
        seed_policies(
            plant,
            apps.get_model("escalation", "EscalationPolicy"),
            apps.get_model("escalation", "EscalationTier"),
            apps.get_model("escalation", "AlarmRule"),
        )


class Migration(migrations.Migration):
    dependencies = [("escalation", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
