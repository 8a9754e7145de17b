"""User-facing texts that cited a document outside the repository: the help of the rework days,
and the change note of the default threshold template (issue #12). No schema change."""

from django.db import migrations, models

OLD_NOTE = "defaults from DOMAIN.md §3"
NEW_NOTE = "default rules of the QRQC procedure"


def reword_template_note(apps, schema_editor):
    ThresholdTable = apps.get_model("issues", "ThresholdTable")
    ThresholdTable.objects.filter(plant=None, note=OLD_NOTE).update(note=NEW_NOTE)


class Migration(migrations.Migration):

    dependencies = [
        ('issues', '0012_problem_idempotency_fingerprint'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicalsolvingpolicy',
            name='rework_days',
            field=models.PositiveSmallIntegerField(default=3, help_text='Days a returned 8D answer gets, from the return, to be answered again (the procedure allows at most 3); its deadline never moves earlier.', verbose_name='days to rework a returned answer'),
        ),
        migrations.AlterField(
            model_name='solvingpolicy',
            name='rework_days',
            field=models.PositiveSmallIntegerField(default=3, help_text='Days a returned 8D answer gets, from the return, to be answered again (the procedure allows at most 3); its deadline never moves earlier.', verbose_name='days to rework a returned answer'),
        ),
        migrations.RunPython(reword_template_note, migrations.RunPython.noop),
    ]
